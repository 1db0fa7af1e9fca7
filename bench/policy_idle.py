"""The idle cost of the keeper's resource sampling and file watching (issue 9).

    .venv/bin/python bench/policy_idle.py [--seconds 60]

Starts a detached run (``tuirunner start -D``) of 5 silent processes in a temporary directory,
four times: with no client (a stat of the env files every second), with a client that shows
resources attached (sampling every 2 s), with a ``watch`` pattern (the recursive watcher and
its 1 s poll of the app root's files), and with both. For each it prints the keeper's CPU time over
``--seconds`` as a percentage of one core (user + system, from /proc), after a few seconds of
settling. The figures include whatever else the keeper does while idle (nothing, normally).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import psutil  # noqa: E402

from tuirunner.client import Client  # noqa: E402

TUIRUNNER = Path(sys.executable).with_name("tuirunner")


def run(root: Path, seconds: float, resources: bool, watch: bool) -> float:
    (root / "Procfile").write_text("p: sleep 100000\n")
    settings = '[processes.p]\nwatch = ["**/*.py"]\n' if watch else ""
    (root / "tuirunner.toml").write_text(settings)
    (root / "app").mkdir(exist_ok=True)
    (root / "app" / "models.py").write_text("x = 1\n")
    (root / ".env").write_text("A=1\n")
    env = {**os.environ, "XDG_RUNTIME_DIR": str(root)}
    os.environ["XDG_RUNTIME_DIR"] = str(root)
    subprocess.run(
        [TUIRUNNER, "start", "-D", "-c", "p=5"], cwd=root, env=env, check=True, capture_output=True
    )
    client = None
    try:
        probe = Client.connect(root, output=False, tail=0)
        keeper = psutil.Process(probe.keeper_pid)
        probe.close()
        if resources:  # a client like the terminal UI: it keeps the keeper sampling
            client = Client.connect(root, output=False, tail=0, resources=True)
        time.sleep(5)  # settle
        before = keeper.cpu_times()
        start = time.monotonic()
        time.sleep(seconds)
        after = keeper.cpu_times()
        elapsed = time.monotonic() - start
        used = (after.user - before.user) + (after.system - before.system)
        return 100 * used / elapsed
    finally:
        if client is not None:
            client.close()
        subprocess.run([TUIRUNNER, "down"], cwd=root, env=env, capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    print(f"keeper CPU, % of one core, over {args.seconds:g} s (5 silent processes)")
    for resources, watch in ((False, False), (True, False), (False, True), (True, True)):
        with tempfile.TemporaryDirectory(prefix="tuirunner-bench-") as tmp:
            pct = run(Path(tmp), args.seconds, resources, watch)
        what = " + ".join([w for w, on in (("resources shown", resources), ("watch", watch)) if on])
        print(f"  {what or 'env files only':<26} {pct:6.3f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
