"""The supervisor: owns the processes, spawns, stops and restarts them, and emits events.

It runs inside the keeper (see :mod:`tuirunner.keeper`), on its asyncio loop, and knows nothing
of sockets or screens: the keeper subscribes to its events and forwards them to the clients.

Each instance runs ``/bin/sh -c COMMAND`` on its own pseudo-terminal, in its own session and
process group (:mod:`tuirunner.spawn`). Its output is read here, straight from the PTY, into a
bounded :class:`~tuirunner.output.OutputBuffer`; the loop never waits for a client, so a chatty
child is never slowed by a screen. Stopping sends SIGTERM to the whole **process group**, waits
``timeout`` seconds, then SIGKILLs the group: grandchildren such as runserver's autoreloader go
with it, and a child that ignores SIGTERM cannot hang the run. Children that leave the group
(``setsid``) are found by the run's marker in their environment, or, at the end of a run, as
the keeper's remaining descendants (it is a subreaper, so they re-parent to it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import select
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

import psutil

from tuirunner import groups
from tuirunner.environment import RUN_ID_VARIABLE, EnvChange, Environment
from tuirunner.events import (
    Event,
    ExitStatus,
    Notice,
    OutputEnded,
    ProcessInfo,
    ProcessOutput,
    RunnerLine,
    State,
    StateChanged,
)
from tuirunner.output import DEFAULT_SCROLLBACK, OutputBuffer
from tuirunner.procfile import Instance
from tuirunner.project import DEFAULT_TIMEOUT
from tuirunner.spawn import DEFAULT_WINDOW, Reaper, set_window_size, spawn_on_pty

log = logging.getLogger(__name__)

READ_SIZE = 65536
MAX_READS = 16  # reads per wake-up, so that one flooding process cannot starve the others
# A PTY read returns at most ~4 KiB (the line discipline's buffer), and a flooding process is
# read a few lines at a time: a wake-up each, most of the CPU a flood costs. While output flows
# (the last wake-up was less than FLOWING ago), a wake-up that brought less than SMALL_READ ends
# with a nap of READ_PAUSE, so that the next one finds a fuller buffer. The nap blocks the loop,
# on purpose: leaving the terminal unread for longer (a timer's millisecond) lets the output
# back up in the kernel, which slows the writer down by a fifth; a nap this short does not.
SMALL_READ = 2048
SHORT_READ = 1024  # a read this short emptied the terminal
READ_PAUSE = 0.0003
FLOWING = 0.01
EOF_TIMEOUT = 2.0  # after the process group is gone, wait this long for its last output


class ManagedProcess(ProcessInfo):
    """One instance of a Procfile type, across its restarts: its snapshot (ProcessInfo) plus
    what the keeper holds of it."""

    def __init__(
        self,
        instance: Instance,
        scrollback: int = DEFAULT_SCROLLBACK,
        window: tuple[int, int] = DEFAULT_WINDOW,
    ):
        super().__init__(
            name=instance.name,
            type=instance.type.name,
            number=instance.number,
            command=instance.command,
            port=instance.port,
        )
        self.instance = instance
        self.buffer = OutputBuffer(scrollback)
        self.environment: Environment | None = None  # what the running process got
        self.window = window
        self._fd: int | None = None  # the PTY master: output, input and window size
        self._reading = False
        self._last_read = 0.0  # monotonic time of the last wake-up that read its terminal
        self._eof = asyncio.Event()
        self._exit: asyncio.Future[int] | None = None
        self._input: list[bytes] = []
        self._input_task: asyncio.Task | None = None
        self._watch_task: asyncio.Task | None = None
        self._stop_requested = False
        self._terminated = asyncio.Event()  # set once a requested stop has killed the group
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"<ManagedProcess {self.name} {self.state.value} pid={self.pid}>"

    @property
    def running(self) -> bool:
        """Its leader has been spawned and not reaped yet."""
        return self._exit is not None and not self._exit.done()


def _write_all(fd: int, data: bytes, patience: float = 30.0) -> None:
    """Write all of *data* to *fd* (non-blocking), waiting up to *patience* seconds for a child
    that reads slowly; then close *fd*, a duplicate the caller gave us."""
    deadline = time.monotonic() + patience
    try:
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return
                select.select([], [fd], [], 0.5)
    finally:
        os.close(fd)


Listener = Callable[[Event], None]


class Supervisor:
    """Runs the instances of a formation.

    *reaper* collects exit statuses (one per process: it owns SIGCHLD). *subreaper*: this
    process is a child subreaper, so every descendant it has at the end of the run belongs to
    the run, whatever its process group or environment.
    """

    def __init__(
        self,
        instances: Iterable[Instance],
        environment: Environment,
        app_root: Path | str = ".",
        timeout: float = DEFAULT_TIMEOUT,
        scrollback: int = DEFAULT_SCROLLBACK,
        shell: str = "/bin/sh",
        reaper: Reaper | None = None,
        subreaper: bool = False,
        window: tuple[int, int] = DEFAULT_WINDOW,
    ):
        self.processes = [ManagedProcess(i, scrollback, window) for i in instances]
        self._by_name = {p.name: p for p in self.processes}
        self.index = {p: i for i, p in enumerate(self.processes)}  # position, on the wire
        self.app_root = Path(app_root)
        self.timeout = timeout
        self.scrollback = scrollback
        self.shell = shell
        self.subreaper = subreaper
        self.shutting_down = False
        self.run_id = uuid.uuid4().hex[:16]
        # Every environment a process was started with stays available (clients show it).
        self.env_version = 1
        self.envs: dict[int, Environment] = {1: environment}
        self._reaper = reaper
        self._listeners: list[Listener] = []

    @property
    def reaper(self) -> Reaper:
        if self._reaper is None:
            self._reaper = Reaper(asyncio.get_running_loop(), reap_all=self.subreaper)
        return self._reaper

    # --- observation ---------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _emit(self, event: Event) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken front end must not break supervision
                log.exception("listener failed on %r", event)

    def _set_state(self, proc: ManagedProcess, state: State) -> None:
        old = proc.state
        if old is state:
            return
        proc.state = state
        self._emit(StateChanged(proc, old, state))

    def _runner_line(self, proc: ManagedProcess, text: str) -> None:
        proc.buffer.append_line(text)
        self._emit(RunnerLine(proc, text))

    def get(self, name: str) -> ManagedProcess:
        return self._by_name[name]

    def __iter__(self):
        return iter(self.processes)

    def select(self, names: Iterable[str]) -> list[ManagedProcess]:
        """``web`` means every web instance, ``web.1`` one; unknown names raise KeyError."""
        chosen: dict[str, ManagedProcess] = {}
        for name in names:
            found = [p for p in self.processes if name in (p.name, p.type)]
            if not found:
                raise KeyError(name)
            chosen.update((p.name, p) for p in found)
        return [p for p in self.processes if p.name in chosen]

    @property
    def any_alive(self) -> bool:
        return any(p.state.alive for p in self.processes)

    # --- environment ---------------------------------------------------------------------------

    @property
    def environment(self) -> Environment:
        """The environment a process started now gets (before its own variables)."""
        return self.envs[self.env_version]

    def environment_for(self, proc: ManagedProcess) -> Environment:
        """What *proc* gets when started now."""
        return self.environment.for_process(proc.name, proc.port, self.run_id)

    def set_environment(self, environment: Environment) -> EnvChange:
        """Start new processes with *environment*; forget versions no process uses any more."""
        change = self.environment.diff(environment)
        if not change and environment.warnings == self.environment.warnings:
            return change
        self.env_version += 1
        self.envs[self.env_version] = environment
        used = {p.env_version for p in self.processes} | {self.env_version}
        for version in list(self.envs):
            if version not in used:
                del self.envs[version]
        return change

    def stale_processes(self) -> list[ManagedProcess]:
        """Running processes whose environment differs from what a restart would give them."""
        stale = []
        for proc in self.processes:
            alive = proc.state.alive and proc.environment is not None
            if alive and proc.environment.diff(self.environment_for(proc)):
                stale.append(proc)
        return stale

    # --- control -------------------------------------------------------------------------------

    async def start(self, name: str) -> None:
        proc = self.get(name)
        async with proc._lock:
            if not proc.state.alive and not self.shutting_down:
                self._spawn(proc)

    async def stop(self, name: str) -> None:
        proc = self.get(name)
        async with proc._lock:
            await self._stop(proc, State.STOPPING)

    async def restart(self, name: str) -> None:
        proc = self.get(name)
        async with proc._lock:
            if self.shutting_down:
                return
            await self._stop(proc, State.RESTARTING)
            if self.shutting_down:  # a quit came during the restart: stay stopped
                self._set_state(proc, State.STOPPED)
            else:
                self._spawn(proc)

    def start_all(self) -> None:
        """Start every process that is not running (spawning is quick: no waiting)."""
        for proc in self.processes:
            if not proc.state.alive and not self.shutting_down and not proc._lock.locked():
                self._spawn(proc)

    async def restart_all(self) -> None:
        await asyncio.gather(*(self.restart(p.name) for p in self.processes))

    async def stop_all(self, final: bool = True) -> None:
        """Stop everything, in parallel, so that the whole stop takes about one timeout.

        *final*: the run is ending, nothing may start again, and every process the run left
        (children that left their group) goes too. Else processes can be started again
        afterwards, as the UI's "Stop all" does."""
        if not final:
            await asyncio.gather(*(self.stop(p.name) for p in self.processes))
            return
        self.shutting_down = True
        deadline = time.monotonic() + self.timeout
        loop = asyncio.get_running_loop()
        # Children that already left their group get SIGTERM with everyone else.
        early = await loop.run_in_executor(None, self._strays)
        groups.kill(early, signal.SIGTERM)
        await asyncio.gather(*(self.stop(p.name) for p in self.processes))
        await self._stop_strays(None, deadline)

    def kill_all_now(self) -> None:
        """SIGKILL every process group at once, and every process that left its group: the
        forced quit, and the last-resort cleanup."""
        self.shutting_down = True
        for proc in self.processes:
            if proc.pid is not None and proc.running:
                proc._stop_requested = True
                strays = groups.outside_group(groups.descendants(proc.pid), proc.pid)
                if groups.signal_group(proc.pid, signal.SIGKILL):
                    proc.forced = True
                    self._emit(Notice(proc, f"sending SIGKILL to {proc.name} (pid {proc.pid})"))
                groups.kill(strays)
                proc._terminated.set()
        groups.kill(self._strays())

    def write(self, name: str, data: bytes) -> bool:
        """Type *data* into the process's terminal. False if it is not running.

        The write happens in a thread: a child that does not read its input must not freeze the
        runner.
        """
        proc = self.get(name)
        if proc._fd is None or not proc.state.alive:
            return False
        proc._input.append(data)
        if proc._input_task is None or proc._input_task.done():
            proc._input_task = asyncio.get_running_loop().create_task(self._pump_input(proc))
        return True

    async def _pump_input(self, proc: ManagedProcess) -> None:
        loop = asyncio.get_running_loop()
        while proc._input and proc._fd is not None:
            data = b"".join(proc._input)
            proc._input.clear()
            try:
                # The thread writes through its own duplicate: the supervisor may close the
                # master meanwhile, and its number may be reused for another file.
                await loop.run_in_executor(None, _write_all, os.dup(proc._fd), data)
            except OSError:
                proc._input.clear()
                return

    def set_window_size(self, name: str, columns: int, rows: int) -> None:
        proc = self.get(name)
        size = (max(columns, 1), max(rows, 1))
        if proc.window == size:
            return
        proc.window = size
        if proc._fd is not None:
            with contextlib.suppress(OSError):
                set_window_size(proc._fd, *size)

    # --- internals -----------------------------------------------------------------------------

    def _spawn(self, proc: ManagedProcess) -> None:
        environment = self.environment_for(proc)
        try:
            spawned = spawn_on_pty(
                [self.shell, "-c", proc.command], environment.as_dict(), self.app_root, proc.window
            )
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            proc.error = f"cannot start: {getattr(exc, 'strerror', None) or exc}"
            proc.exit = ExitStatus(returncode=127)
            proc.ended_at = time.time()
            self._runner_line(proc, f"tuirunner: {proc.name}: {proc.error}")
            self._emit(Notice(proc, f"{proc.name} {proc.error}"))
            self._set_state(proc, State.FAILED)
            return
        proc._exit = self.reaper.wait(spawned.pid)
        if proc.start_count:
            self._runner_line(
                proc, f"\x1b[2m── {proc.name} restarted (pid {spawned.pid}) ──\x1b[0m"
            )
        proc._fd = spawned.master
        proc._eof = asyncio.Event()
        proc._stop_requested = False
        proc._terminated = asyncio.Event()
        proc.pid = spawned.pid
        proc.started_at = time.time()
        proc.ended_at = None
        proc.exit = None
        proc.error = None
        proc.forced = False
        proc.start_count += 1
        proc.environment = environment
        proc.env_version = self.env_version
        self._add_reader(proc)
        self._set_state(proc, State.RUNNING)
        proc._watch_task = asyncio.create_task(self._watch(proc), name=f"watch {proc.name}")

    # Reading the terminal. A wake-up reads until the PTY is empty (at most MAX_READS times);
    # after a small harvest while output flows, it naps for READ_PAUSE (see SMALL_READ).

    def _add_reader(self, proc: ManagedProcess) -> None:
        if proc._fd is not None and not proc._reading:
            asyncio.get_running_loop().add_reader(proc._fd, self._on_readable, proc)
            proc._reading = True

    def _remove_reader(self, proc: ManagedProcess) -> None:
        if proc._fd is not None and proc._reading:
            asyncio.get_running_loop().remove_reader(proc._fd)
        proc._reading = False

    def _on_readable(self, proc: ManagedProcess) -> None:
        fd = proc._fd
        if fd is None:
            return
        chunks = []
        size = 0
        eof = False
        for _ in range(MAX_READS):
            try:
                data = os.read(fd, READ_SIZE)
            except BlockingIOError:
                break
            except OSError:  # EIO: every holder of the terminal's slave side has closed it
                data = b""
            if not data:
                eof = True
                break
            chunks.append(data)
            size += len(data)
            if len(data) < SHORT_READ:
                break  # the terminal is most likely empty: no need to hear it say so
        if chunks:
            data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            self._emit(ProcessOutput(proc, proc.buffer.feed(data), data))
        if eof:
            self._remove_reader(proc)
            proc._eof.set()
            return
        now = time.monotonic()
        flowing = now - proc._last_read < FLOWING
        proc._last_read = now
        if flowing and size < SMALL_READ:
            time.sleep(READ_PAUSE)

    async def _finish_output(self, proc: ManagedProcess) -> None:
        """After the process group is gone: read the rest of its output, then close up."""
        if not proc._eof.is_set() and not proc._reading:
            self._add_reader(proc)  # it may be pausing: do not wait for the timer
        # If something outside the group still holds the terminal, stop waiting for it.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc._eof.wait(), EOF_TIMEOUT)
        if not proc._eof.is_set() and proc._fd is not None:
            self._on_readable(proc)  # whatever is left
        self._remove_reader(proc)
        master, proc._fd = proc._fd, None
        if master is not None:
            with contextlib.suppress(OSError):
                os.close(master)
        last = proc.buffer.finish()
        self._emit(OutputEnded(proc, last))

    async def _watch(self, proc: ManagedProcess) -> None:
        assert proc._exit is not None and proc.pid is not None
        returncode = await proc._exit
        pgid = proc.pid
        if proc._stop_requested:
            # The stop in progress owns the group: wait until it is gone (or killed), so that
            # the output of a lingering grandchild is still read and the state stays "stopping".
            await proc._terminated.wait()
        elif groups.group_alive(pgid) and groups.GroupWatch(pgid).alive(leader_done=True):
            # The shell ended but left children behind (``cmd &``): they go too.
            await self._terminate_group(proc, pgid, leftovers=True)
        elif not self.shutting_down:
            await self._stop_strays(proc)  # children it detached from its group (setsid)
        await self._finish_output(proc)
        proc.exit = ExitStatus.from_returncode(returncode)
        proc.ended_at = time.time()
        proc.pid = None
        if proc._stop_requested:
            self._set_state(proc, State.STOPPED if proc.state is State.STOPPING else proc.state)
        else:
            self._set_state(proc, State.EXITED)

    async def _stop(self, proc: ManagedProcess, state: State) -> None:
        task = proc._watch_task
        if proc.pid is None or task is None or task.done():
            return
        proc._stop_requested = True
        self._set_state(proc, state)
        try:
            await self._terminate_group(proc, proc.pid)
        finally:
            proc._terminated.set()
        # A restart stays "restarting" (not "stopped") until the new process runs.
        await task

    async def _terminate_group(self, proc: ManagedProcess, pgid: int, leftovers: bool = False):
        """SIGTERM the group, wait up to the timeout, then SIGKILL it."""
        loop = asyncio.get_running_loop()
        tree = await loop.run_in_executor(None, groups.descendants, pgid)
        strays = groups.outside_group(tree, pgid)
        group = groups.GroupWatch(pgid)
        what = f"the leftover processes of {proc.name}" if leftovers else proc.name
        if groups.signal_group(pgid, signal.SIGTERM):
            self._emit(Notice(proc, f"sending SIGTERM to {what} (pid {pgid})"))
        if not await self._wait_gone(proc, group, self.timeout):
            if groups.signal_group(pgid, signal.SIGKILL):
                proc.forced = True
                self._emit(Notice(proc, f"sending SIGKILL to {what} (pid {pgid})"))
            await self._wait_gone(proc, group, 5.0)
        groups.kill(strays)  # children that left the group (setsid), found when the stop began
        if not self.shutting_down:  # stop_all looks for what is left once, for all
            await self._stop_strays(proc)

    def _strays(self, proc: ManagedProcess | None = None) -> list[psutil.Process]:
        """Live processes the run left outside its process groups: of *proc* (found by the
        run's marker in their environment), or of any process (None): then, in a subreaper,
        every descendant not in a group of a running process."""
        if proc is None and self.subreaper:
            leaders = {p.pid for p in self.processes if p.pid is not None and p.running}
            found = []
            for p in groups.descendants(os.getpid()):
                with contextlib.suppress(OSError, psutil.Error):
                    if os.getpgid(p.pid) not in leaders:
                        found.append(p)
            return found
        within = os.getpid() if self.subreaper else None
        name = None if proc is None else proc.name
        return groups.marked(self.run_id, RUN_ID_VARIABLE, name, within=within)

    async def _stop_strays(
        self, proc: ManagedProcess | None, deadline: float | None = None
    ) -> None:
        """SIGTERM the processes *proc* (or, for None, the run) left behind outside its group,
        then SIGKILL those still alive at *deadline* (default: one timeout from now)."""
        loop = asyncio.get_running_loop()
        strays = await loop.run_in_executor(None, self._strays, proc)
        if not strays:
            return
        whose = "the processes" if proc is None else proc.name
        self._emit(Notice(proc, f"stopping {len(strays)} process(es) {whose} left behind"))
        groups.kill(strays, signal.SIGTERM)
        if deadline is None:
            deadline = time.monotonic() + self.timeout
        wait = max(0.0, deadline - time.monotonic())
        _, alive = await loop.run_in_executor(None, psutil.wait_procs, strays, wait)
        groups.kill(alive)

    async def _wait_gone(
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
            if not group.alive(leader_done=leader is None or leader.done()):
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)
