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
import errno
import logging
import os
import queue
import re
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tuirunner import logowner
from tuirunner.output import collapse_cr, strip_ansi

log = logging.getLogger(__name__)

MAX_PENDING = 16 << 20  # bytes waiting for the disk per file before output is dropped
RETRY = 2.0  # seconds between tries to write a log file that could not be written
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
        on_error: Callable[[str | None], None] | None = None,
        on_note: Callable[[str], None] | None = None,
    ) -> None:
        self.writer = writer
        self.sink = sink
        self.prefix = prefix  # before each line: "worker.2 | " when instances share the file
        # Called in the writer's thread: writing failed (why), or works again (None); a note.
        if on_error is not None:
            sink.listeners.append(on_error)
            if sink.error is not None:
                on_error(sink.error)
        if on_note is not None:
            sink.notes.append(on_note)
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
        self.sink.append(body.encode("utf-8", "replace"))


_LINE_START = re.compile(r"^", re.M)


class _Sink:
    """A log file on disk, shared by the instances of a type (in the writer's thread).

    It is opened ``O_APPEND | O_NOFOLLOW``: a symbolic link is never followed, and a file that
    exists is appended to. Only a regular file tuirunner created (:mod:`tuirunner.logowner`)
    is rotated or started afresh; another is appended to past ``max_bytes``, and said once.
    When writing fails (a directory, no permission, a full or read-only disk), :attr:`error`
    says why, what comes meanwhile is held (at most ``MAX_PENDING`` bytes), and writing is
    tried again every ``RETRY`` seconds: the error clears when it works again.
    """

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self.error: str | None = None
        self.listeners: list[Callable[[str | None], None]] = []  # told of error changes
        self.notes: list[Callable[[str], None]] = []  # told once of a foreign file
        self._fd: int | None = None
        self._owned = False
        self._noted = False
        self._size = 0
        self._held = bytearray()  # written text not yet on disk (writing failed)
        self._lost = 0  # bytes beyond MAX_PENDING while writing failed
        self._retry_at = 0.0

    @property
    def waiting(self) -> bool:
        """Writing failed and something waits to be written."""
        return self.error is not None and bool(self._held)

    def append(self, data: bytes) -> None:
        """Write *data* (or hold it while writing fails: tried again after ``RETRY`` s)."""
        self._hold(data)
        if self.error is not None and time.monotonic() < self._retry_at:
            return
        try:
            if self.error is not None and self._lost:
                lost, self._lost = self._lost, 0
                note = f"[tuirunner: {lost} bytes of output lost while {self.error}]\n"
                self._held[:0] = note.encode()
            self._write_held()
        except OSError as exc:
            self.close()
            self._retry_at = time.monotonic() + RETRY
            message = f"cannot write {self.path}: {exc.strerror or exc}"
            if message != self.error:
                self.error = message
                self._tell(message)
            return
        if self.error is not None:
            self.error = None
            self._tell(None)

    def _tell(self, message: str | None) -> None:
        for listener in self.listeners:
            listener(message)

    def _hold(self, data: bytes) -> None:
        room = MAX_PENDING - len(self._held)
        if len(data) > room:
            self._lost += len(data) - max(room, 0)
            data = data[: max(room, 0)]
        self._held += data

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
        try:
            fd = os.open(self.path, flags | os.O_CREAT | os.O_EXCL, 0o666)
            created = True
        except FileExistsError:
            try:
                fd = os.open(self.path, flags)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise OSError(exc.errno, "a symbolic link, not followed") from None
                raise
            created = False
        try:
            st = os.fstat(fd)
            if stat.S_ISDIR(st.st_mode):  # pragma: no cover - open() refuses a directory
                raise OSError(errno.EISDIR, "a directory")
            os.set_blocking(fd, True)
            if created:
                logowner.remember(self.path, st, self.backups)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._owned = created or logowner.owns(self.path, self.path, st)
        self._size = st.st_size
        if not self._owned and not self._noted:
            self._noted = True
            for note in self.notes:
                note(
                    f"{self.path} was not created by tuirunner: appended to, never rotated "
                    "or truncated"
                )

    def _write_held(self) -> None:
        if self._fd is None:
            self._open()
        data = self._held
        while data:
            room = self.max_bytes - self._size
            if len(data) > room and self._size > 0 and self._owned:
                self._rotate()
                room = self.max_bytes
            if len(data) <= room or not self._owned:
                piece = bytes(data)
            else:  # more than a whole file: cut at a line end if there is one
                cut = data.rfind(b"\n", 0, room) + 1 or room
                piece = bytes(data[:cut])
            assert self._fd is not None
            written = os.write(self._fd, piece)
            self._size += written
            del data[:written]

    def _rotate(self) -> None:
        """Rotate the file (ours): only files of ours are renamed or replaced; if a backup's
        name holds a file of someone else's, the file is not rotated (and said once)."""
        assert self._fd is not None
        path = str(self.path)
        try:
            current = os.lstat(path)
        except OSError:
            current = None
        if current is None or (current.st_dev, current.st_ino) != _identity(self._fd):
            self._owned = False  # our file was moved away; what is there now is not ours
            self.close()
            self._open()
            return
        if self.backups == 0:
            os.ftruncate(self._fd, 0)  # our own file, by its descriptor: no path followed
            self._size = 0
            return
        names = [path] + [f"{path}.{i}" for i in range(1, self.backups + 1)]
        for name in names[1:]:
            if os.path.lexists(name) and not logowner.owns(self.path, name):
                self._owned = False
                if not self._noted:
                    self._noted = True
                    for note in self.notes:
                        note(f"{name} was not created by tuirunner: {path} is not rotated")
                return
        for i in range(self.backups - 1, 0, -1):
            if os.path.lexists(names[i]):
                os.replace(names[i], names[i + 1])
        os.replace(path, names[1])
        self.close()
        self._open()

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


def _identity(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return st.st_dev, st.st_ino


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
        on_error: Callable[[str | None], None] | None = None,
        on_note: Callable[[str], None] | None = None,
    ) -> LogFile:
        """A process's way to *path*; processes given the same path share the file.
        *on_error* is told (in the writer's thread) why writing fails, and None when it works
        again; *on_note* that the file is someone else's (not rotated)."""
        key = Path(os.path.normpath(path))
        sink = self._sinks.get(key)
        if sink is None:
            sink = self._sinks[key] = _Sink(key, max_bytes, backups)
        with self.lock:
            log_file = LogFile(self, sink, prefix, on_error, on_note)
        self.files.append(log_file)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="tuirunner-logs", daemon=True)
            self._thread.start()
        return log_file

    def _run(self) -> None:
        while True:
            waiting = [sink for sink in list(self._sinks.values()) if sink.waiting]
            try:
                item = self.queue.get(timeout=RETRY if waiting else None)
            except queue.Empty:  # nothing new: try the files that could not be written again
                for sink in waiting:
                    self._try(sink.append, b"")
                continue
            if item is None:
                break
            self._try(item.flush)
        for sink in self._sinks.values():
            sink.close()

    @staticmethod
    def _try(call: Callable, *args) -> None:
        try:
            call(*args)
        except Exception:  # a bug must not stop the other logs
            log.exception("writing a log file failed")

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
