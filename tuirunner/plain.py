"""The plain front end: honcho-compatible prefixed output, used when stdout is not a terminal.

``HH:MM:SS web.1  | line``. As in honcho, when any process exits the others are stopped and the
runner exits with that process's status (130, 143 or 129 when the runner itself got SIGINT,
SIGTERM or SIGHUP first).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable
from typing import TextIO

from tuirunner.output import sgr_only, strip_controls
from tuirunner.supervisor import (
    Event,
    ManagedProcess,
    Notice,
    ProcessOutput,
    State,
    StateChanged,
    Supervisor,
)

# honcho's colour cycle: cyan, yellow, green, magenta, red, blue, then their intense variants.
COLOURS = ("36", "33", "32", "35", "31", "34", "1;36", "1;33", "1;32", "1;35", "1;31", "1;34")
SYSTEM = "system"
HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def describe_state_change(proc: ManagedProcess, new: State) -> str | None:
    """The system line for a state change, or None if it is not worth a line."""
    if new is State.RUNNING:
        return f"{proc.name} started (pid {proc.pid})"
    if new in (State.EXITED, State.STOPPED) and proc.exit is not None:
        if new is State.STOPPED:
            return f"{proc.name} stopped ({proc.exit.describe()})"
        return f"{proc.name} {proc.exit.describe()}"
    if new is State.FAILED:
        return f"{proc.name} failed: {proc.error}"
    return None


class PlainPrinter:
    def __init__(
        self,
        out: TextIO,
        names: Iterable[str],
        colour: bool = False,
        prefix: bool = True,
        strip_child_colour: bool = True,
        quiet: Iterable[str] = (),
        clock: Callable[[], float] = time.time,
        on_broken_pipe: Callable[[], None] | None = None,
    ):
        names = list(names)
        self.out = out
        self.prefix = prefix
        self.strip = strip_child_colour
        self.quiet = set(quiet)
        self.clock = clock
        self.on_broken_pipe = on_broken_pipe
        self.broken = False
        self.width = max([len(SYSTEM), *map(len, names)])
        self._colours = {}
        for i, name in enumerate(names):
            self._colours[name] = COLOURS[i % len(COLOURS)] if colour else None
        self._colour = colour

    def _prefix(self, name: str, colour: str | None) -> str:
        if not self.prefix:
            return ""
        text = f"{time.strftime('%H:%M:%S', time.localtime(self.clock()))} {name:<{self.width}} | "
        if colour:
            return f"\x1b[{colour}m{text}\x1b[0m"
        return text

    def _write(self, text: str) -> None:
        if self.broken:
            return
        try:
            self.out.write(text)
            self.out.flush()
        except OSError:  # a closed pipe, or a terminal that hung up (EIO)
            self.broken = True
            # Point stdout at /dev/null so the interpreter's final flush does not complain.
            with contextlib.suppress(Exception):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, self.out.fileno())
            if self.on_broken_pipe is not None:
                self.on_broken_pipe()

    def lines(self, name: str, lines: list[str]) -> None:
        if not lines or name in self.quiet:
            return
        prefix = self._prefix(name, self._colours.get(name))
        # Colours at most: no retitling, screen switching or queries the terminal would answer.
        text = "\n".join(map(strip_controls if self.strip else sgr_only, lines))
        if not self.strip and "\x1b" in text and prefix:
            # Do not let a colour the child left open bleed into the next prefix.
            text = text.replace("\n", "\x1b[0m\n")
            text += "\x1b[0m"
        if prefix:
            text = prefix + text.replace("\n", "\n" + prefix)
        self._write(text + "\n")

    def system(self, message: str) -> None:
        prefix = self._prefix(SYSTEM, "1" if self._colour else None)
        self._write(f"{prefix}{message}\n")

    def __call__(self, event: Event) -> None:
        if isinstance(event, ProcessOutput):
            self.lines(event.process.name, event.lines)
        elif isinstance(event, StateChanged):
            message = describe_state_change(event.process, event.new)
            if message:
                self.system(message)
        elif isinstance(event, Notice):
            self.system(event.message)


async def run_plain(supervisor: Supervisor, printer: PlainPrinter) -> int:
    """Start everything; when one process ends (or a signal arrives), stop all; return the
    status to exit with."""
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    status: list[int] = []
    signals_seen = 0

    def finish(code: int) -> None:
        if not status:
            status.append(code)
        supervisor.shutting_down = True  # processes not started yet will not be
        done.set()

    def on_event(event: Event) -> None:
        if isinstance(event, StateChanged) and event.new in (State.EXITED, State.FAILED):
            proc = event.process
            if proc.crashed and not status:
                hint = supervisor.crash_hint(proc, "see: tuirunner env")
                if hint:
                    printer.system(f"hint: {hint}")
            finish(proc.exit.code if proc.exit is not None else 1)

    def on_signal(sig: signal.Signals) -> None:
        nonlocal signals_seen
        signals_seen += 1
        force = signals_seen > 1 or supervisor.shutting_down
        finish(128 + sig.value)
        printer.system(f"{sig.name} received")
        if force:
            printer.system("stopping now")
            supervisor.kill_all_now()

    printer.on_broken_pipe = lambda: finish(128 + signal.SIGPIPE.value)
    unsubscribe = supervisor.subscribe(on_event)
    for sig in HANDLED_SIGNALS:
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        await supervisor.start_all()
        await done.wait()
        await supervisor.stop_all()
    finally:
        for sig in HANDLED_SIGNALS:
            loop.remove_signal_handler(sig)
        unsubscribe()
        supervisor.kill_all_now()
    return status[0] if status else 0


def stdout_supports_colour(stream: TextIO = sys.stdout) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
