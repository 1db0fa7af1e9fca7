"""Lines as honcho prints them: ``HH:MM:SS web.1  | line``, each process in its colour, the
runner's own lines as ``system``. Used by plain mode (:mod:`tuirunner.plain`) and by
``tuirunner logs`` (:mod:`tuirunner.control`)."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import TextIO

from tuirunner.events import (
    ExitStatus,
    Notice,
    OutputEnded,
    ProcessInfo,
    ProcessOutput,
    State,
    StateChanged,
)
from tuirunner.output import sgr_only, strip_controls, visible_controls

# honcho's colour cycle: cyan, yellow, green, magenta, red, blue, then their intense variants.
COLOURS = ("36", "33", "32", "35", "31", "34", "1;36", "1;33", "1;32", "1;35", "1;31", "1;34")
SYSTEM = "system"


def _rc(exit: ExitStatus) -> str:
    """honcho's words for an exit: ``(rc=0)``; a signal in tuirunner's, which say more than
    honcho's ``rc=-15``: ``(killed by SIGTERM)``."""
    return f"(rc={exit.returncode})" if exit.signal is None else f"({exit.describe()})"


def describe_last_start(proc: ProcessInfo) -> str | None:
    """The system line for a process's last start, said afterwards (it started before a client
    connected), or None if it never started: :func:`describe_state`'s words."""
    if not proc.start_count:
        return None
    pid = proc.pid or proc.last_pid
    return f"{proc.name} started" + (f" (pid={pid})" if pid else "")


def describe_state(proc: ProcessInfo, state: State) -> str | None:
    """The system line for a process that reached *state*, or None if it is not worth one.
    Where a line means what honcho's does, it has honcho's words (scripts grep them):
    ``web.1 started (pid=4242)``, ``web.1 stopped (rc=1)``; tuirunner's own where it says more
    (``killed by SIGTERM``, ``; completed``, ``; crashed — next try in 1 s``)."""
    if state is State.STARTING or (state is State.RUNNING and proc.ready is None):
        because = f": {proc.started_because}" if proc.started_because else ""
        return f"{proc.name} started (pid={proc.pid}){because}"
    if state is State.RUNNING:
        return f"{proc.name} is ready" if proc.ready else f"{proc.name} {proc.detail()}"
    if state is State.PENDING:
        return f"{proc.name} {proc.detail()}" if proc.detail() else None
    if state in (State.EXITED, State.STOPPED) and proc.exit is not None:
        if state is State.STOPPED:
            if proc.forced:  # after its own stop timeout, or at once (a second Ctrl+C)
                after = proc.forced_after
                after = "" if after is None else f" after the {after:g} s timeout"
                return f"{proc.name} stopped (killed by SIGKILL{after})"
            return f"{proc.name} stopped {_rc(proc.exit)}"
        if proc.oneshot and proc.exit.success:
            return f"{proc.name} stopped (rc=0); completed"
        line = f"{proc.name} stopped {_rc(proc.exit)}"
        return f"{line}; {proc.detail()}" if proc.next_start_at is not None else line
    if state is State.FAILED:
        line = f"{proc.name} failed: {proc.error}"
        return f"{line}; {proc.detail()}" if proc.next_start_at is not None else line
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
        time_format: str | Callable[[float], str] | None = "%H:%M:%S",
    ):
        names = list(names)
        self.out = out
        self.prefix = prefix
        self.strip = strip_child_colour
        self.quiet = set(quiet)
        self.clock = clock
        self.on_broken_pipe = on_broken_pipe
        self.time_format = time_format
        self.broken = False
        self.width = max([len(SYSTEM), *map(len, names)])
        self._colours = {}
        for i, name in enumerate(names):
            self._colours[name] = COLOURS[i % len(COLOURS)] if colour else None
        self._colour = colour

    def _prefix(self, name: str, colour: str | None, at: float | None = None) -> str:
        if not self.prefix:
            return ""
        text = f"{name:<{self.width}} | "
        if self.time_format:
            when = self.clock() if at is None else at
            if callable(self.time_format):
                stamp = self.time_format(when)
            else:
                stamp = time.strftime(self.time_format, time.localtime(when))
            text = stamp + " " + text
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

    def lines(self, name: str, lines: list[str], at: float | None = None) -> None:
        """*lines* of process *name* (that came *at*, epoch seconds: now if None)."""
        if not lines or name in self.quiet:
            return
        prefix = self._prefix(name, self._colours.get(name), at)
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
        # The runner's own lines quote names, commands and errors (paths): spelled out.
        self._write(f"{prefix}{visible_controls(message)}\n")

    def state(self, proc: ProcessInfo, state: State) -> None:
        message = describe_state(proc, state)
        if message:
            self.system(message)

    def history(self, proc: ProcessInfo, lines: list[str]) -> None:
        """What a process did before we were watching: its start, output and end."""
        started = describe_last_start(proc)
        if started:
            self.system(started)
        self.lines(proc.name, lines)
        if not proc.state.alive:
            self.state(proc, proc.state)

    def __call__(self, event: object) -> None:
        if isinstance(event, ProcessOutput):
            self.lines(event.process.name, event.lines)
        elif isinstance(event, OutputEnded):
            if event.last is not None:
                self.lines(event.process.name, [event.last])
        elif isinstance(event, StateChanged):
            self.state(event.process, event.new)
        elif isinstance(event, Notice):
            self.system(event.message)


def stdout_supports_colour(stream: TextIO = sys.stdout) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
