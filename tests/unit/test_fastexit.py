"""fastexit: out without the interpreter's teardown, but with what a normal exit does."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tuirunner.fastexit import exit_code


@pytest.mark.parametrize(
    ("code", "status"), [(None, 0), (0, 0), (3, 3), (256 + 7, 7), ("a message", 1)]
)
def test_exit_code_is_what_sys_exit_would_give(code, status):
    assert exit_code(code) == status


def _run(body: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", body], capture_output=True, text=True, timeout=60)


def test_exit_now_runs_atexit_joins_threads_and_flushes_buffered_output():
    done = _run(
        "import atexit, threading, time, sys\n"
        "from tuirunner.fastexit import exit_now\n"
        "atexit.register(lambda: print('atexit ran'))\n"
        "t = threading.Thread(target=lambda: (time.sleep(0.2), print('thread done')))\n"
        "t.start()\n"
        "sys.stdout.write('buffered, no newline')\n"
        "exit_now(5)\n"
    )
    assert done.returncode == 5
    assert "buffered, no newline" in done.stdout
    assert "thread done" in done.stdout and "atexit ran" in done.stdout


def test_run_then_exit_keeps_sys_exit_messages_and_codes():
    done = _run(
        "import sys\n"
        "from tuirunner.fastexit import run_then_exit\n"
        "def main():\n"
        "    sys.exit('tuirunner: no Procfile here')\n"
        "run_then_exit(main)\n"
    )
    assert done.returncode == 1
    assert "tuirunner: no Procfile here" in done.stderr


def test_the_command_exits_with_its_status_and_output():
    done = subprocess.run(
        [sys.executable, "-m", "tuirunner", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stdout.startswith("tuirunner ")
    bad = subprocess.run(
        [sys.executable, "-m", "tuirunner", "--no-such-flag"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "--no-such-flag" in bad.stderr
