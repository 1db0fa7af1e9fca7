"""The limit on open files (``ulimit -n``, ``RLIMIT_NOFILE``) and what a run needs of it.

The keeper holds a pseudo-terminal per process, a pipe or two while it starts one, log files,
and up to 64 clients. With a low limit (``ulimit -n 64``) starting or restarting processes
fails with ``EMFILE``: :func:`explain` says so in words, with the limit that is needed, and
:func:`raise_soft_limit` lifts the soft limit up to the hard one at start when the run needs it.
"""

from __future__ import annotations

import errno

try:
    import resource
except ImportError:  # pragma: no cover - not on a POSIX system
    resource = None  # type: ignore[assignment]

BASE = 128  # the keeper's own: the interpreter, the socket, 64 clients, log files, threads
PER_PROCESS = 3  # its terminal, and a spawn's pipes


def needed(processes: int) -> int:
    """About how many open files a keeper of *processes* processes needs at most."""
    return BASE + PER_PROCESS * processes


def limits() -> tuple[int, int] | None:
    """The (soft, hard) limit on open files; None if unknown."""
    if resource is None:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft, hard


def raise_soft_limit(processes: int) -> int | None:
    """Lift the soft limit towards what *processes* processes need, within the hard limit
    (as servers do); the soft limit then, None if unknown."""
    current = limits()
    if current is None:
        return None
    soft, hard = current
    want = needed(processes)
    if soft != resource.RLIM_INFINITY and soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(hard, want)
        if new > soft:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
                soft = new
            except (OSError, ValueError):
                pass
    return soft


def explain(exc: BaseException, processes: int) -> str | None:
    """*exc* in words if it is about the limit on open files (``EMFILE``, ``ENFILE``), with the
    limit a run of *processes* processes needs; None for any other error."""
    number = getattr(exc, "errno", None)
    if number == errno.ENFILE:
        return (
            "too many open files on this system (ENFILE): the kernel's table is full "
            "(fs.file-max); close some programs"
        )
    if number != errno.EMFILE:
        return None
    current = limits()
    want = needed(processes)
    suggest = max(1024, 1 << (want - 1).bit_length())
    have = f"at most {current[0]}" if current else "too few"
    return (
        f"too many open files: the keeper may have {have} (ulimit -n), and a run of "
        f"{processes} process(es) needs about {want}; raise the limit (ulimit -n {suggest}) in "
        "the shell that starts tuirunner"
    )
