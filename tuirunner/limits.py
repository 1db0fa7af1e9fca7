"""Limits on what tuirunner reads and starts, checked up front with a one-line error.

- Procfiles, env files and ``.env.example``-style templates must be regular files of at most
  :data:`MAX_FILE_BYTES` (1 MiB): ``-f /dev/zero`` would otherwise grow without bound and a FIFO
  would block forever.
- ``--timeout`` is a finite number of seconds between 0 and :data:`MAX_TIMEOUT`.
- What a process is started with must fit in ``execve``: every instance runs
  ``/bin/sh -c COMMAND`` with its environment, and Linux limits a single argument or
  ``NAME=value`` string to ``MAX_ARG_STRLEN`` (32 pages, 128 KiB) and all of them together to
  about a quarter of the stack limit (``getconf ARG_MAX``, 2 MiB by default).
"""

from __future__ import annotations

import errno
import math
import os
import stat
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol

from tuirunner.errors import UserError

MAX_FILE_BYTES = 1024 * 1024
MAX_TIMEOUT = 3600.0

# The ranges of the numeric settings (README, "Settings"), checked by ``check`` and at start.
# Floors keep a setting from turning into a busy loop (a restart or a log rotation per
# millisecond); ceilings keep memory and waits bounded, like ``--timeout``.
MIN_BACKOFF = 0.05  # seconds: backoff.initial, backoff.max, backoff.reset_after
MAX_BACKOFF = 86_400.0  # a day
MIN_READY_INTERVAL = 0.05  # seconds between two readiness probes
MAX_READY_INTERVAL = 60.0
MAX_READY_TIMEOUT = MAX_TIMEOUT
MIN_HEALTH_INTERVAL = 0.1  # seconds between two health probes of a ready process
MAX_HEALTH_FAILURES = 100  # failures in a row before a process counts as unhealthy
MIN_LOG_MAX_BYTES = 64 * 1024  # a log file is rotated at no less than 64 KiB
MAX_LOG_MAX_BYTES = 1024**4  # 1 TiB
MAX_LOG_BACKUPS = 100
MAX_SCROLLBACK = 1_000_000  # lines per process (their bytes are bounded apart: output.py)
SHELL = "/bin/sh"


# What check_exec_limits reads of a Procfile's instances and of the environment, as shapes
# rather than imports: procfile.py and environment.py read files through this module, so it
# imports neither of them (they satisfy these protocols).


class _Variable(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def value(self) -> str: ...
    @property
    def source(self) -> object: ...  # its str() names the file and line


class _Environment(Protocol):
    @property
    def variables(self) -> Mapping[str, _Variable]: ...
    @property
    def processes(self) -> Mapping[str, Mapping[str, _Variable]]: ...
    def with_process_vars(self, process_type: str) -> _Environment: ...
    def as_dict(self) -> Mapping[str, str]: ...


class _ProcessType(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def line(self) -> int: ...


class _Instance(Protocol):
    @property
    def type(self) -> _ProcessType: ...
    @property
    def command(self) -> str: ...


class FileRefused(OSError):
    """A file tuirunner will not read: not a regular file, or too large. ``str()`` says why."""


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB" if n >= 1024 * 1024 else f"{n} bytes"


def _check_mode(st: os.stat_result, limit: int) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
    if not stat.S_ISREG(st.st_mode):
        raise FileRefused(f"{_kind(st.st_mode)}, not a regular file")
    if st.st_size > limit:
        raise FileRefused(f"larger than {_size(limit)} ({_size(st.st_size)})")


def read_limited(path: Path | str, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the regular file *path*, refusing (:class:`FileRefused`) anything else and
    anything larger than *limit*. Other errors (missing file, permission) are ``OSError`` as
    ``open`` raises them.

    Checked with ``stat`` before opening (a FIFO would block ``open``), opened non-blocking and
    checked again on the descriptor (the path may change in between), and read up to *limit* + 1
    bytes only (the file may grow after the check).
    """
    _check_mode(os.stat(path), limit)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        _check_mode(os.fstat(fd), limit)
        chunks = []
        remaining = limit + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1024 * 1024))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise FileRefused(f"larger than {_size(limit)} (it grew while being read)")
    return data


def _invalid(message: str) -> Exception:
    import argparse  # here: the keeper imports this module, and argparse costs it ~0.35 MB

    return argparse.ArgumentTypeError(message)


def parse_timeout(text: str) -> float:
    """An argparse ``type=`` for ``--timeout``: finite seconds, from 0 to :data:`MAX_TIMEOUT`."""
    try:
        value = float(text)
    except ValueError:
        raise _invalid(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value):
        raise _invalid(
            f"{text!r} is not a finite number of seconds (a process ignoring SIGTERM would "
            "never be killed)"
        )
    if value < 0:
        raise _invalid(f"{text!r}: must not be negative")
    if value > MAX_TIMEOUT:
        raise _invalid(f"{text!r}: at most {MAX_TIMEOUT:g} seconds")
    return value


def parse_scrollback(text: str) -> int:
    """An argparse ``type=`` for ``--scrollback``: lines, from 1 to :data:`MAX_SCROLLBACK`."""
    try:
        value = int(text)
    except ValueError:
        raise _invalid(f"{text!r} is not a number of lines") from None
    if not 1 <= value <= MAX_SCROLLBACK:
        raise _invalid(f"{text!r}: must be from 1 to {MAX_SCROLLBACK}")
    return value


# --- exec limits ---------------------------------------------------------------------------------

# The variables the runner adds to every process (PORT, PS, TUIRUNNER_RUN_ID), generously.
RUNNER_VARIABLES_ALLOWANCE = 3, 256  # strings, bytes
_POINTER = 8


def max_arg_strlen() -> int | None:
    """The longest single argument or ``NAME=value`` string exec accepts, NUL included (Linux's
    ``MAX_ARG_STRLEN``, 32 pages); None where there is no such limit (macOS)."""
    if not sys.platform.startswith("linux"):
        return None
    return 32 * os.sysconf("SC_PAGE_SIZE")


def arg_max() -> int:
    """What argv and the environment may take together: ``sysconf(SC_ARG_MAX)``, a quarter of
    the stack limit, which Linux caps at 6 MiB (¾ of its 8 MiB ``_STK_LIM``) and floors at
    128 KiB."""
    try:
        value = os.sysconf("SC_ARG_MAX")
    except (ValueError, OSError):
        value = -1
    if value <= 0:
        value = 128 * 1024
    if sys.platform.startswith("linux"):
        value = max(min(value, 6 * 1024 * 1024), 128 * 1024)
    return value


def exec_size(argv: Iterable[str], env: Mapping[str, str], extra: tuple[int, int] = (0, 0)) -> int:
    """The bytes exec needs for *argv* and *env*: the strings with their NULs, one pointer each
    (Linux counts them since 2.6.23), and the path of the program (copied too)."""
    argv = list(argv)
    strings = [*argv, *(f"{k}={v}" for k, v in env.items())]
    count = len(strings) + extra[0]
    size = sum(_bytes(s) + 1 for s in strings) + extra[1]
    return size + count * _POINTER + (len(argv[0].encode()) + 1 if argv else 0)


def check_exec_limits(
    instances: Iterable[_Instance], environment: _Environment, procfile: Path | str
) -> None:
    """Raise :class:`UserError` naming the process or variable (and its file:line) when a
    process could not be started because its command or environment is too large for exec."""
    types = {inst.type.name: inst for inst in instances}  # the command is the type's
    strlen = max_arg_strlen()
    layers = [var for layer in environment.processes.values() for var in layer.values()]
    if strlen is not None:
        for name, var in [*environment.variables.items(), *((v.name, v) for v in layers)]:
            size = _bytes(f"{name}={var.value}") + 1
            if size > strlen:
                raise UserError(
                    f"{var.source}: {name} is {size:,} bytes long (NAME=value); a process can "
                    f"receive at most {strlen:,} per variable (Linux's MAX_ARG_STRLEN)"
                )
        for inst in types.values():
            size = _bytes(inst.command) + 1
            if size > strlen:
                raise UserError(
                    f"{procfile}:{inst.type.line}: the command of {inst.type.name} is "
                    f"{size:,} bytes long; '{SHELL} -c COMMAND' accepts at most {strlen:,} "
                    "(Linux's MAX_ARG_STRLEN)"
                )
    limit = arg_max()
    for inst in types.values():
        env = environment.with_process_vars(inst.type.name)  # with its settings' env
        env_size = exec_size([], env.as_dict())
        total = env_size + exec_size([SHELL, "-c", inst.command], {}, RUNNER_VARIABLES_ALLOWANCE)
        if total > limit:
            largest = sorted(
                env.variables.values(), key=lambda v: _bytes(v.name) + _bytes(v.value)
            )[-3:]
            names = ", ".join(
                f"{v.name} ({v.source}, {_bytes(v.name) + _bytes(v.value) + 2:,} bytes)"
                for v in reversed(largest)
            )
            raise UserError(
                f"{inst.type.name}: its command and environment take {total:,} bytes, more than "
                f"exec accepts ({limit:,}, ARG_MAX); the largest variables: {names}"
            )


def _bytes(text: str) -> int:
    return len(text.encode("utf-8", "surrogateescape"))
