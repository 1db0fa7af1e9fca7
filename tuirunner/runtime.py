"""Where a run's keeper can be found: one private directory per user, one socket per app root.

The directory is ``$XDG_RUNTIME_DIR/tuirunner`` when that variable names a directory, otherwise
``tuirunner-UID`` in the temporary directory; it is created with mode 0700 and refused if
someone else owns it or can enter it. For an app root it holds ``NAME-HASH.sock`` (the keeper's
socket, mode 0600), ``NAME-HASH.lock`` (held by the running keeper; it has its pid) and
``NAME-HASH.log`` (the keeper's own diagnostics), where NAME is the app root's directory name
and HASH identifies its absolute path. A run that ends removes its own files; the files of a
run whose keeper died are removed by the next command that finds them unheld.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import socket
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tuirunner.errors import UserError


def runtime_dir() -> Path:
    """The user's private directory for sockets, created if needed."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base and Path(base).is_dir():
        path = Path(base) / "tuirunner"
    else:
        path = Path(tempfile.gettempdir()) / f"tuirunner-{os.getuid()}"
    # A directory someone else may have planted: how to use another one instead.
    elsewhere = (
        "or set XDG_RUNTIME_DIR (or TMPDIR) to a directory of yours, "
        "e.g. XDG_RUNTIME_DIR=$HOME/.cache/run"
    )
    try:
        path.mkdir(mode=0o700, exist_ok=True)
        info = path.lstat()
    except OSError as exc:
        raise UserError(
            f"{path}: cannot create the runtime directory: {exc.strerror}; {elsewhere}"
        ) from None
    if not stat.S_ISDIR(info.st_mode):
        raise UserError(f"{path}: not a directory; remove it, {elsewhere}")
    if info.st_uid != os.getuid():
        raise UserError(
            f"{path}: owned by uid {info.st_uid}, not by you; have it removed, {elsewhere}"
        )
    if info.st_mode & 0o077:
        raise UserError(
            f"{path}: others may enter it (mode {stat.S_IMODE(info.st_mode):o}); "
            f"remove it or chmod 700 it, {elsewhere}"
        )
    return path


@dataclass(frozen=True)
class RunPaths:
    app_root: Path  # absolute
    socket: Path
    lock: Path
    log: Path

    @property
    def stop_timeout(self) -> Path:
        """Where the keeper tells its guard the run's longest stop (see tuirunner/guard.py)."""
        return self.lock.with_name(self.lock.name + ".timeout")


MAX_SOCKET_PATH = 100  # sun_path holds 104 (macOS) or 108 (Linux) bytes


def run_paths(app_root: Path) -> RunPaths:
    root = app_root.resolve()
    digest = hashlib.sha256(os.fsencode(root)).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", root.name)[:24] or "root"
    directory = runtime_dir()
    base = directory / f"{name}-{digest}"
    if len(os.fsencode(base.with_suffix(".sock"))) > MAX_SOCKET_PATH:
        base = directory / digest  # a long runtime directory: no room for the name
        if len(os.fsencode(base.with_suffix(".sock"))) > MAX_SOCKET_PATH:
            raise UserError(
                f"{directory}: too long a path for a unix socket; set XDG_RUNTIME_DIR (or "
                "TMPDIR) to a shorter directory"
            )
    return RunPaths(
        root,
        base.with_suffix(".sock"),
        base.with_suffix(".lock"),
        base.with_suffix(".log"),
    )


class RunLock:
    """The lock a keeper holds for its whole life: one run per app root. The file names the
    holder's pid; a keeper that dies releases it (the kernel drops its flock)."""

    def __init__(self, path: Path):
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> bool:
        for _ in range(10):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EAGAIN, errno.EACCES):
                    return False
                raise
            # The file may have been removed (a run ending, a stale one cleaned) between the
            # open and the lock: then the lock is on a file nobody else finds. Try again.
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        else:
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return True

    def remove(self, *others: Path) -> None:
        """The run is over: remove the file (while still holding it) and *others* (its log),
        then let go."""
        if self.fd is not None:
            for path in (*others, self.path):
                with contextlib.suppress(OSError):
                    path.unlink()
        self.release()

    def release(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None


def holder(paths: RunPaths) -> int | None:
    """The pid of the keeper running for these paths, or None (a stale socket is removed)."""
    try:
        fd = os.open(paths.lock, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        _remove_stale(paths)
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:  # held: a keeper runs
            return _holder_pid(fd)
        _remove_stale(paths, lock_too=True)  # still holding it: no keeper can take it meanwhile
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


PID_PATIENCE = 1.0  # seconds to wait for a keeper that just took the lock to write its pid


def _holder_pid(fd: int) -> int:
    """The pid in a held lock file. A keeper writes it just after taking the lock: a start
    racing another may look in between (an empty file, or the last run's pid), so a pid that
    is missing or not alive is read again for a moment; -1 if it stays unknown."""
    deadline = time.monotonic() + PID_PATIENCE
    while True:
        try:
            pid = int(os.pread(fd, 32, 0).split()[0])
            os.kill(pid, 0)
            return pid
        except PermissionError:
            return pid
        except (ValueError, IndexError, OSError):
            if time.monotonic() >= deadline:
                return -1
            time.sleep(0.01)


def already_running(pid: int | None, where: str = "") -> str:
    """The error of a start while a run goes on (*pid*: :func:`holder`'s)."""
    who = f"pid {pid}" if pid is not None and pid > 0 else "its keeper is just starting"
    return f"already running ({who}): tuirunner attach{where}"


def _remove_stale(paths: RunPaths, lock_too: bool = False) -> None:
    """A socket nobody holds the lock for was left by a keeper that died: remove it, and with
    *lock_too* (the caller holds the unheld lock file) that run's lock and log files."""
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISSOCK(paths.socket.lstat().st_mode):
            paths.socket.unlink()
    if lock_too:
        for path in (paths.log, paths.stop_timeout, paths.lock):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def listen(path: Path) -> socket.socket:
    """A listening unix socket at *path*, mode 0600 from the start."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        server.bind(os.fspath(path))
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    server.listen(64)
    server.setblocking(False)
    return server


def peer_uid(sock: socket.socket) -> int | None:
    """The uid of the process at the other end of a unix socket (None if unknown)."""
    if hasattr(socket, "SO_PEERCRED"):
        import struct

        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", creds)
        return uid
    try:  # BSD, macOS: getpeereid through LOCAL_PEERCRED (struct xucred: version, uid, ...)
        import struct

        local_peercred = getattr(socket, "LOCAL_PEERCRED", 0x001)
        creds = sock.getsockopt(0, local_peercred, struct.calcsize("2I"))
        _version, uid = struct.unpack("2I", creds[:8])
        return uid
    except OSError:
        return None
