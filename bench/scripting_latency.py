"""How soon ``tuirunner wait`` and ``tuirunner events`` react to a crash (issue 21: within a
second of it happening).

A detached run of one process that exits 3 once a file named ``crash`` appears (it looks every
10 ms). For each of ``--repeat`` rounds: ``wait crashy --completed`` and ``events`` are started
and connected, the file is created, and the time from then until ``wait`` has exited, and until
``events`` has printed its line, is measured (wall clock, including the child's own reaction
and ``wait``'s interpreter exit). Prints the median and the worst.

    .venv/bin/python bench/scripting_latency.py [--repeat 10]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
TUIRUNNER = str(BIN / "tuirunner")
CHILD = (
    f"exec {sys.executable} -c 'import os, time; "
    '[time.sleep(0.01) for _ in iter(lambda: os.path.exists("crash"), True)]; '
    'os.remove("crash"); raise SystemExit(3)\''
)


def cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([TUIRUNNER, *args], cwd=root, capture_output=True, text=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=10)
    options = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="tuirunner-bench-"))
    (root / "Procfile").write_text(f"crashy: {CHILD}\n")
    if cli(root, "start", "-D", "-p", "47000").returncode:
        print("could not start the run", file=sys.stderr)
        return 2
    waits, events = [], []
    try:
        for _ in range(options.repeat):
            cli(root, "wait", "crashy", "--running", "--timeout", "30")
            wait = subprocess.Popen(
                [TUIRUNNER, "wait", "crashy", "--completed"], cwd=root, stderr=subprocess.PIPE
            )
            stream = subprocess.Popen(
                [TUIRUNNER, "events"], cwd=root, stdout=subprocess.PIPE, text=True
            )
            time.sleep(4)  # both connected (their start-up is not what is measured)
            begin = time.monotonic()
            (root / "crash").write_text("")
            stream.stdout.readline()
            events.append(time.monotonic() - begin)
            wait.wait(30)
            waits.append(time.monotonic() - begin)
            stream.terminate()
            stream.wait(10)
            cli(root, "restart", "crashy")
    finally:
        cli(root, "down")
        shutil.rmtree(root, ignore_errors=True)
    for name, values in (("wait exited", waits), ("events printed", events)):
        print(
            f"{name}: median {statistics.median(values) * 1000:.0f} ms, "
            f"worst {max(values) * 1000:.0f} ms after the crash file ({len(values)} rounds)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
