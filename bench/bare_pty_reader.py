"""The reference for bench/throughput.py: the fastest possible reader of a child's terminal.

    python bench/bare_pty_reader.py [--columns 200 --rows 50] [--keep] [--no-onlcr] -- COMMAND ...

Opens a pseudo-terminal (set to the given size), runs COMMAND on it (stdin, stdout and stderr, in
a new session, as tuirunner does), reads the master side in 64 KiB chunks with blocking reads and
throws the bytes away, until the child has closed its side (EIO). Prints the number of bytes read.
Whatever slows the child down under tuirunner beyond this is tuirunner's doing.

With ``--keep`` it also feeds every read into tuirunner's OutputBuffer (the scrollback): the least
a runner that keeps the lines must do, with no event loop, no socket and no screen. The
throughput benchmark's ``--floor`` uses it.

The terminal keeps its default modes (ONLCR on: the kernel writes ``\\r\\n`` for each ``\\n``),
which tuirunner turns off for its children (spawn.print_as_to_a_pipe); ``--no-onlcr`` turns it
off here too, for the comparison in the same terminal mode.
"""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios


def main() -> int:
    argv = sys.argv[1:]
    columns, rows = 200, 50
    keep = False
    onlcr = True
    while argv and argv[0] != "--":
        opt = argv.pop(0)
        if opt == "--columns":
            columns = int(argv.pop(0))
        elif opt == "--rows":
            rows = int(argv.pop(0))
        elif opt == "--keep":
            keep = True
        elif opt == "--no-onlcr":
            onlcr = False
        else:
            sys.exit(f"unknown option {opt}")
    if not argv or argv[0] != "--" or len(argv) < 2:
        sys.exit(
            "usage: bare_pty_reader.py [--columns N --rows N] [--keep] [--no-onlcr] -- COMMAND ..."
        )
    command = argv[1:]

    master, slave = pty.openpty()
    if not onlcr:
        attrs = termios.tcgetattr(slave)
        attrs[1] &= ~termios.ONLCR
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    child = subprocess.Popen(
        command, stdin=slave, stdout=slave, stderr=slave, start_new_session=True, close_fds=True
    )
    os.close(slave)
    total = 0
    read = os.read
    feed = None
    if keep:
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        from tuirunner.output import OutputBuffer

        feed = OutputBuffer().feed
    while True:
        try:
            data = read(master, 65536)
        except OSError:  # EIO: the child side is closed
            break
        if not data:
            break
        total += len(data)
        if feed is not None:
            feed(data)
    os.close(master)
    code = child.wait()
    print(f"bytes={total} exit={code}")
    return code


if __name__ == "__main__":
    sys.exit(main())
