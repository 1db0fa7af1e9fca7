"""SIGTERM, SIGHUP and SIGINT for the app (Textual installs no handlers of its own): a signal
quits as ``q`` does; a hang-up, or a stop that takes too long, ends the process at once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from typing import TYPE_CHECKING

from textual.app import App

if TYPE_CHECKING:
    from tuirunner.client import Client

HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
WATCHDOG_GRACE = 5.0  # seconds beyond the stop timeout before a signal forces the exit


class SignalHandling(App[int]):
    """The signal handlers of :class:`~tuirunner.tui.app.TuirunnerApp`."""

    client: Client
    quitting: bool
    exit_code: int
    _loop: asyncio.AbstractEventLoop | None = None
    _watchdog_started = False

    if TYPE_CHECKING:  # the other parts of the app

        def action_quit(self) -> None: ...

    def _install_signal_handlers(self) -> None:
        self._previous_handlers: dict[signal.Signals, object] = {}
        for sig in HANDLED_SIGNALS:
            self._previous_handlers[sig] = signal.signal(sig, self._signal_received)

    def _restore_signal_handlers(self) -> None:
        for sig, handler in getattr(self, "_previous_handlers", {}).items():
            with contextlib.suppress(Exception):
                signal.signal(sig, handler)

    def _signal_received(self, signum: int, frame: object) -> None:
        """A plain signal handler, not the event loop's: it must work even when the loop is
        stuck (after a hang-up, Textual can block forever writing to the dead terminal)."""
        sig = signal.Signals(signum)
        if sig is signal.SIGHUP:
            # The terminal is gone and Textual's shutdown would block writing to it. Our end
            # of the lifeline closes with us, and the keeper stops everything (unless we had
            # detached, or only attached: then the run goes on).
            os._exit(128 + sig.value)
        if not self._watchdog_started:
            self._watchdog_started = True
            threading.Thread(
                target=self._watchdog, args=(sig,), daemon=True, name="tuirunner-watchdog"
            ).start()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._on_signal, sig)

    def _watchdog(self, sig: signal.Signals) -> None:
        """If the graceful stop has not ended the app in time, end it the hard way (the
        keeper, losing its owner, then stops what is left)."""
        time.sleep(self.client.timeout + WATCHDOG_GRACE)
        os._exit(128 + sig.value)

    def _on_signal(self, sig: signal.Signals) -> None:
        if not self.quitting:
            self.exit_code = 128 + sig.value
        self.action_quit()
