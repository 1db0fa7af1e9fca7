"""A foreground run whose keeper dies: the front end, still alive, finishes the job and says
what happened, truthfully (issue 24, breakage 4).

- ``kill -9`` of the keeper and its guard together: the processes that escaped the process
  group (``setsid``, ``env -i``, a double fork, one that ignores SIGTERM) re-parent to the front
  end (a subreaper in the foreground), which stops them and says so — not "its processes were
  stopped" as if someone else had.
- ``kill -9`` of the guard alone: the keeper stops the run; the front end (plain or TUI) says
  why and exits 1, not 0 in silence.
"""

import os
import pty
import select
import shlex
import signal
import sys
import threading
import time

import psutil
import pytest

from tests.helpers import (
    TUIRUNNER,
    Runner,
    assert_no_leftovers,
    clean_env,
    processes_with,
    wait_for,
    write_files,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a subreaper")

IGNORE_TERM = (
    "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
)


def escapees(root, mark: str) -> str:
    """A Procfile whose processes leave their process group in four ways; every escapee has
    *mark* in its command line (a link to sleep, or an argument)."""
    (root / mark).symlink_to("/bin/sleep")
    py = shlex.quote(sys.executable)
    return (
        f"setsid: setsid ./{mark} 600 & sleep 600\n"
        f"envi: env -i setsid ./{mark} 601 & sleep 600\n"
        f"double: sh -c 'setsid ./{mark} 602 &' & sleep 600\n"
        f"stubborn: setsid {py} -c {shlex.quote(IGNORE_TERM)} {mark} & sleep 600\n"
    )


def run_tree(front: int, timeout: float = 30.0) -> tuple[int, int]:
    """(guard pid, keeper pid) of the front end *front*, once the keeper runs."""

    def find():
        for guard in psutil.Process(front).children():
            if "guard.py" in " ".join(guard.cmdline()):
                keepers = guard.children()
                if keepers:
                    return guard.pid, keepers[0].pid
        return None

    return wait_for(find, timeout)  # type: ignore[return-value]


def test_kill_9_of_keeper_and_guard_the_front_end_stops_the_escapees(tmp_path, mark):
    write_files(tmp_path, {"Procfile": escapees(tmp_path, mark)})
    with Runner(["start", "--no-tui", "-t", "2"], tmp_path) as run:
        guard, keeper = run_tree(run.proc.pid)
        wait_for(lambda: len(processes_with(mark)) >= 4, 30)  # all four escaped and run
        run.wait_for_output("stubborn.1 started")  # the front end is connected
        os.kill(guard, signal.SIGKILL)
        os.kill(keeper, signal.SIGKILL)
        assert run.wait(60) == 1
    out = run.output
    assert_no_leftovers(mark)
    assert f"the keeper (pid {keeper}) and its guard (pid {guard}) died" in out, out
    assert "tuirunner stopped the " in out and "process(es) it left behind" in out, out
    assert "its processes were stopped" not in out, out


def test_a_keeper_dying_while_the_front_end_connects_is_finished_too(tmp_path, mark):
    write_files(tmp_path, {"Procfile": escapees(tmp_path, mark)})
    with Runner(["start", "--no-tui", "-t", "2"], tmp_path) as run:
        guard, keeper = run_tree(run.proc.pid)
        os.kill(guard, signal.SIGKILL)  # as soon as it is there: whatever the front end does
        os.kill(keeper, signal.SIGKILL)
        assert run.wait(60) == 1
    out = run.output
    assert_no_leftovers(mark)
    assert "error: the keeper failed to start" in out or f"and its guard (pid {guard}) died" in out
    assert "its processes were stopped" not in out, out


def test_kill_9_of_the_guard_alone_is_said_in_plain_mode(tmp_path, mark):
    write_files(tmp_path, {"Procfile": escapees(tmp_path, mark)})
    with Runner(["start", "--no-tui"], tmp_path) as run:
        guard, _ = run_tree(run.proc.pid)
        wait_for(lambda: len(processes_with(mark)) >= 4, 30)
        run.wait_for_output("stubborn.1 started")
        os.kill(guard, signal.SIGKILL)
        assert run.wait(60) == 1
    assert_no_leftovers(mark)
    assert f"the keeper's guard (pid {guard}) died" in run.output, run.output


def test_kill_9_of_the_guard_alone_is_said_by_the_tui(tmp_path, mark):
    write_files(tmp_path, {"Procfile": f"web: ./{mark} 600\n"})
    (tmp_path / mark).symlink_to("/bin/sleep")
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.chdir(tmp_path)
        env = clean_env(COLUMNS="120", LINES="40")
        os.execvpe(TUIRUNNER, [TUIRUNNER, "start", "--tui"], env)
    output = bytearray()

    def read() -> None:
        while True:
            if not select.select([fd], [], [], 0.1)[0]:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            output.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    status = None
    try:
        guard, _ = run_tree(pid)
        wait_for(lambda: processes_with(mark), 30)
        # The UI has connected once it shows the process (a guard killed before that is a
        # keeper that never answered: another message, another test).
        wait_for(lambda: b"web.1" in output, 60, message="the UI's first frame")
        os.kill(guard, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while (done := os.waitpid(pid, os.WNOHANG))[0] == 0:
            assert time.monotonic() < deadline, "the TUI did not exit"
            time.sleep(0.05)
        status = os.waitstatus_to_exitcode(done[1])
    finally:
        if status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    reader.join(5)
    os.close(fd)
    text = output.decode(errors="replace")
    assert status == 1
    assert f"the keeper's guard (pid {guard}) died; its processes were stopped" in text
    assert_no_leftovers(mark)
