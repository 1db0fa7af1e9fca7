"""Process groups, strays and the subreaper: everything that finds and kills processes.

Every process instance leads its own session and process group, so signalling the group reaches
the grandchildren a shell or an autoreloader starts. Some children leave the group (``setsid``,
double forks, daemons): the keeper is a *child subreaper* (Linux), so such orphans re-parent to
it instead of to init and stay findable among its descendants, whatever their environment says.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import signal
import sys
import time
from collections.abc import Iterable

import psutil

# prctl options (linux/prctl.h)
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36

_libc = None


def load_libc() -> None:
    global _libc
    if _libc is None and sys.platform.startswith("linux"):
        _libc = ctypes.CDLL(None, use_errno=True)  # the interpreter's own libc


def _prctl(option: int, value: int) -> bool:
    """prctl(2) on Linux; False elsewhere or on failure."""
    load_libc()
    if _libc is None:
        return False
    return _libc.prctl(option, value, 0, 0, 0) == 0


def become_subreaper() -> bool:
    """Make orphaned descendants of any depth re-parent to this process (Linux >= 3.4)."""
    return _prctl(_PR_SET_CHILD_SUBREAPER, 1)


def set_parent_death_signal(sig: int) -> bool:
    """Get *sig* when the thread that forked this process exits (Linux); 0 clears it."""
    return _prctl(_PR_SET_PDEATHSIG, sig)


def group_alive(pgid: int) -> bool:
    """Cheap: does any process (zombies included) still have this process group?"""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def signal_group(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def group_members(pgid: int) -> list[psutil.Process]:
    """The live (non-zombie) processes of a group. A zombie whose parent does not reap it
    (an orphan waiting for init) is not alive, though ``killpg(pgid, 0)`` still finds it."""
    members = []
    for p in psutil.process_iter(["status"]):
        try:
            if p.info["status"] != psutil.STATUS_ZOMBIE and os.getpgid(p.pid) == pgid:
                members.append(p)
        except (OSError, psutil.Error):
            continue
    return members


class GroupWatch:
    """Tells when a process group has no live member left, cheaply while polling: the group is
    alive while its leader runs; after that it checks the members it knows, and only rescans
    all processes when they are all gone but the group is not (new members, or zombies)."""

    def __init__(self, pgid: int):
        self.pgid = pgid
        self.members: list[psutil.Process] | None = None

    def alive(self, leader_done: bool) -> bool:
        if not leader_done:
            return True
        if not group_alive(self.pgid):
            return False
        if self.known_alive():
            return True
        self.members = group_members(self.pgid)
        return bool(self.members)

    def known_alive(self) -> bool:
        """Whether a member found before is still alive (cheap: no scan)."""
        for p in self.members or ():
            try:
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    return True
            except psutil.Error:
                continue
        return False


def descendants(pid: int) -> list[psutil.Process]:
    """Every live descendant of *pid* (not *pid* itself). Where the kernel lists children, its
    tree alone is read (psutil scans the whole process table for each call: a forced quit of
    1,000 processes asked once for each)."""
    if children_files():
        return Snapshot([pid]).descendants(pid)
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []
    alive = []
    for child in children:
        with contextlib.suppress(psutil.Error):
            if child.status() != psutil.STATUS_ZOMBIE:
                alive.append(child)
    return alive


class Snapshot:
    """The process table at one moment (one pass over ``/proc``): who is whose child, and
    which processes are alive. Many stops at once ask it once instead of once each (a scan
    per process made stopping 1,000 processes quadratic). On Linux it reads ``/proc/PID/stat``
    itself (a read per process; psutil takes several). Given *roots*, and where the kernel lists
    each task's children (Linux), only the trees under them are read, without the subtrees of
    the pids in *skip*: what a restart asks concerns a few processes of the run, whatever else
    the machine runs (a developer's laptop has hundreds; a scan of them all takes ~1 ms a
    hundred here, and a restart looked twice)."""

    def __init__(self, roots: Iterable[int] | None = None, skip: Iterable[int] = ()) -> None:
        self.children: dict[int, list[int]] = {}
        self.live: set[int] = set()
        self.pgrp: dict[int, int] = {}  # Linux only
        self._by_group: dict[int, list[int]] | None = None
        if roots is not None and children_files():
            self._read_trees(roots, set(skip))
        elif os.path.isdir("/proc/self/task"):
            self._read_proc()
        else:  # pragma: no cover - macOS
            for p in psutil.process_iter(["ppid", "status"]):
                if p.info.get("ppid") is None:
                    continue
                self.children.setdefault(p.info["ppid"], []).append(p.pid)
                if p.info.get("status") != psutil.STATUS_ZOMBIE:
                    self.live.add(p.pid)

    def _read_proc(self) -> None:
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit() or (fields := proc_stat(entry.name, 3)) is None:
                continue
            pid = int(entry.name)
            self.children.setdefault(int(fields[1]), []).append(pid)
            self.pgrp[pid] = int(fields[2])
            if fields[0] not in (b"Z", b"X"):
                self.live.add(pid)

    def _read_trees(self, roots: Iterable[int], skip: set[int]) -> None:
        todo = list(roots)
        while todo:
            pid = todo.pop()
            if pid in self.pgrp or pid in skip or (fields := proc_stat(str(pid), 18)) is None:
                continue
            self.pgrp[pid] = int(fields[2])
            if fields[0] not in (b"Z", b"X"):
                self.live.add(pid)
            kids = self.children[pid] = proc_children(pid, threads=int(fields[17]))
            todo.extend(kids)

    def members(self, pgid: int) -> list[psutil.Process]:
        """The live processes of group *pgid* when the snapshot was taken (a scan of its own
        where the snapshot does not know the groups: macOS)."""
        if not self.pgrp:
            return group_members(pgid)
        if self._by_group is None:  # once per snapshot: 1,000 stops share it
            self._by_group = {}
            for pid in self.live:
                self._by_group.setdefault(self.pgrp.get(pid, -1), []).append(pid)
        found = []
        for pid in self._by_group.get(pgid, ()):
            with contextlib.suppress(psutil.Error):
                found.append(psutil.Process(pid))
        return found

    def strays(self, pgid: int) -> list[psutil.Process]:
        """The live descendants of *pgid*'s leader that left its group (``setsid``): what
        ``outside_group(descendants(pgid), pgid)`` finds, without a psutil.Process and a
        ``getpgid`` for each member that stayed (1,000 stops at once)."""
        if not self.pgrp:
            return outside_group(self.descendants(pgid), pgid)
        return self.descendants(pgid, outside={pgid})

    def descendants(self, pid: int, outside: set[int] | None = None) -> list[psutil.Process]:
        """Every live descendant of *pid* when the snapshot was taken (not *pid* itself);
        with *outside*, only those in none of these process groups (where known)."""
        found = []
        todo = list(self.children.get(pid, ()))
        seen = set()
        while todo:
            child = todo.pop()
            if child in seen or child == pid:
                continue
            seen.add(child)
            if child in self.live and (outside is None or self.pgrp.get(child) not in outside):
                with contextlib.suppress(psutil.Error):
                    found.append(psutil.Process(child))
            todo.extend(self.children.get(child, ()))
        return found


def read_proc(path: str, whole: bool = False) -> bytes | None:
    """A /proc file's first 4 KiB (a stat line is well under 1 KiB), or all of it (*whole*),
    or None if it is gone. os.open and os.read, not open(): no file object per process (half
    the time of a scan)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        data = os.read(fd, 4096)
        while whole and (chunk := os.read(fd, 65536)):
            data += chunk
    except OSError:
        return None
    finally:
        os.close(fd)
    return data


def proc_stat(pid: str, fields: int) -> list[bytes] | None:
    """The fields of ``/proc/PID/stat`` from the state on (state, ppid, pgrp, …), split up to
    *fields* times, or None if the process is gone."""
    stat = read_proc(f"/proc/{pid}/stat")
    if not stat:
        return None
    # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses
    found = stat[stat.rfind(b")") + 2 :].split(b" ", fields)
    return found if len(found) > fields else None


def proc_children(pid: int, threads: int) -> list[int]:
    """The children of every thread of *pid* (an orphan re-parents to any of a subreaper's)."""
    tids = [str(pid)] if threads == 1 else _listdir(f"/proc/{pid}/task")
    kids: list[int] = []
    for tid in tids:
        kids.extend(map(int, (read_proc(f"/proc/{pid}/task/{tid}/children", True) or b"").split()))
    return kids


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


@functools.cache
def children_files() -> bool:
    """Whether the kernel lists a task's children (/proc/PID/task/TID/children, Linux 3.5+
    with CONFIG_PROC_CHILDREN, which the major distributions enable)."""
    return os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children")


def outside_group(processes: Iterable[psutil.Process], pgid: int) -> list[psutil.Process]:
    """Those of *processes* that moved to another process group (``setsid``)."""
    strays = []
    for p in processes:
        try:
            if os.getpgid(p.pid) != pgid:
                strays.append(p)
        except OSError:
            continue
    return strays


def marked(
    run_id: str,
    variable: str,
    name: str | None = None,
    within: int | None = None,
    named: bool = False,
    candidates: Iterable[psutil.Process] | None = None,
):
    """Live processes whose environment carries *variable* = *run_id* (and ``PS`` = *name*),
    among *candidates*, or the descendants of *within* (default: every process of this user).
    *named*: each found process gets its ``PS`` as ``info_ps``."""
    if candidates is None:
        candidates = descendants(within) if within is not None else psutil.process_iter()
    found = []
    me = os.getpid()
    for p in candidates:
        try:
            if p.pid == me or p.status() == psutil.STATUS_ZOMBIE:
                continue
            environ = p.environ()
        except (psutil.Error, OSError):
            continue
        if environ.get(variable) == run_id and (name is None or environ.get("PS") == name):
            if named:
                p.info_ps = environ.get("PS")  # type: ignore[attr-defined]
            found.append(p)
    return found


def kill(processes: Iterable[psutil.Process], sig: int = signal.SIGKILL) -> None:
    for p in processes:
        with contextlib.suppress(psutil.Error):
            p.send_signal(sig)


def kill_descendants(pid: int | None = None, rounds: int = 20) -> int:
    """SIGKILL every descendant of *pid* (default: this process), again and again until none is
    left (a process may fork while its siblings die). Returns how many were killed.

    Zombies are this process's to reap only if they are its children: the caller reaps.
    """
    pid = os.getpid() if pid is None else pid
    total = 0
    for _ in range(rounds):
        found = descendants(pid)
        if not found:
            break
        for p in found:
            with contextlib.suppress(psutil.Error, OSError):
                pgid = os.getpgid(p.pid)
                if pgid != os.getpgid(pid):
                    signal_group(pgid, signal.SIGKILL)
            with contextlib.suppress(psutil.Error):
                p.kill()
        total += len(found)
        time.sleep(0.01)
    return total
