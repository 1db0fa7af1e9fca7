"""A run's output and state changes as records for scripts and agents: ``logs --json``,
``events``, ``wait`` and the MCP server all build them here, so that they say the same.

Plain data: a record is a dict ready for ``json.dumps``. Output lines are :func:`line_record`
(the one place that makes them); state changes are :func:`state_record`, named by
:class:`Transitions` (``started``, ``ready``, ``crashed``, ``restarted``, …). Nothing here talks
to a keeper: the front ends feed it what their client receives.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from typing import Any, TextIO

from tuirunner.errors import UserError
from tuirunner.events import (
    Notice,
    OutputEnded,
    ProcessInfo,
    ProcessOutput,
    RunnerLine,
    State,
    StateChanged,
)
from tuirunner.output import strip_controls, visible_controls

# --- output lines -------------------------------------------------------------------------------


def line_record(process: str, line: int, text: str, time: float | None = None) -> dict[str, Any]:
    """One line of a process's output: *line* is its number in that process's output since the
    run started (1 is the first line; a restart continues the count), *time* when it arrived
    (epoch seconds; None when the run does not keep it), and its text without escape sequences
    or control characters (TABs kept). Bytes that were not UTF-8 are U+FFFD: the keeper keeps
    text, not bytes."""
    return {"type": "line", "process": process, "line": line, "time": time,
            "text": strip_controls(text)}  # fmt: skip


def numbered(buffer: Any, lines: list[str], end: int | None = None) -> Iterable[tuple[int, str]]:
    """*lines*, the last complete lines of *buffer* up to line index *end* (default: its
    total), with their line numbers (1-based)."""
    last = buffer.total if end is None else end
    first = last - len(lines) + 1
    return zip(range(first, last + 1), lines, strict=True)


def compile_grep(pattern: str | None, ignore_case: bool = False) -> re.Pattern[str] | None:
    """``--grep``'s pattern (Python's ``re`` syntax, searched in the text without escape
    sequences); UserError naming the mistake for a bad one."""
    if pattern is None:
        return None
    try:
        return re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    except re.error as exc:
        raise UserError(f"--grep: bad regular expression {pattern!r}: {exc}") from None


def grep_lines(
    pairs: Iterable[tuple[int, str]], pattern: re.Pattern[str] | None
) -> list[tuple[int, str]]:
    """The numbered lines whose visible text matches *pattern* (all of them without one)."""
    if pattern is None:
        return list(pairs)
    return [(n, text) for n, text in pairs if pattern.search(strip_controls(text))]


# --- state changes ------------------------------------------------------------------------------


class Transitions:
    """Names a process's state changes as a script thinks of them. A client's process views are
    updated in place, so this remembers each process's start count to tell a restart from a
    first start."""

    def __init__(self, processes: Iterable[ProcessInfo] = ()) -> None:
        self._starts = {p.name: p.start_count for p in processes}

    def name(self, proc: ProcessInfo, new: State) -> str | None:
        """What reaching *new* is (``started``, ``restarted``, ``ready``, ``crashed``,
        ``exited``, ``completed``, ``stopping``, ``restarting``, ``stopped``, ``failed``,
        ``waiting``, ``blocked``), or None if it is not worth a record."""
        before = self._starts.get(proc.name, 0)
        self._starts[proc.name] = proc.start_count
        if new is State.FAILED:
            return "failed"
        if new is State.STARTING or (new is State.RUNNING and proc.start_count > before):
            return "restarted" if before and proc.start_count > before else "started"
        if new is State.RUNNING:
            return "ready" if proc.ready else None
        if new is State.EXITED:
            if proc.crashed:
                return "crashed"
            return "completed" if proc.oneshot else "exited"
        if new is State.PENDING:
            return "blocked" if proc.blocked else "waiting" if proc.waiting_for else None
        return {State.STOPPING: "stopping", State.RESTARTING: "restarting",
                State.STOPPED: "stopped"}.get(new)  # fmt: skip


def state_record(proc: ProcessInfo, event: str, now: float | None = None) -> dict[str, Any]:
    """A state change of *proc* as a record: the *event* (:meth:`Transitions.name`), its state
    now, pid, exit code or signal, restarts, and *now* (when the client learned of it)."""
    exit = proc.exit
    return {
        "type": "state",
        "event": event,
        "process": proc.name,
        "time": time.time() if now is None else now,
        "state": proc.state_word(),
        "status": proc.label()[0],
        "pid": proc.pid or proc.last_pid,
        "exit_code": None if exit is None else exit.returncode,
        "exit_signal": None if exit is None else exit.signal_name or None,
        "restarts": proc.restart_count,
        "detail": proc.detail(),
    }


def describe(record: dict[str, Any]) -> str:
    """A record as one line for a person: ``web.1 crashed (exit code 1)``."""
    kind = record["type"]
    if kind == "env":
        changed = [*record["added"], *record["removed"], *record["changed"]]
        return f"environment changed: {', '.join(changed) or 'nothing'}"
    if kind == "notice":
        return record["message"]
    name, event = record["process"], record["event"]
    pid = f" (pid {record['pid']})" if record["pid"] else ""
    if event in ("started", "restarted", "ready"):
        return f"{name} {event}{pid}"
    if event in ("stopping", "restarting"):  # under way: its last run's words are no news
        return f"{name} {event}{pid}"
    if event in ("waiting", "blocked"):  # what it waits for, not how its last run ended
        return f"{name} {event}: {record['detail']}" if record["detail"] else f"{name} {event}"
    if record["exit_code"] is not None:
        text = f"{name} {event} (exit code {record['exit_code']})"
    elif record["exit_signal"]:
        text = f"{name} {event} ({record['exit_signal']})"
    else:
        text = f"{name} {event}"
    return f"{text}: {record['detail']}" if record["detail"] else text


# --- waiting ------------------------------------------------------------------------------------

GOALS = ("ready", "running", "completed")


def verdict(proc: ProcessInfo, goal: str) -> tuple[bool, str] | None:
    """Where *proc* stands for ``wait --GOAL``: (True, how) once reached, (False, why) once it
    cannot be (it crashed, is blocked, or was stopped), None while it may still be. A oneshot
    that completed has reached every goal."""
    label = proc.label()[0]
    if proc.crashed:
        exit = proc.exit
        how = (
            f"failed to start: {proc.error}" if exit is None
            else f"exit code {exit.returncode}" if exit.signal is None
            else f"killed by {exit.signal_name}"
        )  # fmt: skip
        return False, f"{proc.name} crashed ({how})"
    if proc.blocked and proc.state is State.PENDING:
        return False, f"{proc.name} is blocked: {proc.blocked}"
    completed = proc.state is State.EXITED and proc.exit is not None and proc.exit.success
    if completed and (goal == "completed" or proc.oneshot):
        # A oneshot that completed did all it does: ready and running mean that too.
        return True, f"{proc.name} completed"
    if goal == "running" and proc.state in (State.STARTING, State.RUNNING):
        return True, f"{proc.name} is running (pid {proc.pid})"
    if goal == "ready" and proc.state is State.RUNNING and proc.ready is not False:
        return True, f"{proc.name} is ready (pid {proc.pid})"
    if not proc.active and proc.state in (State.STOPPED, State.EXITED):
        return False, f"{proc.name} is {label}, not {goal}"
    return None


# --- printing records ---------------------------------------------------------------------------


class JsonPrinter:
    """``logs --json``: client events as JSON lines, one object per line of output or state
    change, for the processes in *wanted* (None: all), lines filtered by *grep*."""

    def __init__(
        self,
        out: TextIO,
        processes: Iterable[ProcessInfo],
        grep: re.Pattern[str] | None = None,
        wanted: set[str] | None = None,
    ) -> None:
        self.out = out
        self.grep = grep
        self.wanted = wanted
        self.transitions = Transitions(processes)

    def emit(self, record: dict[str, Any]) -> None:
        self.out.write(json.dumps(record) + "\n")
        self.out.flush()

    def lines(self, name: str, pairs: Iterable[tuple[int, str]], buffer: Any = None) -> None:
        """Lines numbered as :func:`numbered` does; with their times when *buffer* keeps them."""
        for number, text in grep_lines(pairs, self.grep):
            when = None if buffer is None else buffer.time(number - 1)
            self.emit(line_record(name, number, text, when))

    def __call__(self, event: object) -> None:
        proc = getattr(event, "process", None)
        if proc is None or (self.wanted is not None and proc.name not in self.wanted):
            return
        buffer = proc.buffer
        if isinstance(event, ProcessOutput):
            self.lines(proc.name, numbered(buffer, event.lines), buffer)
        elif isinstance(event, RunnerLine):
            self.lines(proc.name, numbered(buffer, [event.text]), buffer)
        elif isinstance(event, OutputEnded) and event.last is not None:
            self.lines(proc.name, numbered(buffer, [event.last]), buffer)
        elif isinstance(event, StateChanged):
            name = self.transitions.name(proc, event.new)
            if name is not None:
                self.emit(state_record(proc, name))
        elif isinstance(event, Notice):
            self.emit(notice_record(proc, event.message))


def notice_record(proc: ProcessInfo | None, message: str) -> dict[str, Any]:
    return {"type": "notice", "process": None if proc is None else proc.name,
            "time": time.time(), "message": visible_controls(message)}  # fmt: skip
