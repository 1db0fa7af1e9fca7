"""The output relay: one small process that drains every process's pseudo-terminal into a pipe.

A PTY holds a few KB. Read by the runner itself, a child printing fast would wait each time the
runner paints a frame. The relay is a separate process (no GIL, no event loop) that reads the
PTYs as fast as the children write, and forwards the bytes to one pipe per process, which
absorbs bursts; the runner reads those pipes in large chunks whenever it likes.

After a round in which every read was short, the relay sleeps for a moment so that output
accumulates: a child printing one line per write would otherwise wake it once per line.

Protocol: the runner sends, over the socket whose fd is the first argument, one message per
stream carrying two file descriptors (SCM_RIGHTS): the PTY master and the write end of the
stream's pipe. A stream ends when its PTY reports EOF/EIO (every holder of the slave side closed
it): the relay forwards what is left and closes the pipe, which the runner sees as EOF. When the
socket closes (the runner is gone), the relay finishes the streams it has and exits.

Runs as a script (``python -S -E relay.py``): standard library only, no package imports.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import socket
import sys
import time

READ_SIZE = 65536
BACKLOG = 1 << 20  # bytes held for a pipe that is full before its PTY is read no more
# A read returns at most ~4 KiB (the line discipline's buffer) even when much more is waiting;
# one this short means the PTY was nearly empty and pausing lets output accumulate.
SHORT_READ = 1024
PAUSE = 0.0002  # seconds to let output accumulate after a round of short reads


class Stream:
    __slots__ = ("eof", "master", "out", "pending")

    def __init__(self, master: int, out: int) -> None:
        self.master = master
        self.out = out
        self.pending = bytearray()
        self.eof = False


def _close(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)


def main() -> None:
    control_fd = int(sys.argv[1])
    control = socket.socket(fileno=control_fd)
    control.setblocking(False)
    streams: dict[int, Stream] = {}  # by PTY master
    accepting = True
    while accepting or streams:
        readable = [s.master for s in streams.values() if not s.eof and len(s.pending) < BACKLOG]
        if accepting:
            readable.append(control_fd)
        writable = [s.out for s in streams.values() if s.pending]
        try:
            r, w, _ = select.select(readable, writable, [])
        except InterruptedError:
            continue
        by_out = {s.out: s for s in streams.values()}
        short = True
        for fd in r:
            if fd == control_fd:
                accepting = _accept(control, streams)
                continue
            stream = streams[fd]
            try:
                data = os.read(fd, READ_SIZE)
            except BlockingIOError:
                continue
            except OSError:  # EIO: every holder of the slave side has closed it
                data = b""
            if not data:
                stream.eof = True
                continue
            stream.pending += data
            if len(data) >= SHORT_READ:
                short = False
        for fd in w:
            stream = by_out[fd]
            try:
                written = os.write(fd, stream.pending)
            except BlockingIOError:
                continue
            except OSError as exc:  # the runner closed its end: nobody wants this output
                if exc.errno not in (errno.EPIPE, errno.EBADF):
                    raise
                stream.pending.clear()
                stream.eof = True
                continue
            del stream.pending[:written]
        for master, stream in list(streams.items()):
            if stream.eof and not stream.pending:
                _close(stream.master)
                _close(stream.out)
                del streams[master]
        if short and not any(s.pending for s in streams.values()):
            time.sleep(PAUSE)


def _accept(control: socket.socket, streams: dict[int, Stream]) -> bool:
    """Take the new streams the runner sent; False once the runner has gone."""
    while True:
        try:
            # One byte per message: each recv gets exactly one message's descriptors.
            message, fds, _, _ = socket.recv_fds(control, 1, 2)
        except BlockingIOError:
            return True
        except OSError:
            return False
        if not message:
            for fd in fds:
                _close(fd)
            return False
        if len(fds) != 2:
            for fd in fds:
                _close(fd)
            continue
        master, out = fds
        os.set_blocking(master, False)
        os.set_blocking(out, False)
        streams[master] = Stream(master, out)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
