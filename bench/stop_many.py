"""How long ``tuirunner down`` takes to stop many silent processes (issue 24, breakage 9).

    .venv/bin/python bench/stop_many.py              # 1,000 processes: ten types x 100
    .venv/bin/python bench/stop_many.py --per-type 30 --types 10

Starts a detached run of ``sleep`` processes, waits until all of them run, then times ``down``
(from the command to its exit) and checks that none of them is left. The README promises that
a stop takes at most one ``--timeout`` (5 s by default).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TUIRUNNER = REPO / ".venv" / "bin" / "tuirunner"


def run(args: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(TUIRUNNER), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def marked(token: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if token.encode() in f.read():
                        found.append(int(pid))
            except OSError:
                continue
    return found


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--types", type=int, default=10)
    parser.add_argument("--per-type", type=int, default=100)
    args = parser.parse_args()
    token = f"stopmany{uuid.uuid4().hex[:8]}"
    total = args.types * args.per_type
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        names = [f"p{i}" for i in range(args.types)]
        (root / token).symlink_to("/bin/sleep")  # the token in every command line
        (root / "Procfile").write_text("".join(f"{n}: exec ./{token} 600\n" for n in names))
        concurrency = ",".join(f"{n}={args.per_type}" for n in names)
        t0 = time.monotonic()
        result = run(["start", "-D", "-c", concurrency], root)
        if result.returncode != 0:  # "did not start within 30 s": it may still be starting
            print(result.stderr.strip(), "(waiting for it anyway)", file=sys.stderr)
        deadline = time.monotonic() + 300
        while True:
            ps = json.loads(run(["ps", "--json"], root).stdout or "[]")
            if sum(p["state"] == "running" for p in ps) == total:
                break
            if time.monotonic() > deadline:
                print("not all started", file=sys.stderr)
                run(["down"], root)
                return 2
            time.sleep(0.5)
        started = time.monotonic() - t0
        t0 = time.monotonic()
        down = run(["down"], root)
        took = time.monotonic() - t0
        time.sleep(0.5)
        left = marked(token)
        print(f"{total} processes: started (detached, all running) in {started:.1f} s")
        print(f"down: {took:.2f} s (exit {down.returncode}); left behind: {len(left)}")
        return 0 if not left else 1


if __name__ == "__main__":
    sys.exit(main())
