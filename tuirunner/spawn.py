"""Starting a command on a pseudo-terminal, and learning when it exits.

A child leads its own session and process group, with the PTY's slave side as its controlling
terminal and as stdin, stdout and stderr (so Python children are line-buffered and Django colours
its output). If the keeper dies, the child's terminal hangs up (SIGHUP to its session) and the
guard stops whatever is left (see guard.py).

On Linux a child is started by ``posix_spawn`` (glibc: ``clone(CLONE_VM|CLONE_VFORK)``), which
copies nothing of the keeper: 0.7 ms a child on a 2-core test machine, where a ``fork`` with
Python code between fork and exec (``preexec_fn``) took 7–9 ms, since every page the child's
Python touched was copied. What that code did is done by the spawn's own steps: ``setsid``, then
the slave opened *by its name* (a session leader without a controlling terminal gets the
terminal it opens), signals back to their defaults and none blocked. What it cannot do is
``PR_SET_PDEATHSIG``, which the hang-up and the guard make up for. Elsewhere (macOS) the child
is forked and runs :func:`_child_setup` before exec.

Exit statuses come from :class:`Reaper`, a SIGCHLD handler on the event loop: the keeper is a
subreaper, so orphans of any depth become its children and must be reaped too, which rules out
asyncio's per-child watchers (they would race it for the statuses).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import pty
import shutil
import signal
import struct
import subprocess
import sys
import termios
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tuirunner.groups import load_libc, set_parent_death_signal

DEFAULT_WINDOW = (80, 24)  # columns, rows
POSIX_SPAWN = sys.platform.startswith("linux") and hasattr(os, "posix_spawn")
# Back to their defaults in a child: what _child_setup resets, and what Popen's restore_signals
# does (Python itself ignores SIGPIPE and SIGXFSZ).
_DEFAULT_SIGNALS = (
    signal.SIGINT,
    signal.SIGQUIT,
    signal.SIGTERM,
    signal.SIGHUP,
    signal.SIGCHLD,
    signal.SIGPIPE,
    signal.SIGXFSZ,
)

load_libc()  # now, not in a forked child


def set_window_size(fd: int, columns: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


def print_as_to_a_pipe(slave: int) -> None:
    """Turn off the terminal's ``\\n`` → ``\\r\\n`` (ONLCR): a child's lines arrive as it wrote
    them, as they would through honcho's pipe, while it still sees a terminal (colours, line
    buffering). Nothing downstream emulates a terminal, so the added ``\\r`` was only work: the
    kernel's output processing took a child writing 50 MB 0.4 s more system time (2 cores), and
    the keeper's buffer and log file had to take it out again. A child that wants it back (``stty
    sane``, a full-screen program restoring its modes) may; ``\\r\\n`` is still read as one
    line end."""
    with contextlib.suppress(termios.error):
        attrs = termios.tcgetattr(slave)
        attrs[1] &= ~termios.ONLCR
        termios.tcsetattr(slave, termios.TCSANOW, attrs)


def _child_setup() -> None:  # runs in the child between fork and exec
    # start_new_session made the child a session leader; adopt the PTY on fd 0 as its
    # controlling terminal so that ^C typed in input mode becomes SIGINT, job control works,
    # and the whole session gets SIGHUP if the terminal goes away.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    set_parent_death_signal(signal.SIGKILL)
    for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


@dataclass
class Spawned:
    pid: int
    master: int  # the PTY master: output, input and window size; non-blocking


def spawn_on_pty(
    argv: list[str], env: Mapping[str, str], cwd: Path | str, window: tuple[int, int]
) -> Spawned:
    """Start *argv* on a new PTY. Raises OSError (or SubprocessError) if it cannot start."""
    master, slave = pty.openpty()
    try:
        set_window_size(master, *window)
        print_as_to_a_pipe(slave)
        if POSIX_SPAWN:
            pid = _posix_spawn(argv, env, cwd, os.ttyname(slave))
        else:
            pid = _forked(argv, env, cwd, slave)
    except BaseException:
        os.close(master)
        raise
    finally:
        os.close(slave)
    os.set_blocking(master, False)
    return Spawned(pid, master)


def _posix_spawn(argv: list[str], env: Mapping[str, str], cwd: Path | str, tty: str) -> int:
    program = argv[0]
    if os.sep not in program:  # as Popen does: the child's PATH, not ours
        found = shutil.which(program, path=env.get("PATH", os.defpath))
        if found is None:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), program)
        program = found
    here = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.chdir(cwd)  # the spawn has no step of its own for it (Python's binding lacks it)
        try:
            return os.posix_spawn(
                program,
                argv,
                env,
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, tty, os.O_RDWR, 0),  # after setsid: the ctty
                    (os.POSIX_SPAWN_DUP2, 0, 1),
                    (os.POSIX_SPAWN_DUP2, 0, 2),
                ],
                setsid=True,
                setsigdef=_DEFAULT_SIGNALS,
                setsigmask=(),
            )
        finally:
            os.fchdir(here)
    finally:
        os.close(here)


def _forked(argv: list[str], env: Mapping[str, str], cwd: Path | str, slave: int) -> int:
    process = subprocess.Popen(
        argv,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=cwd,
        env=dict(env),
        start_new_session=True,
        preexec_fn=_child_setup,
    )
    # The Reaper owns the exit status: make sure Popen never waits for it.
    process.returncode = 0
    return process.pid


def spawn_plain(
    argv: list[str], env: Mapping[str, str], cwd: Path | str, log: int | None = None
) -> int:
    """Start *argv* without a terminal (a readiness command, say); output to *log* or nowhere.
    Its own process group, so that stopping it reaches what it starts."""
    process = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=log if log is not None else subprocess.DEVNULL,
        stderr=log if log is not None else subprocess.DEVNULL,
        cwd=cwd,
        env=dict(env),
        process_group=0,
    )
    process.returncode = 0
    return process.pid


def quiet_signal_wakeup() -> None:
    """Let signals that find asyncio's wake-up socket full be dropped quietly. A burst of
    SIGCHLD (1,000 children stopping at once) fills it while the loop is busy; CPython then
    schedules a warning from within its signal handler under a lock, and a second signal
    arriving meanwhile deadlocks the process (seen: a keeper hung mid-stop). One byte is
    enough to wake the loop, and the Reaper reaps every child there is. Call it after the
    last ``add_signal_handler`` (each one sets the wake-up socket again)."""
    fd = signal.set_wakeup_fd(-1)
    if fd != -1:
        signal.set_wakeup_fd(fd, warn_on_full_buffer=False)


class Reaper:
    """Collects exit statuses on SIGCHLD: :meth:`wait` gives a future for a pid's returncode
    (negative for a signal, as in :mod:`subprocess`).

    With *reap_all* (the keeper, a subreaper) every child is reaped, orphans included; without
    it only the pids it was asked about (so that it can share a process with other code).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, reap_all: bool = True):
        self.loop = loop
        self.reap_all = reap_all
        self._waiting: dict[int, asyncio.Future[int]] = {}
        loop.add_signal_handler(signal.SIGCHLD, self.reap)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.loop.remove_signal_handler(signal.SIGCHLD)

    def wait(self, pid: int) -> asyncio.Future[int]:
        """The future returncode of child *pid*. Call it right after spawning, before the event
        loop runs again (until then, nothing can reap the child)."""
        future = self.loop.create_future()
        self._waiting[pid] = future
        return future

    def reap(self) -> None:
        if self.reap_all:
            while True:
                try:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    return
                if pid == 0:
                    return
                self._collected(pid, status)
        else:
            for pid in list(self._waiting):
                try:
                    done, status = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    done, status = pid, 0
                if done:
                    self._collected(pid, status)

    def _collected(self, pid: int, status: int) -> None:
        future = self._waiting.pop(pid, None)  # None: an orphan that re-parented to us
        if future is not None and not future.done():
            future.set_result(os.waitstatus_to_exitcode(status))
