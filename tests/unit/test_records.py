"""The records of ``logs --json``, ``events``, ``wait`` and the MCP server: how state changes are
named, when a wait is over, and what a line looks like."""

from __future__ import annotations

import json

import pytest

from tuirunner.errors import UserError
from tuirunner.events import ExitStatus, ProcessInfo, State
from tuirunner.output import OutputBuffer
from tuirunner.records import (
    Transitions,
    compile_grep,
    describe,
    grep_lines,
    line_record,
    numbered,
    state_record,
    verdict,
)


def proc(**fields) -> ProcessInfo:
    return ProcessInfo(
        **{"name": "web.1", "type": "web", "number": 1, "command": "x", "port": 5000, **fields}
    )


def test_a_line_record_strips_escapes_keeps_tabs_and_says_time_null():
    record = line_record("web.1", 3, "\x1b[31mred\x1b[0m\tnext\x07 \ufffd")
    assert record == {
        "type": "line",
        "process": "web.1",
        "line": 3,
        "time": None,
        "text": "red\tnext \ufffd",
    }
    assert json.loads(json.dumps(record)) == record
    assert line_record("web.1", 1, "x", 12.5)["time"] == 12.5


def test_lines_are_numbered_across_the_buffer_s_trimming():
    buffer = OutputBuffer(3)
    buffer.feed(b"a\r\nb\r\nc\r\nd\r\ne\r\npartial")
    assert list(numbered(buffer, list(buffer.lines))) == [(3, "c"), (4, "d"), (5, "e")]
    assert list(numbered(buffer, buffer.snapshot(), buffer.total + 1))[-1] == (6, "partial")


def test_grep_searches_the_visible_text():
    pattern = compile_grep("^error", ignore_case=True)
    pairs = [(1, "\x1b[31mERROR\x1b[0m one"), (2, "no error"), (3, "Error two")]
    assert grep_lines(pairs, pattern) == [(1, "\x1b[31mERROR\x1b[0m one"), (3, "Error two")]
    assert grep_lines(pairs, None) == pairs
    with pytest.raises(UserError, match=r"--grep: bad regular expression '\['"):
        compile_grep("[")


HISTORY = [
    # (fields after the change, the new state, the event named)
    ({"start_count": 1, "pid": 10}, State.STARTING, "started"),
    ({"start_count": 1, "pid": 10, "ready": True}, State.RUNNING, "ready"),
    ({"start_count": 1, "pid": None, "exit": ExitStatus(returncode=3)}, State.EXITED, "crashed"),
    ({"start_count": 2, "pid": 11, "exit": None}, State.STARTING, "restarted"),
    ({"start_count": 2, "pid": 11}, State.RESTARTING, "restarting"),
    ({"start_count": 3, "pid": 12}, State.RUNNING, "restarted"),
    ({"start_count": 3, "pid": None, "exit": ExitStatus(signal=15)}, State.STOPPED, "stopped"),
]


def test_transitions_name_a_history():
    p = proc()
    transitions = Transitions([p])
    named = []
    for fields, state, _ in HISTORY:
        for key, value in fields.items():
            setattr(p, key, value)
        p.state = state
        named.append(transitions.name(p, state))
    assert named == [event for *_, event in HISTORY]


def test_a_crash_record_and_its_line():
    p = proc(state=State.EXITED, exit=ExitStatus(returncode=1), start_count=1, last_pid=42)
    record = state_record(p, "crashed", now=5.0)
    assert (record["exit_code"], record["pid"], record["state"], record["time"]) == (
        1,
        42,
        "crashed",  # ps's word
        5.0,
    )
    assert record["status"] == "crashed: exit 1"
    assert describe(record) == "web.1 crashed (exit code 1)"


def test_lines_of_a_stop_and_a_wait_say_no_stale_words():
    # Stopping a ready process, or waiting after being stopped by a signal: not
    # "restarting: ready", not "waiting (SIGTERM): waiting for …".
    ready = proc(state=State.RESTARTING, ready=True, pid=42, start_count=1)
    assert describe(state_record(ready, "restarting")) == "web.1 restarting (pid 42)"
    stopped = proc(
        state=State.PENDING,
        exit=ExitStatus(signal=15),
        start_count=1,
        waiting_for="release.1: completed",
    )
    line = describe(state_record(stopped, "waiting"))
    assert line == "web.1 waiting: waiting for release.1: completed", line


@pytest.mark.parametrize(
    ("fields", "goal", "expected"),
    [
        ({"state": State.RUNNING, "pid": 1}, "ready", (True, "web.1 is ready (pid 1)")),
        ({"state": State.RUNNING, "pid": 1, "ready": False}, "ready", None),
        ({"state": State.STARTING, "pid": 1}, "ready", None),
        ({"state": State.STARTING, "pid": 1}, "running", (True, "web.1 is running (pid 1)")),
        ({"state": State.PENDING, "waiting_for": "db.1: ready"}, "ready", None),
        (
            {"state": State.PENDING, "blocked": "db.1 exited with code 1"},
            "ready",
            (False, "web.1 is blocked: db.1 exited with code 1"),
        ),
        (
            {"state": State.EXITED, "exit": ExitStatus(returncode=2)},
            "ready",
            (False, "web.1 crashed (exit code 2)"),
        ),
        (
            {"state": State.EXITED, "exit": ExitStatus(signal=9)},
            "completed",
            (False, "web.1 crashed (killed by SIGKILL)"),
        ),
        (
            {"state": State.EXITED, "exit": ExitStatus(returncode=0), "oneshot": True},
            "completed",
            (True, "web.1 completed"),
        ),
        (
            {"state": State.EXITED, "exit": ExitStatus(returncode=0), "oneshot": True},
            "ready",
            (True, "web.1 completed"),
        ),
        (
            {"state": State.EXITED, "exit": ExitStatus(returncode=0)},
            "running",
            (False, "web.1 is exited 0, not running"),
        ),
        ({"state": State.RUNNING, "pid": 1}, "completed", None),
        ({"state": State.STOPPED}, "ready", (False, "web.1 is stopped, not ready")),
    ],
)
def test_verdicts(fields, goal, expected):
    assert verdict(proc(**fields), goal) == expected
