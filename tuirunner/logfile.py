"""``log_file``: a process's output appended to a file, ANSI codes stripped, rotated by size.

The event loop only hands over the bytes it read, a whole chunk at a time (:meth:`LogFile.write`
appends to a list under a lock: no decoding, no per-line work, no disk). One thread of the
keeper's (:class:`LogWriter`) decodes, strips and writes each file's pending chunks as one batch,
so a slow disk never blocks the loop. If the disk cannot keep up, at most ``MAX_PENDING`` bytes
wait per file; beyond that output is dropped from the log (the scrollback still has it), and a
line in the file says how much.

Rotation as Python's ``RotatingFileHandler``: when a write would take the file past
``max_bytes``, ``FILE.2`` becomes ``FILE.3`` … ``FILE`` becomes ``FILE.1``, and a new ``FILE``
is started; with ``backups = 0`` the file is simply started afresh.

The instances of one type (``worker.1``, ``worker.2``) share their type's file, each line
prefixed with the instance's name; lines are never mixed, since each instance keeps its own
unfinished line until it ends.
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import os
import queue
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tuirunner.output import collapse_cr, strip_ansi

log = logging.getLogger(__name__)

MAX_PENDING = 16 << 20  # bytes waiting for the disk per file before output is dropped
MAX_PARTIAL = 64 << 10  # an unfinished line longer than this is written as it is
# Controls but TAB and LF (ESC sequences are gone by then; CR is handled apart).
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean(text: str) -> str:
    """Terminal output as plain text: ANSI sequences stripped, ``\\r\\n`` → ``\\n``, a line
    rewritten with ``\\r`` (a progress bar) reduced to what a terminal would show last."""
    text = strip_ansi(text)
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            text = "\n".join(collapse_cr(line) for line in text.split("\n"))
    return _CONTROLS.sub("", text) if _CONTROLS.search(text) else text


class LogFile:
    """One process's output to a log file. :meth:`write` and :meth:`finish` are for the event
    loop; the rest runs in the writer's thread."""

    def __init__(
        self,
        writer: LogWriter,
        sink: _Sink,
        prefix: str = "",
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.writer = writer
        self.sink = sink
        self.prefix = prefix  # before each line: "worker.2 | " when instances share the file
        self.on_error = on_error  # called in the writer's thread
        self._chunks: list[bytes | str] = []  # raw output, or text of our own (str)
        self._pending = 0
        self._dropped = 0
        self._finish = False
        self._queued = False
        # The writer thread's own state.
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._partial = ""

    @property
    def path(self) -> Path:
        return self.sink.path

    @property
    def error(self) -> str | None:
        return self.sink.error

    # --- on the event loop ----------------------------------------------------------------------

    def write(self, data: bytes | str) -> None:
        """Output read from the terminal (bytes), or a line of tuirunner's (str, ending with a
        newline): queued for the writer thread, never written here."""
        if self.sink.error is not None:
            return
        with self.writer.lock:
            if self._pending > MAX_PENDING:
                self._dropped += len(data)
                return
            self._chunks.append(data)
            self._pending += len(data)
            self._schedule()

    def finish(self) -> None:
        """The process's terminal closed: its unfinished last line is written too."""
        with self.writer.lock:
            self._finish = True
            self._schedule()

    def _schedule(self) -> None:  # with the lock held
        if not self._queued:
            self._queued = True
            self.writer.queue.put(self)

    # --- in the writer thread -------------------------------------------------------------------

    def _take(self) -> tuple[list[bytes | str], int, bool]:
        with self.writer.lock:
            chunks, self._chunks = self._chunks, []
            dropped, self._dropped = self._dropped, 0
            finish, self._finish = self._finish, False
            self._pending = 0
            self._queued = False
        return chunks, dropped, finish

    def flush(self) -> None:
        chunks, dropped, finish = self._take()
        if self.sink.error is not None:
            return
        text = self._partial
        for chunk in chunks:
            if isinstance(chunk, bytes):
                text += self._decoder.decode(chunk)
            else:  # a line of ours: it starts on a line of its own
                if text and not text.endswith("\n"):
                    text += "\n"
                text += chunk
        if dropped:
            if text and not text.endswith("\n"):
                text += "\n"
            text += f"[tuirunner: {dropped} bytes of output dropped: the disk was too slow]\n"
        if finish:
            text += self._decoder.decode(b"", final=True)
            if text and not text.endswith("\n"):
                text += "\n"
        head, newline, self._partial = text.rpartition("\n")
        if len(self._partial) > MAX_PARTIAL:
            head, newline, self._partial = text, "\n", ""
        if not newline:
            return
        body = clean(head + newline)
        if self.prefix:
            body = _LINE_START.sub(self.prefix, body[:-1]) + "\n"
        failure = self.sink.append(body.encode("utf-8", "replace"))
        if failure is not None and self.on_error is not None:
            self.on_error(failure)


_LINE_START = re.compile(r"^", re.M)


class _Sink:
    """A log file on disk, shared by the instances of a type (in the writer's thread)."""

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self.error: str | None = None
        self._file = None
        self._size = 0

    def append(self, data: bytes) -> str | None:
        """Write *data*; the error, the first time writing fails (then nothing more is
        written)."""
        if self.error is not None:
            return None
        try:
            self._append(data)
        except OSError as exc:
            self.error = f"cannot write {self.path}: {exc.strerror}"
            self.close()
            return self.error
        return None

    def _append(self, data: bytes) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "ab")  # noqa: SIM115 - kept open across writes
            self._size = os.fstat(self._file.fileno()).st_size
        while data:
            room = self.max_bytes - self._size
            if len(data) > room and self._size > 0:
                self._rotate()
                room = self.max_bytes
            if len(data) <= room:
                piece, data = data, b""
            else:  # more than a whole file: cut at a line end if there is one
                cut = data.rfind(b"\n", 0, room) + 1 or room
                piece, data = data[:cut], data[cut:]
            self._file.write(piece)
            self._size += len(piece)
        self._file.flush()

    def _rotate(self) -> None:
        assert self._file is not None
        self._file.close()
        self._file = None
        path = str(self.path)
        if self.backups > 0:
            for i in range(self.backups - 1, 0, -1):
                if os.path.exists(f"{path}.{i}"):
                    os.replace(f"{path}.{i}", f"{path}.{i + 1}")
            os.replace(path, f"{path}.1")
            self._file = open(path, "ab")  # noqa: SIM115
        else:
            self._file = open(path, "wb")  # noqa: SIM115 - started afresh
        self._size = 0

    def close(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None


class LogWriter:
    """The thread that writes every log file of a run."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.queue: queue.SimpleQueue[LogFile | None] = queue.SimpleQueue()
        self.files: list[LogFile] = []
        self._sinks: dict[Path, _Sink] = {}
        self._thread: threading.Thread | None = None

    def open(
        self,
        path: Path,
        max_bytes: int,
        backups: int,
        prefix: str = "",
        on_error: Callable[[str], None] | None = None,
    ) -> LogFile:
        """A process's way to *path*; processes given the same path share the file."""
        key = Path(os.path.normpath(path))
        sink = self._sinks.get(key)
        if sink is None:
            sink = self._sinks[key] = _Sink(key, max_bytes, backups)
        log_file = LogFile(self, sink, prefix, on_error)
        self.files.append(log_file)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="tuirunner-logs", daemon=True)
            self._thread.start()
        return log_file

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                break
            try:
                item.flush()
            except Exception:  # a bug must not stop the other logs
                log.exception("writing %s failed", item.path)
        for sink in self._sinks.values():
            sink.close()

    def close(self, timeout: float = 5.0) -> None:
        """Write what is pending, then stop the thread (waits at most *timeout* seconds)."""
        if self._thread is None:
            return
        for log_file in self.files:
            log_file.finish()
        self.queue.put(None)
        self._thread.join(timeout)
        self._thread = None


def started_line(name: str, pid: int) -> str:
    """The line a log file gets when its process starts."""
    return f"── {name} started (pid {pid}) {time.strftime('%Y-%m-%d %H:%M:%S')} ──\n"
