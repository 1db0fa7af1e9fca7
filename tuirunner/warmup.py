"""The keeper's part of :mod:`tuirunner.bytecode`: the warm-up that writes the ``-OO`` bytecode
for the next run, where it is missing and Python may write it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

from tuirunner.bytecode import WARM_UP, WARM_UP_DELAY, warm_up_needed
from tuirunner.spawn import Reaper, spawn_plain

# `-m tuirunner.bytecode` finds this very package from there (as the keeper's own start does).
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class WarmUp:
    """The keeper's warm-up: started :data:`WARM_UP_DELAY` s after the run is up if it is
    needed, killed if it still runs when the keeper ends."""

    def __init__(self) -> None:
        self.timer: asyncio.TimerHandle | None = None
        self.pid: int | None = None

    def schedule(self, loop: asyncio.AbstractEventLoop, reaper: Reaper) -> None:
        self.timer = loop.call_later(WARM_UP_DELAY, self._start, reaper)

    def _start(self, reaper: Reaper) -> None:
        self.timer = None
        if not warm_up_needed():
            return
        try:
            self.pid = spawn_plain(WARM_UP, os.environ, PACKAGE_PARENT)
        except OSError:
            return  # then the next run starts as this one did
        reaper.wait(self.pid).add_done_callback(self._ended)

    def _ended(self, _exited: object) -> None:
        self.pid = None

    def stop(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if self.pid is not None:
            with contextlib.suppress(OSError):
                os.killpg(self.pid, signal.SIGKILL)
