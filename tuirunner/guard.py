"""The guard: the keeper's parent, so that nothing of a run outlives its keeper.

``python -S -E guard.py TIMEOUT [STOP_FILE] -- KEEPER ARGV…`` makes itself a child subreaper
(Linux), starts the keeper as its only child, and waits. While the keeper lives, the run's
orphans re-parent to the keeper (the nearest subreaper); if the keeper dies — even by SIGKILL —
they re-parent here instead, and the guard stops every one of them (SIGTERM, then SIGKILL after
a timeout) before it exits with the keeper's status. The timeout is the longest stop of any
process of the run: the keeper, once it has read the settings, writes it to STOP_FILE
(:func:`note_longest_stop`; a process's own ``timeout`` may exceed the run's); TIMEOUT (the
command line's) counts until then, and at least. The keeper gets SIGTERM if the guard dies
(``PR_SET_PDEATHSIG``), so killing either one ends the run.

A SIGTERM, SIGINT or SIGHUP sent to the guard is passed on to the keeper as SIGTERM: stop
everything gracefully.

Runs as a script, standard library only, so that it costs little memory for a long run.
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


def prctl(option: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
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


def main() -> int:
    args = sys.argv[1:]
    split = args.index("--")
    timeout = float(args[0]) if split > 0 else 5.0
    noted = args[1] if split > 1 else None
    argv = args[split + 1 :]
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    me = os.getpid()
    keeper = os.fork()
    if keeper == 0:  # the keeper-to-be
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != me:  # the guard died before the line above
            os._exit(1)
        try:
            os.execv(argv[0], argv)
        finally:
            os._exit(127)

    def forward(signum: int, frame: object) -> None:
        try:
            os.kill(keeper, signal.SIGTERM)
        except OSError:
            pass

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    # The pipes the keeper inherited are its business: keeping them open here would hide its
    # death from whoever waits on them.
    os.closerange(3, 1 << 16)
    status = 0
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        if pid == keeper:
            break
    sweep(longest_stop(timeout, noted))
    if noted is not None:  # the run is over: leave nothing of it in the runtime directory
        try:
            os.unlink(noted)
        except OSError:
            pass
    return os.waitstatus_to_exitcode(status) if status else 0


if __name__ == "__main__":
    code = main()
    sys.exit(128 - code if code < 0 else code)
