"""End to end: a process printing thousands of long emoji lines keeps the keeper's memory
bounded (issue 24, breakage 6): the output buffer counts bytes, not only lines or characters.
Before, 11,000 lines of 16,384 emoji took the keeper to 708 MB."""

import sys

import psutil

from tests.helpers import clean_env, run_cli, wait_for
from tuirunner.launch import start_keeper
from tuirunner.options import RunOptions
from tuirunner.output import DEFAULT_MAX_BYTES

LINES = 4000  # of 16,384 emoji: 262 MB of UTF-8, 4 bytes an emoji in a str as well
FLOOD = (
    "import sys\n"
    "line = ('\\U0001f600' * 16384 + '\\n').encode()\n"
    f"for _ in range({LINES}): sys.stdout.buffer.write(line)\n"
    "sys.stdout.flush()\n"
)


def peak_rss(pid: int) -> int:
    """The process's peak resident memory (VmHWM), bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def test_thousands_of_long_emoji_lines_keep_the_keeper_bounded(tmp_path):
    (tmp_path / "flood.py").write_text(FLOOD)
    (tmp_path / "Procfile").write_text(f"flood: {sys.executable} flood.py\n")
    launched = start_keeper(
        RunOptions(app_root=str(tmp_path), timeout=2.0), foreground=False, environ=clean_env()
    )
    keeper = psutil.Process(launched.wait_ready())
    try:

        def done() -> bool:
            result = run_cli(["ps", "--json"], tmp_path)
            return result.returncode == 0 and '"state":"exited"' in result.stdout.replace(" ", "")

        wait_for(done, 300, interval=0.5)
        peak = peak_rss(keeper.pid)
        # The buffer holds at most DEFAULT_MAX_BYTES (64 MiB); the interpreter, psutil and the
        # rest are well under 100 MB more. Unbounded, the lines alone would take 262 MB.
        assert peak < DEFAULT_MAX_BYTES + (100 << 20), f"peak RSS {peak >> 20} MB"
        logs = run_cli(["logs", "flood", "-n", "3"], tmp_path)
        assert "\U0001f600" in logs.stdout  # the last lines are kept
    finally:
        run_cli(["down"], tmp_path)
        launched.wait(20)
