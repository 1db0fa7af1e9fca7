"""The plain front end: honcho-compatible prefixed output, used when stdout is not a terminal.

``HH:MM:SS web.1  | line``. As in honcho, when any process exits the others are stopped and the
runner exits with that process's status (130, 143 or 129 when the runner itself got SIGINT,
SIGTERM or SIGHUP first) — except a oneshot that completed (exit 0) and a process that is
restarted automatically: those do not end the run. When nothing is left to run (every process
completed), the run ends with status 0. It is a client of the keeper like the others:
:class:`~tuirunner.printer.PlainPrinter` prints its lines, as it does ``tuirunner logs``.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterable

from tuirunner.client import Client
from tuirunner.events import (
    ProcessInfo,
    State,
    StateChanged,
)
from tuirunner.printer import PlainPrinter
from tuirunner.protocol import STOPPED_BY

HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def ends_the_run(proc: ProcessInfo) -> bool:
    """honcho's rule: a process that ends (on its own, or could not start) ends the run; but
    not a oneshot that completed, nor a process about to be restarted automatically."""
    if proc.state not in (State.EXITED, State.FAILED):
        return False
    if proc.next_start_at is not None:
        return False
    return not (proc.oneshot and proc.exit is not None and proc.exit.success)


def all_done(processes: Iterable[ProcessInfo]) -> bool:
    """Nothing runs, and nothing will by itself: every process completed (or was stopped)."""
    return not any(p.active for p in processes)


async def run_plain(client: Client, printer: PlainPrinter) -> int:
    """Print everything; when one process ends (or a signal arrives), stop all; return the
    status to exit with."""
    loop = asyncio.get_running_loop()
    status: list[int] = []
    signals_seen = 0

    def finish(code: int, force: bool = False) -> None:
        if not status:
            status.append(code)
        client.down(force=force)

    def ended(proc: ProcessInfo) -> None:
        if status:
            return
        if proc.crashed:
            hint = client.crash_hint(proc, "see: tuirunner env")  # type: ignore[arg-type]
            if hint:
                printer.system(f"hint: {hint}")
        finish(proc.exit.code if proc.exit is not None else 1)

    def on_event(event: object) -> None:
        printer(event)
        if isinstance(event, StateChanged):
            if ends_the_run(event.process):
                ended(event.process)
            elif event.new is State.EXITED and all_done(client) and not status:
                printer.system("every process completed")
                finish(0)

    def on_signal(sig: signal.Signals) -> None:
        nonlocal signals_seen
        signals_seen += 1
        printer.system(f"{sig.name} received")
        force = signals_seen > 1
        if force:
            printer.system("stopping now")
        finish(128 + sig.value, force=force)

    printer.on_broken_pipe = lambda: finish(128 + signal.SIGPIPE.value)
    for sig in HANDLED_SIGNALS:
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        for proc in client:  # what happened before we connected
            printer.history(proc, list(proc.buffer.lines))
        client.subscribe(on_event)
        await client.start()
        for proc in client:
            if ends_the_run(proc):
                ended(proc)
        if not status and all_done(client):
            printer.system("every process completed")
            finish(0)
        assert client.disconnected is not None
        reason = await client.disconnected
    finally:
        for sig in HANDLED_SIGNALS:
            loop.remove_signal_handler(sig)
    if reason is None:  # the keeper died: the guard stops what it left
        code = await loop.run_in_executor(None, client.wait_keeper, client.timeout + 5)
        printer.system(await loop.run_in_executor(None, client.keeper_death, code))
        return status[0] if status else 1
    by_command = reason == "down" or reason.startswith(STOPPED_BY)
    if reason != "down" and by_command:  # "stopped by tuirunner down (from pid N)"
        printer.system(reason)
    await loop.run_in_executor(None, client.wait_keeper, 5.0)
    if not by_command and not status:  # its guard died, or the keeper got a signal
        printer.system(await loop.run_in_executor(None, client.run_ended))
        return 1
    return status[0] if status else 0
