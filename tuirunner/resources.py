"""CPU, memory and listening TCP ports of each process's whole tree, sampled cheaply.

On Linux everything comes from ``/proc``, and a round costs a few dozen small reads however many
other processes the machine runs:

- each tree is walked from its leader by ``/proc/PID/task/TID/children`` (no scan of every
  process on the machine); each member's ``/proc/PID/stat`` gives its CPU time (its own and that
  of the children it reaped, so that short-lived children count) and its resident memory;
- listening sockets come from the kernel's socket diagnostics (netlink ``sock_diag``, what
  ``ss -tl`` uses), asked for listening TCP sockets only: ~25 µs. (``/proc/net/tcp`` says the
  same, but reading it walks every bucket of the TCP hash tables: ~4 ms per file on a machine
  with a few GB of memory, however few sockets there are. It is the fallback.) Which tree holds
  them needs the members' file descriptors (``/proc/PID/fd``), which are read again only when
  the set of listening sockets or the members of a tree changed since the last round.

Elsewhere (macOS) psutil does the same with one scan of the process table per round.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import psutil

from tuirunner.groups import proc_children, proc_stat

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp's "st" column
MB = 1024 * 1024


@dataclass(frozen=True)
class Usage:
    cpu: float | None  # percent of one CPU since the previous sample (None: no previous one)
    memory: int  # bytes resident
    ports: tuple[int, ...]  # TCP ports listened on, sorted

    def shown(self) -> tuple[int | None, int, tuple[int, ...]]:
        """As displayed: whole percent, whole MB."""
        cpu = None if self.cpu is None else round(self.cpu)
        return cpu, round(self.memory / MB), self.ports


Shown = tuple[int | None, int | None, tuple[int, ...] | None]  # cpu %, MB, ports, as displayed

CPU_STEP = 2  # percentage points
MEMORY_STEP = 2  # MB, or MEMORY_SHARE of the value shown, whichever is more
MEMORY_SHARE = 0.05


def noticeable(old: Shown, new: Shown) -> bool:
    """Whether *new* values differ from those shown enough to repaint them: a new port, or a
    value appearing or going, always; CPU and memory only by a step, so that a shell loop
    whose tree grows by a ``sleep`` now and then does not repaint its header every sample."""
    (cpu, memory, ports), (new_cpu, new_memory, new_ports) = old, new
    if ports != new_ports or (cpu is None) != (new_cpu is None):
        return True
    if (memory is None) != (new_memory is None):
        return True
    if cpu is not None and new_cpu is not None and abs(new_cpu - cpu) >= CPU_STEP:
        return True
    if memory is not None and new_memory is not None:
        return abs(new_memory - memory) >= max(MEMORY_STEP, memory * MEMORY_SHARE)
    return False


class Sampler:
    """Samples process trees by their leader's pid. Keeps what it needs from one round to the
    next (the previous CPU times, which sockets each tree holds)."""

    def __init__(self) -> None:
        self.linux = sys.platform.startswith("linux") and os.path.exists("/proc/self/stat")
        self._cpu: dict[int, tuple[float, float]] = {}  # leader -> (monotonic, cpu seconds)
        # leader -> (the listening sockets when its ports were looked for, the ports)
        self._sockets: dict[int, tuple[frozenset[int], tuple[int, ...]]] = {}
        self._uid = str(os.getuid())
        self._netlink = self.linux

    def sample(self, leaders: list[int]) -> dict[int, Usage]:
        """The usage of each tree (by leader pid); a leader that is gone is left out."""
        now = time.monotonic()
        listening = self._listening() if self.linux else {}
        children = None if self.linux else _children_map()
        result: dict[int, Usage] = {}
        for leader in leaders:
            if children is None:
                found = self._linux_tree(leader, listening)
            else:
                found = self._psutil_tree(leader, children)
            if found is None:
                continue
            seconds, memory, ports = found
            previous = self._cpu.get(leader)
            cpu = None
            if previous is not None and now > previous[0]:
                cpu = max(0.0, (seconds - previous[1]) / (now - previous[0]) * 100)
            self._cpu[leader] = (now, seconds)
            result[leader] = Usage(cpu, memory, ports)
        for gone in set(self._cpu) - set(leaders):
            del self._cpu[gone]
            self._sockets.pop(gone, None)
        return result

    # --- Linux ----------------------------------------------------------------------------------

    def _listening(self) -> dict[int, int]:
        """Socket inode -> port, for the TCP sockets of this user that listen."""
        if self._netlink:
            try:
                return _listening_netlink(int(self._uid))
            except OSError:  # no netlink here (a sandbox): /proc/net/tcp says it too
                self._netlink = False
        found: dict[int, int] = {}
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                with open(table, "rb") as f:
                    lines = f.read().decode("ascii", "replace").splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                fields = line.split()
                # sl local rem st tx:rx tr:when retrnsmt uid timeout inode
                if len(fields) > 9 and fields[3] == LISTEN and fields[7] == self._uid:
                    with contextlib.suppress(ValueError):
                        found[int(fields[9])] = int(fields[1].rpartition(":")[2], 16)
        return found

    def _linux_tree(
        self, leader: int, listening: dict[int, int]
    ) -> tuple[float, int, tuple[int, ...]] | None:
        members: list[int] = []
        ticks = 0
        pages = 0
        todo = [leader]
        while todo:
            pid = todo.pop()
            # After the command: state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17)
            # … num_threads(20) … rss(24); field n is fields[n - 3].
            fields = proc_stat(str(pid), 22)
            if fields is None:
                if pid == leader:
                    return None
                continue
            try:
                ticks += sum(int(x) for x in fields[11:15])
                pages += int(fields[21])
                threads = int(fields[17])
            except ValueError:
                continue
            members.append(pid)
            todo.extend(proc_children(pid, threads))
        return ticks / CLOCK_TICKS, pages * PAGE_SIZE, self._ports(leader, members, listening)

    def _ports(self, leader: int, members: list[int], listening: dict[int, int]) -> tuple[int, ...]:
        """The ports the tree's processes listen on. Each process's file descriptors are looked
        at again only when the user's listening sockets changed: a socket that starts listening
        is a new one, and a tree whose members come and go (a shell loop's ``sleep``, every
        second) would otherwise have every new member's descriptors read every round."""
        key = frozenset(listening)
        cached = self._sockets.get(leader)
        if cached is not None and cached[0] == key:
            return cached[1]
        ports: set[int] = set()
        if listening:
            for pid in members:
                for inode in _socket_inodes(pid):
                    if inode in listening:
                        ports.add(listening[inode])
        result = tuple(sorted(ports))
        self._sockets[leader] = (key, result)
        return result

    # --- elsewhere ------------------------------------------------------------------------------

    def _psutil_tree(
        self, leader: int, children: dict[int, list[int]]
    ) -> tuple[float, int, tuple[int, ...]] | None:
        if not psutil.pid_exists(leader):
            return None
        pids = [leader]
        for pid in pids:  # grows as it goes: a walk of the tree
            pids.extend(children.get(pid, ()))
        tree = []
        for pid in pids:
            with contextlib.suppress(psutil.Error):
                tree.append(psutil.Process(pid))
        seconds = 0.0
        memory = 0
        ports: set[int] = set()
        for p in tree:
            with contextlib.suppress(psutil.Error):
                with p.oneshot():
                    times = p.cpu_times()
                    seconds += times.user + times.system + times.children_user
                    seconds += times.children_system
                    memory += p.memory_info().rss
                for conn in p.net_connections(kind="tcp"):
                    if conn.status == psutil.CONN_LISTEN and conn.laddr:
                        ports.add(conn.laddr.port)
        return seconds, memory, tuple(sorted(ports))


# netlink sock_diag (linux/sock_diag.h, linux/inet_diag.h)
_NETLINK_SOCK_DIAG = 4
_SOCK_DIAG_BY_FAMILY = 20
_NLM_F_REQUEST_DUMP = 0x1 | 0x300
_NLMSG_ERROR = 2
_NLMSG_DONE = 3
_TCP_LISTEN = 10
_HEADER = struct.Struct("=IHHII")  # nlmsghdr: len, type, flags, seq, pid
# inet_diag_req_v2: family, protocol, ext, pad, states, and a zero inet_diag_sockid (48 bytes)
_REQUEST = struct.Struct("=BBBBI48x")


def _listening_netlink(uid: int) -> dict[int, int]:
    """Socket inode -> port of the listening TCP sockets (IPv4 and IPv6) of *uid*."""
    found: dict[int, int] = {}
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, _NETLINK_SOCK_DIAG) as sock:
        sock.settimeout(1.0)
        for seq, family in enumerate((socket.AF_INET, socket.AF_INET6), 1):
            request = _REQUEST.pack(family, socket.IPPROTO_TCP, 0, 0, 1 << _TCP_LISTEN)
            header = _HEADER.pack(
                _HEADER.size + len(request), _SOCK_DIAG_BY_FAMILY, _NLM_F_REQUEST_DUMP, seq, 0
            )
            sock.send(header + request)
            done = False
            while not done:
                data = sock.recv(65536)
                if not data:
                    break
                offset = 0
                while offset + _HEADER.size <= len(data):
                    length, kind, _flags, _seq, _pid = _HEADER.unpack_from(data, offset)
                    if kind == _NLMSG_DONE or length < _HEADER.size:
                        done = True
                        break
                    if kind == _NLMSG_ERROR:
                        raise OSError("sock_diag refused the request")
                    # inet_diag_msg: family, state, timer, retrans (4 bytes), inet_diag_sockid
                    # (sport first, big-endian), expires, rqueue, wqueue, uid, inode.
                    body = offset + _HEADER.size
                    (port,) = struct.unpack_from(">H", data, body + 4)
                    owner, inode = struct.unpack_from("=II", data, body + 64)
                    if owner == uid:
                        found[inode] = port
                    offset += (length + 3) & ~3
    return found


def _children_map() -> dict[int, list[int]]:
    """Parent pid -> child pids, from one scan of the process table (psutil)."""
    children: dict[int, list[int]] = {}
    for p in psutil.process_iter(["ppid"]):
        ppid = p.info.get("ppid")
        if ppid is not None:
            children.setdefault(ppid, []).append(p.pid)
    return children


def _socket_inodes(pid: int) -> list[int]:
    inodes = []
    fd_dir = f"/proc/{pid}/fd"
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(f"{fd_dir}/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            with contextlib.suppress(ValueError):
                inodes.append(int(target[8:-1]))
    return inodes


def sample_round(
    sampler: Sampler, processes: Iterable[Any], changed: Callable[[Any], None]
) -> None:
    """One sampling round: CPU, memory and listening ports of the tree of every running process
    among *processes* (:class:`~tuirunner.events.ProcessInfo` with ``running``), put in their
    ``cpu``, ``memory`` and ``ports``; *changed(process)* for those whose values, as shown,
    changed enough to matter (see :func:`noticeable`)."""
    running = {p.pid: p for p in processes if p.pid is not None and p.running}
    usage = sampler.sample(list(running))
    for pid, proc in running.items():
        found = usage.get(pid)
        values = (None, None, None) if found is None else found.shown()
        if noticeable((proc.cpu, proc.memory, proc.ports), values):
            proc.cpu, proc.memory, proc.ports = values
            changed(proc)
