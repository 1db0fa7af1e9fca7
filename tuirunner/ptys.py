"""The children's terminals, as the keeper holds them: reading their output, typing into them,
resizing them.

:class:`Ptys` belongs to the keeper's loop; :meth:`Ptys.open` takes a spawned child's PTY master
and returns its :class:`Terminal`, which reads the master with ``loop.add_reader`` and hands what
it read, in batches, to a *sink* (the supervisor's buffer, log file and events). Nothing here
blocks the loop: writes to a child go through a thread, and the pause that lets a terminal fill
up between small reads is a timer, not a nap.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import select
import sys
import time
import weakref
from collections.abc import Callable

from tuirunner.spawn import set_window_size

READ_SIZE = 65536
MAX_READS = 16  # reads per wake-up, so that one flooding process cannot starve the others
# A PTY read returns at most ~4 KiB (the line discipline's buffer), and a process printing line
# by line is read a line or two at a time: a wake-up each, most of the CPU such a flood costs.
# While output flows (this wake-up came less than FLOWING after the last one ended), a wake-up
# that brought less than SMALL_READ stops reading the terminal for READ_PAUSE, so that the next
# one finds a fuller buffer. The pause is a timer on the loop (the loop is free meanwhile); the
# kernel buffers up to 64 KiB behind the line discipline's 4 KiB, so a writer is not blocked by
# it. The loop's own timers cannot wait less than a millisecond (epoll_wait's unit), long
# enough for a line-by-line writer to fill the terminal and block: on Linux the pause is a
# timerfd the loop watches, which wakes it after READ_PAUSE (see PauseTimer). FLOWING is short
# so that a writer of big blocks, whose output arrives in bursts with a small read at the end
# of each, is not made to wait.
SMALL_READ = 512
SHORT_READ = 1024  # a read this short emptied the terminal
READ_PAUSE = 0.0003
FLOWING = 0.0002
# Small harvests while output flows go to the sink in batches, every FEED_BATCH, which saves a
# line-by-line flood most of the per-wake-up work; a big harvest, or one after a quiet spell, is
# handed over at once (with what waits before it).
FEED_BATCH = 0.002
# A pause that ends with a harvest shorter than BEAT_MAX (a line-by-line flood brings ~2 KiB in
# READ_PAUSE) pauses again: while such a flood lasts, the terminal is read on the timer's beat,
# one wake-up per READ_PAUSE and no change to what the selector watches, and what it reads goes
# to the sink in FEED_BATCH batches. A bigger harvest (block writes, faster than the beat) or
# none goes back to the selector.
BEAT_MAX = 8192

Sink = Callable[[bytes], None]


def _write_all(fd: int, data: bytes, patience: float = 30.0) -> None:
    """Write all of *data* to *fd* (non-blocking), waiting up to *patience* seconds for a child
    that reads slowly; then close *fd*, a duplicate the caller gave us."""
    deadline = time.monotonic() + patience
    try:
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return
                select.select([], [fd], [], 0.5)
    finally:
        os.close(fd)


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


CLOCK_MONOTONIC = 1
TFD_NONBLOCK = os.O_NONBLOCK
TFD_CLOEXEC = 0o2000000


class PauseTimer:
    """Wakes the loop after a delay shorter than a millisecond, without blocking it: a Linux
    timerfd, watched with ``add_reader`` for as long as the loop runs. When it fires, every
    terminal that paused since it was armed resumes. Elsewhere, or if the timerfd cannot be
    made, the loop's own timers."""

    def __init__(self, loop: asyncio.AbstractEventLoop, delay: float):
        self.loop = loop
        self.delay = delay
        self.fd: int | None = None
        self._settime = None
        self._spec = _Itimerspec(it_value=_Timespec(int(delay), int(delay % 1 * 1e9) or 1))
        self._ref = ctypes.byref(self._spec)
        self._paused: list[Terminal] = []
        self._handle: asyncio.TimerHandle | None = None
        if sys.platform.startswith("linux"):
            with contextlib.suppress(OSError, AttributeError):
                libc = ctypes.CDLL(None, use_errno=True)
                fd = libc.timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)
                if fd >= 0:
                    self.fd, self._settime = fd, libc.timerfd_settime
                    weakref.finalize(self, os.close, fd)
                    loop.add_reader(fd, self._fire)

    def pause(self, terminal: Terminal) -> None:
        """Resume *terminal* after the delay (or sooner, with others)."""
        self._paused.append(terminal)
        if len(self._paused) > 1:
            return  # armed already
        armed = self._settime is not None and self._settime(self.fd, 0, self._ref, None) == 0
        if armed:
            return
        self._handle = self.loop.call_later(self.delay, self._fire)

    def cancel(self, terminal: Terminal) -> None:
        with contextlib.suppress(ValueError):
            self._paused.remove(terminal)

    def _fire(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.read(self.fd, 8)
        self._handle = None
        paused, self._paused = self._paused, []
        for terminal in paused:
            terminal._resume()


class Terminal:
    """The master side of one child's PTY: output to *sink*, input, window size."""

    def __init__(self, loop: asyncio.AbstractEventLoop, fd: int, sink: Sink, timer: PauseTimer):
        self.loop = loop
        self.fd: int | None = fd
        self.sink = sink
        self.timer = timer
        self.eof = asyncio.Event()
        self._reading = False
        self._paused = False
        self._last_read = 0.0  # monotonic time the last wake-up that read the terminal ended
        self._unfed: list[bytes] = []  # read while output flows, for the next batch
        self._feed_timer: asyncio.TimerHandle | None = None
        self._input: list[bytes] = []
        self._input_task: asyncio.Task | None = None
        self._listen()

    @property
    def open(self) -> bool:
        return self.fd is not None

    # --- output --------------------------------------------------------------------------------

    def _listen(self) -> None:
        if self.fd is not None and not self._reading and not self.eof.is_set():
            self.loop.add_reader(self.fd, self._on_readable)
            self._reading = True

    def _unlisten(self) -> None:
        if self.fd is not None and self._reading:
            self.loop.remove_reader(self.fd)
        self._reading = False

    def _resume(self) -> None:
        """The pause is over: read at once (see BEAT_MAX)."""
        self._paused = False
        self._last_read = time.monotonic()  # the pause is part of the flow
        self._on_readable(beat=True)

    def _on_readable(self, beat: bool = False) -> None:
        """A wake-up reads until the terminal is empty (at most MAX_READS times); after a small
        harvest while output flows, it pauses for READ_PAUSE (see SMALL_READ). *beat*: the
        wake-up is the end of a pause, not the selector's."""
        fd = self.fd
        if fd is None:
            return
        chunks = []
        size = 0
        eof = False
        for _ in range(MAX_READS):
            try:
                data = os.read(fd, READ_SIZE)
            except BlockingIOError:
                break
            except OSError:  # EIO: every holder of the terminal's slave side has closed it
                data = b""
            if not data:
                eof = True
                break
            chunks.append(data)
            size += len(data)
            if len(data) < SHORT_READ:
                break  # the terminal is most likely empty: no need to hear it say so
        flowing = time.monotonic() - self._last_read < FLOWING
        if chunks:
            self._unfed += chunks
            on_beat = beat and size < BEAT_MAX  # a line-by-line flood: batched too
            if not flowing or eof or (size >= SMALL_READ and not on_beat):
                self.settle()
            elif self._feed_timer is None:
                self._feed_timer = self.loop.call_later(FEED_BATCH, self.settle)
        if eof:
            self._unlisten()
            self.eof.set()
            return
        if chunks and ((flowing and size < SMALL_READ) or (beat and size < BEAT_MAX)):
            self._unlisten()
            self._paused = True
            self.timer.pause(self)  # _resume() sets _last_read
        else:
            self._last_read = time.monotonic()  # after the feeding, as the pause's end
            self._listen()

    def settle(self) -> None:
        """Hand what was read since the last batch to the sink."""
        if self._feed_timer is not None:
            self._feed_timer.cancel()
            self._feed_timer = None
        if not self._unfed:
            return
        chunks, self._unfed = self._unfed, []
        self.sink(chunks[0] if len(chunks) == 1 else b"".join(chunks))

    async def finish(self, patience: float) -> None:
        """The child's process group is gone: read the rest of its output (waiting up to
        *patience* seconds for its end, in case something outside the group still holds the
        terminal), hand it over, and close the terminal."""
        for _ in range(2):  # its last output, then the terminal's end, are there to read now
            self._unpause()  # do not wait for the timer
            if self.eof.is_set() or self.fd is None:
                break
            self._on_readable()  # (waiting for the loop to say so took a restart 0.5-5 ms)
        self._unpause()
        if not self.eof.is_set():
            self._listen()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.eof.wait(), patience)
        if not self.eof.is_set() and self.fd is not None:
            self._on_readable()  # whatever is left
        self.settle()
        self.close()

    def _unpause(self) -> None:
        if self._paused:
            self.timer.cancel(self)
            self._paused = False

    def close(self) -> None:
        self._unpause()
        self._unlisten()
        fd, self.fd = self.fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    # --- input and size ------------------------------------------------------------------------

    def write(self, data: bytes) -> bool:
        """Type *data* into the terminal, in a thread: a child that does not read its input
        must not freeze the loop. False if the terminal is closed."""
        if self.fd is None:
            return False
        self._input.append(data)
        if self._input_task is None or self._input_task.done():
            self._input_task = self.loop.create_task(self._pump_input())
        return True

    async def _pump_input(self) -> None:
        while self._input and self.fd is not None:
            data = b"".join(self._input)
            self._input.clear()
            try:
                # The thread writes through its own duplicate: the master may be closed
                # meanwhile, and its number reused for another file.
                await self.loop.run_in_executor(None, _write_all, os.dup(self.fd), data)
            except OSError:
                self._input.clear()
                return

    def resize(self, columns: int, rows: int) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                set_window_size(self.fd, columns, rows)


class Ptys:
    """The terminals of a keeper's children, on its loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None):
        self._loop = loop
        self._timer: PauseTimer | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def open(self, fd: int, sink: Sink) -> Terminal:
        """Start reading the PTY master *fd* of a spawned child; its output goes to *sink*."""
        if self._timer is None:
            self._timer = PauseTimer(self.loop, READ_PAUSE)
        return Terminal(self.loop, fd, sink, self._timer)
