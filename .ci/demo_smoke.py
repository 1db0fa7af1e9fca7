"""Run the README's demo command exactly as written, in a fresh clone, in a real terminal.

It must install into a new virtualenv, start the demo under tuirunner, answer HTTP 200, and
quit with `q` leaving no process behind. PORT in the terminal's environment picks a free base
port without changing the command.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers import free_port_block, port_is_free, wait_for  # noqa: E402
from tests.tmux import Tmux  # noqa: E402

READY = "Quit the server with CONTROL-C."


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def main() -> int:
    command = subprocess.check_output(
        [sys.executable, str(ROOT / ".ci" / "readme_command.py"), "demo"], text=True
    ).strip()
    print(f"+ {command}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "tuirunner"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        base = free_port_block()
        url = f"http://127.0.0.1:{base}/"
        with Tmux(command, clone, width=200, height=50, env={"PORT": str(base)}) as term:
            try:
                term.wait_for(READY, timeout=900)  # includes the pip install
                wait_for(lambda: answers(url), 60, message=f"HTTP 200 from {url}")
                print(f"demo answers on {url}", flush=True)
                term.send("q")
                status = term.exit_status(timeout=60)
            except AssertionError:
                print(term.screen(), file=sys.stderr)
                raise
        if status != 0:
            print(f"tuirunner exited with {status}", file=sys.stderr)
            return 1
        wait_for(lambda: port_is_free(base), 20, message="the demo's port to be free")
    print("README demo command: OK", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
