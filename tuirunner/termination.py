"""Stopping process groups, and the processes that left them.

Stopping sends the process's stop signal (SIGTERM by default) to its whole **process group**,
waits its ``timeout``, then SIGKILLs the group: grandchildren such as runserver's autoreloader go
with it, and a child that ignores its stop signal cannot hang the run. Children that leave the
group (``setsid``) are found by the run's marker in their environment, or, at the end of a run,
as the keeper's remaining descendants (it is a subreaper, so they re-parent to it).

*Which* processes stop and in what order is the policy's (:mod:`tuirunner.policy`); this module
only signals and waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

import psutil

from tuirunner import groups
from tuirunner.environment import RUN_ID_VARIABLE
from tuirunner.events import Notice, NoticeKind

if TYPE_CHECKING:
    from tuirunner.supervisor import ManagedProcess

KILL_WAIT = 5.0  # after SIGKILL, wait this long for the group to be gone
GATHER = 0.005  # seconds a look at the process table waits for more stops to share it, when
# another look is under way (a single stop does not wait)
INLINE = 0.002  # a look that last took less is made on the loop itself when it is alone (a
# restart): in a thread, a 1 ms look took the restart 4-6 ms (the GIL passed to and fro)


class Census:
    """One scan (*scan*, run in a thread) shared by every caller that asks before it starts:
    the 1,000 stops of a ``down`` look at the process table once, not once each. A caller
    always gets a scan that began after it asked. A lone caller gets a quick scan at once, on
    the loop (see INLINE)."""

    def __init__(self, scan: Callable[[], object]):
        self.scan = scan
        self._next: asyncio.Future | None = None
        self._running = 0  # scans under way
        self._took = 0.0  # seconds the last scan took

    def _timed_scan(self):
        started = time.perf_counter()
        try:
            return self.scan()
        finally:
            self._took = time.perf_counter() - started

    async def get(self, alone: bool = False):
        """The scan; *alone*: no other stop is under way that could share it."""
        if alone and self._next is None and not self._running and self._took < INLINE:
            return self._timed_scan()
        if self._next is None:
            loop = asyncio.get_running_loop()
            self._next = loop.create_future()
            if self._running:  # a burst of stops: the next scan waits GATHER for company
                loop.call_later(GATHER, self._start, self._next)
            else:  # one stop (a restart): no waiting
                loop.call_soon(self._start, self._next)
        return await asyncio.shield(self._next)

    def _start(self, future: asyncio.Future) -> None:
        self._next = None
        self._running += 1
        scan = asyncio.get_running_loop().run_in_executor(None, self._timed_scan)

        def done(task: asyncio.Future) -> None:
            self._running -= 1
            if future.done():
                return
            if task.exception() is not None:
                future.set_exception(task.exception())  # type: ignore[arg-type]
            else:
                future.set_result(task.result())

        scan.add_done_callback(done)


class Terminator:
    """Stops the groups of *processes* and the strays of the run *run_id*; *notify* tells what
    it does (Notice events), *stop_timeout* gives a process's timeout."""

    def __init__(
        self,
        processes: Sequence[ManagedProcess],
        run_id: str,
        subreaper: bool,
        notify: Callable[[Notice], None],
        stop_timeout: Callable[[ManagedProcess], float],
        ending: Callable[[], bool],
    ):
        self.processes = processes
        self.run_id = run_id
        self.subreaper = subreaper
        self.notify = notify
        self.stop_timeout = stop_timeout
        self.ending = ending  # the run ends: strays are looked for once, for all, at the end
        self.table = Census(groups.Snapshot)
        self.marks = Census(self._marked)
        self._stops = 0  # stops under way (terminate_group, stop_strays_of)

    def _marked(
        self, table: groups.Snapshot | None = None
    ) -> dict[str | None, list[psutil.Process]]:
        """The live processes carrying the run's marker, by the name in their ``PS``. In a
        subreaper, only descendants in no running process's group are looked at (the others
        stop with their group): usually none, so no environment is read (a restart waited
        ~7 ms for reading them all). *table*: the look to use (see :meth:`_left`)."""
        candidates = None
        if self.subreaper:
            table = table or groups.Snapshot()
            candidates = table.descendants(os.getpid(), outside=self._leaders())
        by_name: dict[str | None, list[psutil.Process]] = {}
        found = groups.marked(self.run_id, RUN_ID_VARIABLE, None, named=True, candidates=candidates)
        for p in found:
            by_name.setdefault(p.info_ps, []).append(p)  # type: ignore[attr-defined]
        return by_name

    async def terminate_group(
        self, proc: ManagedProcess, pgid: int, leftovers: bool = False
    ) -> None:
        """Send the process's stop signal to the group, wait up to its timeout, then SIGKILL
        it."""
        self._stops += 1
        try:
            await self._terminate_group(proc, pgid, leftovers)
        finally:
            self._stops -= 1

    async def _terminate_group(self, proc: ManagedProcess, pgid: int, leftovers: bool) -> None:
        # The look for children that left the group runs while the signal does its work (a
        # restart need not wait for a scan first); those it misses are found by the run's
        # marker (stop_strays, below) or, at the end of a run, by stop_all's last look.
        strays_soon = asyncio.ensure_future(self._strays_of_group(pgid))
        group = groups.GroupWatch(pgid)
        what = f"the leftover processes of {proc.name}" if leftovers else proc.name
        sig = proc.settings.stop_signal
        sent, proc._signalled = proc._signalled == pgid, None  # sent, and said: signal_at_once
        if not sent and groups.signal_group(pgid, sig):
            self._said_sent(proc, sig, what, pgid)
        try:
            if not await self.wait_gone(proc, group, self.stop_timeout(proc)):
                if groups.signal_group(pgid, signal.SIGKILL):
                    proc.forced, proc.forced_after = True, self.stop_timeout(proc)
                    self.notify(
                        Notice(proc, f"sending SIGKILL to {what} (pid {pgid})", NoticeKind.KILLED)
                    )
                await self.wait_gone(proc, group, KILL_WAIT)
        except BaseException:
            strays_soon.cancel()
            raise
        groups.kill(await strays_soon)  # children that left the group (setsid)
        if not self.ending():  # stop_all looks for what is left once, for all
            await self.stop_strays(proc, time.monotonic() + self.stop_timeout(proc))

    def signal_at_once(self, processes: Iterable[ManagedProcess]) -> None:
        """Send each running process that is not being started, stopped or restarted its stop
        signal now, in one loop, ahead of what a stop does first for each (events, timers: with
        1,000 processes, they spread the signals over a second); then say so for each. Its
        :meth:`terminate_group` then waits, and sends none again."""
        sent = []
        for proc in processes:
            pid = proc.pid
            idle = pid is not None and proc.running and not proc._lock.locked()
            if idle and groups.signal_group(pid, proc.settings.stop_signal):
                proc._signalled = pid
                sent.append((proc, pid))
        for proc, pid in sent:  # said once every signal is on its way
            self._said_sent(proc, proc.settings.stop_signal, proc.name, pid)

    def _said_sent(self, proc: ManagedProcess, sig: signal.Signals, what: str, pgid: int) -> None:
        self.notify(Notice(proc, f"sending {sig.name} to {what} (pid {pgid})"))

    async def _strays_of_group(self, pgid: int) -> list[psutil.Process]:
        table = self._tree([pgid]) or await self.table.get(self._alone())
        return table.strays(pgid)  # at once: a pid seen in the scan must not be reused yet

    def _tree(self, roots: list[int], skip: Iterable[int] = ()) -> groups.Snapshot | None:
        """A single stop's look (a restart): only the trees under *roots*, read at once on the
        loop (a few processes, however many the machine runs). None where the kernel does not
        list children, or while other stops are under way: they share full scans (Census)."""
        if self._alone() and groups.children_files():
            return groups.Snapshot(roots, skip)
        return None

    def _left(self) -> groups.Snapshot | None:
        """:meth:`_tree` of what stopped processes may have left: in a subreaper, whatever
        survives a process whose leader is gone re-parents to the keeper, so it is found under
        the keeper's children that lead no running process (a process in a running one's
        session cannot be in another's group)."""
        return self._tree([os.getpid()], self._leaders()) if self.subreaper else None

    def strays(self, proc: ManagedProcess | None = None) -> list[psutil.Process]:
        """Live processes the run left outside its process groups: of *proc* (found by the
        run's marker in their environment), or of any process (None): then every descendant
        (in a subreaper) or marked process not in the group of a running process."""
        within = os.getpid() if self.subreaper else None
        if proc is not None:
            return groups.marked(self.run_id, RUN_ID_VARIABLE, proc.name, within=within)
        # Members of a running process's group are not strays: they stop with their group, in
        # the stop order.
        leaders = self._leaders()
        if self.subreaper:  # one pass over the process table, whatever the number of groups
            candidates = groups.Snapshot().descendants(os.getpid(), outside=leaders)
        else:
            candidates = groups.marked(self.run_id, RUN_ID_VARIABLE, None)
        found = []
        for p in candidates:
            with contextlib.suppress(OSError, psutil.Error):
                if os.getpgid(p.pid) not in leaders:
                    found.append(p)
        return found

    def _leaders(self) -> set[int]:
        """The process groups of the running processes (each leads its own)."""
        return {p.pid for p in self.processes if p.pid is not None and p.running}

    async def stop_strays(self, proc: ManagedProcess | None, deadline: float) -> None:
        """Send the stop signal to the processes *proc* (or, for None, the run) left behind
        outside its group, then SIGKILL those still alive at *deadline* (time.monotonic())."""
        loop = asyncio.get_running_loop()
        if proc is None:
            strays = await loop.run_in_executor(None, self.strays, proc)
        elif (table := self._left()) is not None:  # a restart
            strays = self._marked(table).get(proc.name, [])
        else:  # stops at once share one look (see Census)
            strays = (await self.marks.get(self._alone())).get(proc.name, [])
        if not strays:
            return
        whose = "the processes" if proc is None else proc.name
        self.notify(Notice(proc, f"stopping {len(strays)} process(es) {whose} left behind"))
        groups.kill(strays, signal.SIGTERM if proc is None else proc.settings.stop_signal)
        wait = max(0.0, deadline - time.monotonic())
        _, alive = await loop.run_in_executor(None, psutil.wait_procs, strays, wait)
        groups.kill(alive)

    async def stop_strays_of(self, proc: ManagedProcess) -> None:
        """:meth:`stop_strays` of *proc*, with its own timeout."""
        self._stops += 1
        try:
            await self.stop_strays(proc, time.monotonic() + self.stop_timeout(proc))
        finally:
            self._stops -= 1

    def _alone(self) -> bool:
        """Whether a single stop is under way (a restart): its looks at the process table need
        not wait for company (see Census)."""
        return self._stops == 1

    async def wait_gone(
        self, proc: ManagedProcess, group: groups.GroupWatch, timeout: float
    ) -> bool:
        """Wait until the leader has exited and no live member of its group is left."""
        deadline = time.monotonic() + timeout
        leader = proc._exit
        if leader is not None and not leader.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(leader), timeout)
        delay = 0.005
        while True:
            if not await self._group_alive(group, leader_done=leader is None or leader.done()):
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)

    async def _group_alive(self, group: groups.GroupWatch, leader_done: bool) -> bool:
        """:meth:`groups.GroupWatch.alive`, with the scan of the process table shared by all
        the stops that need one at the same time (1,000 groups whose leader exited, each with
        a zombie or a member left, scanned once, not once each)."""
        if not leader_done:
            return True
        if not groups.group_alive(group.pgid):
            return False
        if group.known_alive():
            return True
        table = self._left() or await self.table.get(self._alone())
        group.members = table.members(group.pgid)
        return bool(group.members)

    def kill_all_now(self) -> None:
        """SIGKILL every process group at once, and every process that left its group."""
        for proc in self.processes:
            if proc.pid is not None and proc.running:
                proc._stop_requested = True
                strays = groups.outside_group(groups.descendants(proc.pid), proc.pid)
                if groups.signal_group(proc.pid, signal.SIGKILL):
                    proc.forced, proc.forced_after = True, None  # at once: not the timeout
                    self.notify(
                        Notice(
                            proc,
                            f"sending SIGKILL to {proc.name} (pid {proc.pid})",
                            NoticeKind.KILLED,
                        )
                    )
                groups.kill(strays)
                proc._terminated.set()
        groups.kill(self.strays())
