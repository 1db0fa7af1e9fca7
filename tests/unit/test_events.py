"""One vocabulary for states (issue 22): ``ps --json``'s ``state`` is the first word of what
``ps`` shows, for every state a process can be in."""

import pytest

from tuirunner.events import ExitStatus, ProcessInfo, State

WORDS = {
    "waiting",
    "blocked",
    "starting",
    "running",
    "stopping",
    "restarting",
    "stopped",
    "completed",
    "exited",
    "crashed",
    "failed",
}


def info(**fields) -> ProcessInfo:
    return ProcessInfo(name="web.1", type="web", number=1, command="x", port=5000, **fields)


@pytest.mark.parametrize(
    ("fields", "word"),
    [
        ({}, "waiting"),
        ({"blocked": "release.1 exited with code 1"}, "blocked"),
        ({"state": State.STARTING}, "starting"),
        ({"state": State.RUNNING}, "running"),
        ({"state": State.STOPPING}, "stopping"),
        ({"state": State.RESTARTING}, "restarting"),
        ({"state": State.STOPPED, "exit": ExitStatus(signal=15)}, "stopped"),
        ({"state": State.EXITED, "exit": ExitStatus(returncode=0), "oneshot": True}, "completed"),
        ({"state": State.EXITED, "exit": ExitStatus(returncode=0)}, "exited"),
        ({"state": State.EXITED, "exit": ExitStatus(returncode=3)}, "crashed"),
        ({"state": State.EXITED, "exit": ExitStatus(signal=9)}, "crashed"),
        ({"state": State.FAILED, "error": "cannot start"}, "failed"),
    ],
)
def test_the_state_word_is_the_first_word_of_the_label(fields, word):
    proc = info(**fields)
    assert proc.state_word() == word
    assert proc.label()[0].startswith(word)
    assert word in WORDS
