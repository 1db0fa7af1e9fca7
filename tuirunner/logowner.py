"""Which log files tuirunner created: the only ones it may rotate (rename) or start afresh.

A ``log_file`` may point at a file the user already has (an absolute path, ``..``, a symbolic
link). tuirunner never truncates, renames or writes through a symbolic link to such a file: it
opens with ``O_APPEND | O_NOFOLLOW``, and rotates only files whose identity (device and inode) it
recorded when it created them. The record lives in the user's state directory
(``$XDG_STATE_HOME/tuirunner/logs/``, default ``~/.local/state``), one small JSON file per log
path, so nothing is added beside the logs (where ``watch`` would see it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
from pathlib import Path


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return Path(base) / "tuirunner" / "logs"


def _record(path: Path) -> Path:
    digest = hashlib.sha256(os.fsencode(os.path.abspath(path))).hexdigest()[:32]
    return state_dir() / f"{digest}.json"


def _identity(st: os.stat_result) -> list[int]:
    return [st.st_dev, st.st_ino]


def _load(path: Path) -> list[list[int]]:
    try:
        data = json.loads(_record(path).read_text())
    except (OSError, ValueError):
        return []
    if not isinstance(data, dict) or data.get("path") != os.path.abspath(path):
        return []
    files = data.get("files")
    return (
        [f for f in files if isinstance(f, list) and len(f) == 2] if isinstance(files, list) else []
    )


def owns(log: Path, path: Path | str, st: os.stat_result | None = None) -> bool:
    """*path* (``log`` or ``log.N``) is a regular file created by tuirunner as the log *log*."""
    if st is None:
        try:
            st = os.lstat(path)
        except OSError:
            return False
    return stat.S_ISREG(st.st_mode) and _identity(st) in _load(log)


def remember(log: Path, st: os.stat_result, backups: int) -> None:
    """Record the file just created for *log* (*st* its ``fstat``), forgetting files that are
    no longer at any of the names (``log``, ``log.1`` … ``log.BACKUPS``). Best effort: a record
    that cannot be written means the file is treated as foreign later (appended to, never
    rotated), never the other way round."""
    known = _load(log)
    present = []
    for name in [str(log)] + [f"{log}.{i}" for i in range(1, backups + 1)]:
        with contextlib.suppress(OSError):
            present.append(_identity(os.lstat(name)))
    keep = [f for f in known if f in present]
    if _identity(st) not in keep:
        keep.append(_identity(st))
    record = _record(log)
    with contextlib.suppress(OSError):
        record.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=record.parent, prefix=".tmp-")
        with os.fdopen(fd, "w") as f:
            json.dump({"path": os.path.abspath(log), "files": keep}, f)
        os.replace(tmp, record)


def describe(log: Path) -> str:
    """Where *log* goes, for ``check``: ``created on first output``, ``appended (created by
    tuirunner, rotated)``, ``appended; not created by tuirunner: never rotated``, or why it
    will not be written."""
    try:
        st = os.lstat(log)
    except FileNotFoundError:
        return "created when the process first prints"
    except OSError as exc:
        return f"cannot be written: {exc.strerror}"
    if stat.S_ISLNK(st.st_mode):
        return "a symbolic link: not followed, nothing is written"
    if stat.S_ISDIR(st.st_mode):
        return "a directory: nothing is written"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file: appended to, never rotated"
    if owns(log, log, st):
        return "appended to (created by tuirunner: rotated)"
    return "appended to; not created by tuirunner: never truncated, renamed or rotated"
