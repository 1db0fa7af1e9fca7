"""The guard: the keeper's parent, so that nothing of a run outlives its keeper.

It is two programs, one process (one pid): a shell while the keeper lives, then Python.

``sh guard.sh PYTHON guard.py TIMEOUT STOP_FILE -- KEEPER ARGV…`` (:func:`command`) starts as
a child subreaper (Linux: the front end's :func:`subreaper` runs before the shell's exec, and
the mark outlives an exec). The shell starts the keeper as its only
child and waits for it. While the keeper lives, the run's orphans re-parent to the keeper (the
nearest subreaper); if the keeper dies — even by SIGKILL — they re-parent here instead. Then the
shell execs ``python -S -E guard.py TIMEOUT STOP_FILE STATUS`` (:func:`main`), which stops every
one of them (SIGTERM, then SIGKILL after a timeout) before it exits with the keeper's status
(128 + N if signal N killed it). The timeout is the longest stop of any process of the run: the
keeper, once it has read the settings, writes it to STOP_FILE (:func:`note_longest_stop`; a
process's own ``timeout`` may exceed the run's); TIMEOUT (the command line's) counts until
then, and at least. The keeper gets SIGTERM if the guard dies (it sets ``PR_SET_PDEATHSIG``
itself, and exits if the guard it was told of is already gone), so killing either one ends the
run.

Why a shell: the guard waits for the whole run, and a waiting shell costs ~1.7 MB where an idle
Python costs ~9.5 MB (and ~15 ms of a run's start). Python starts only when there is something
to stop.

A SIGTERM, SIGINT or SIGHUP sent to the guard is passed on to the keeper as SIGTERM: stop
everything gracefully. (A shell starts a background command with SIGINT and SIGQUIT ignored:
the keeper puts them back, :func:`restore_signals`.)

Runs as a script, standard library only, so that it costs little memory and time.
"""

# ruff: noqa: SIM105 - try/except, not contextlib.suppress: contextlib costs the guard ~0.3 MB

from __future__ import annotations

import ctypes
import os
import sys
import time

# What signal wraps (in enums, with ~0.8 MB of modules the guard has no use for): the guard
# only needs the numbers and signal(). Imports are few here on purpose (see above).
try:
    import _signal as signal
except ImportError:  # pragma: no cover - not CPython
    import signal  # type: ignore[no-redef]

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


_libc: list = []  # the interpreter's own libc, once looked up (Linux)


def _load_libc():
    if not _libc and sys.platform.startswith("linux"):
        try:
            _libc.append(ctypes.CDLL(None, use_errno=True))
        except OSError:
            return None
    return _libc[0] if _libc else None


def prctl(option: int, value: int) -> bool:
    """prctl(2) on Linux; False elsewhere or on failure."""
    libc = _load_libc()
    try:
        return libc is not None and libc.prctl(option, value, 0, 0, 0) == 0
    except AttributeError:
        return False


def children() -> list[int]:
    """Pids of this process's children (Linux: /proc; elsewhere: ps)."""
    me = os.getpid()
    found = []
    if os.path.isdir("/proc/self"):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    stat = f.read()
            except OSError:
                continue
            fields = stat[stat.rfind(b")") + 2 :].split()
            if len(fields) > 1 and int(fields[1]) == me and fields[0] != b"Z":
                found.append(int(entry))
        return found
    import subprocess

    out = subprocess.run(["ps", "-A", "-o", "pid=,ppid=,stat="], capture_output=True, text=True)
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] == str(me) and not parts[2].startswith("Z"):
            found.append(int(parts[0]))
    return found


def reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def signal_tree(pid: int, sig: int) -> None:
    """*pid*, and its process group if it leads one."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
    except OSError:
        pass
    try:
        os.kill(pid, sig)
    except OSError:
        pass


def note_longest_stop(path: str, seconds: float) -> None:
    """(In the keeper.) The longest stop of a process of the run is *seconds*: written to the
    guard's STOP_FILE, *path*."""
    try:
        with open(path, "w") as f:
            f.write(f"{seconds!r}\n")
    except OSError:
        pass


def longest_stop(timeout: float, path: str | None) -> float:
    """*timeout*, or what the keeper wrote to *path* if that is longer."""
    if path is None:
        return timeout
    try:
        with open(path) as f:
            noted = float(f.read().strip())
    except (OSError, ValueError):
        return timeout
    return max(timeout, noted) if noted == noted else timeout  # (not NaN)


def sweep(timeout: float) -> None:
    """Stop every process that re-parented here: SIGTERM, then SIGKILL at the deadline.
    SIGKILLed processes cannot fork, so a few rounds empty the tree. A process whose group
    had its SIGTERM (through its leader) gets no second one when it re-parents here after
    the leader exits: many programs take a second SIGTERM as "stop now"."""
    deadline = time.monotonic() + timeout
    terminated: set[int] = set()  # processes, and groups, that had their SIGTERM
    while True:
        reap()
        found = children()
        if not found:
            return
        late = time.monotonic() >= deadline
        for pid in found:
            if late:
                signal_tree(pid, signal.SIGKILL)
                continue
            try:
                group = os.getpgid(pid)
            except OSError:
                continue
            if pid not in terminated and group not in terminated:
                terminated.add(pid)
                signal_tree(pid, signal.SIGTERM)  # (the whole group, if pid leads it)
        time.sleep(0.02)


def command(timeout: float, noted: str, keeper: list[str]) -> list[str]:
    """The guard's command line: the shell, which starts *keeper* (an argv; it must take
    ``--guard-pid PID``)."""
    here = os.path.abspath(__file__)
    script = os.path.join(os.path.dirname(here), "guard.sh")  # the shell's part
    return ["/bin/sh", script, sys.executable, here, f"{timeout:g}", noted, "--", *keeper]


def subreaper():
    """A function that makes the process calling it a child subreaper (a ``preexec_fn``: libc
    is looked up now, not in the forked child); None where there is no such thing."""
    if _load_libc() is None:
        return None
    return lambda: prctl(PR_SET_CHILD_SUBREAPER, 1)


def restore_signals() -> None:
    """(In the keeper.) SIGINT and SIGQUIT as Python starts with them: the shell that started
    the keeper in the background ignored them."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


def join_guard(guard: int | None) -> bool:
    """(In the keeper.) SIGTERM when the guard, pid *guard*, dies; False if it is gone already
    (the keeper re-parented before it could ask)."""
    if guard is None:
        return True
    prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    return os.getppid() == guard


def main() -> int:
    """Python's part, once the keeper has ended: stop what it left, exit with its status."""
    timeout, noted, status = sys.argv[1:4]
    # The pipes the keeper inherited are its business: keeping them open here would hide its
    # death from whoever waits on them.
    # (SIGTERM, SIGINT and SIGHUP come ignored: the sweep is the stop, see guard.sh.)
    os.closerange(3, 1 << 16)
    try:
        seconds = float(timeout)
    except ValueError:
        seconds = 5.0
    sweep(longest_stop(seconds, noted))
    try:  # the run is over: leave nothing of it in the runtime directory
        os.unlink(noted)
    except OSError:
        pass
    try:
        return int(status)
    except ValueError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
