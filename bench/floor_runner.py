"""The floor of always_on.py's restart measurement: the least a runner can do.

    python bench/floor_runner.py COMMAND [COMMAND ...]

Starts each COMMAND with ``/bin/sh -c`` in its own session (output thrown away), puts the
terminal in raw mode and reads it a byte at a time: ``r`` sends SIGTERM to the first command's
process group, waits for it and starts it again; ``q`` (or Ctrl+C) stops them all and exits. The
time from ``tmux send-keys r`` to the new child running under this program is what the method
(send-keys, the terminal, fork and exec, the benchmark's polling) costs by itself.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import termios
import tty


def start(command: str) -> subprocess.Popen:
    return subprocess.Popen(
        ["/bin/sh", "-c", command],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    proc.wait()


def main() -> int:
    commands = sys.argv[1:]
    if not commands:
        sys.exit(__doc__.split("\n\n")[1])
    procs = [start(c) for c in commands]
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    print("floor runner: r restarts the first command, q quits", end="\r\n", flush=True)
    try:
        while True:
            key = os.read(fd, 1)
            if key == b"r":
                stop(procs[0])
                procs[0] = start(commands[0])
            elif key in (b"q", b"\x03", b""):
                break
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        for p in procs:
            stop(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
