"""The guard's sweep (tuirunner/guard.py), with real processes: a process whose group had its
SIGTERM through its leader gets no second one when it re-parents to the guard."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tuirunner import guard

RECORDER = textwrap.dedent(
    """\
    import signal, sys, time
    def note(what):
        with open("events", "a") as f:
            f.write(what + "\\n")
    def bye(*a):
        note("term"); time.sleep(1); note("exit"); sys.exit(0)
    signal.signal(signal.SIGTERM, bye)
    note("up")
    while True:
        time.sleep(1)
    """
)

# In a subreaper (a guard), with a shell leading a group that holds the recorder: the shell exits
# at its SIGTERM, the recorder takes a second to, and re-parents to the sweeper meanwhile.
SWEEPER = textwrap.dedent(
    """\
    import subprocess, sys, time
    from pathlib import Path
    from tuirunner import guard
    assert guard.prctl(guard.PR_SET_CHILD_SUBREAPER, 1)
    shell = "trap 'exit 0' TERM; {python} recorder.py & wait"
    subprocess.Popen(["sh", "-c", shell], start_new_session=True)
    deadline = time.monotonic() + 30
    while "up" not in (Path("events").read_text() if Path("events").exists() else ""):
        assert time.monotonic() < deadline, "the recorder did not start"
        time.sleep(0.02)
    guard.sweep(10)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a child subreaper (Linux)")
def test_a_group_stopped_through_its_leader_gets_one_sigterm(tmp_path: Path):
    (tmp_path / "recorder.py").write_text(RECORDER)
    script = SWEEPER.replace("{python}", sys.executable)
    root = str(Path(guard.__file__).resolve().parents[1])
    done = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {root!r})\n{script}"],
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 0
    assert (tmp_path / "events").read_text().splitlines() == ["up", "term", "exit"]
