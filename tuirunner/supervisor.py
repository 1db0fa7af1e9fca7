"""The supervisor: owns the processes, carries out the policy's decisions, and emits events.

It runs inside the keeper (see :mod:`tuirunner.keeper`), on its asyncio loop, and knows nothing
of sockets or screens: the keeper subscribes to its events and forwards them to the clients.

Each instance runs ``/bin/sh -c COMMAND`` on its own pseudo-terminal, in its own session and
process group (:mod:`tuirunner.spawn`). Its terminal is read by :mod:`tuirunner.ptys` into a
bounded :class:`~tuirunner.output.OutputBuffer`; the loop never waits for a client, so a chatty
child is never slowed by a screen.

*When* a process starts, restarts, waits or stops, and in what order, is decided by
:class:`~tuirunner.policy.Policy` on plain data (dependencies, ready checks, autorestart and
backoff, what a start, stop or restart by hand means); this module carries its actions out:
spawning, timers, ready checks (:mod:`tuirunner.readiness`), log files (:mod:`tuirunner.logfile`),
stopping groups and strays (:mod:`tuirunner.termination`), resource sampling
(:mod:`tuirunner.resources`). A stop of several processes stops the dependents first; unrelated
processes stop in parallel, each with its own ``stop_signal`` and ``timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path

from tuirunner import groups, readiness
from tuirunner.environment import EnvChange, Environment, process_layers
from tuirunner.events import (
    Event,
    ExitStatus,
    InfoChanged,
    Notice,
    OutputEnded,
    ProcessOutput,
    RunnerLine,
    State,
    StateChanged,
)
from tuirunner.logfile import LogFile, LogWriter, started_line
from tuirunner.options import DEFAULT_TIMEOUT
from tuirunner.output import DEFAULT_SCROLLBACK, OutputBuffer, strip_ansi
from tuirunner.policy import (
    Action,
    ArmRestart,
    CancelRestart,
    Changed,
    Member,
    Policy,
    Reconsider,
    Restart,
    SetState,
    Spawn,
)
from tuirunner.procfile import Instance
from tuirunner.project import process_envs
from tuirunner.ptys import Ptys, Terminal
from tuirunner.resources import Sampler, sample_round
from tuirunner.settings import ProcessSettings, Settings
from tuirunner.spawn import DEFAULT_WINDOW, Reaper, spawn_on_pty
from tuirunner.termination import Terminator

log = logging.getLogger(__name__)

EOF_TIMEOUT = 2.0  # after the process group is gone, wait this long for its last output


class ManagedProcess(Member):
    """One instance of a Procfile type, across its restarts: its snapshot and policy data
    (:class:`~tuirunner.policy.Member`) plus what the keeper holds of it."""

    def __init__(
        self,
        instance: Instance,
        scrollback: int = DEFAULT_SCROLLBACK,
        window: tuple[int, int] = DEFAULT_WINDOW,
        settings: ProcessSettings | None = None,
    ):
        settings = settings or ProcessSettings()
        super().__init__(
            name=instance.name,
            type=instance.type.name,
            number=instance.number,
            command=instance.command,
            port=instance.port,
            oneshot=settings.oneshot,
            settings=settings,
        )
        self.instance = instance
        self._retry: asyncio.TimerHandle | None = None  # the automatic restart to come
        self._ready_task: asyncio.Task | None = None
        self._log_check: re.Pattern[str] | None = None  # a ``log`` ready check not passed yet
        self.log: LogFile | None = None
        self.buffer = OutputBuffer(scrollback)
        self.environment: Environment | None = None  # what the running process got
        self.window = window
        self.terminal: Terminal | None = None  # output, input and window size
        self._exit: asyncio.Future[int] | None = None
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


Listener = Callable[[Event], None]


class Supervisor:
    """Runs the instances of a formation, with the policy of *settings*.

    *reaper* collects exit statuses (one per process: it owns SIGCHLD). *subreaper*: this
    process is a child subreaper, so every descendant it has at the end of the run belongs to
    the run, whatever its process group or environment. *ptys* reads the children's terminals
    (the keeper's; by default one of its own).
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
        settings: Settings | None = None,
        ptys: Ptys | None = None,
    ):
        self.settings = settings or Settings()
        self.processes = [
            ManagedProcess(i, scrollback, window, self.settings.process(i.type.name))
            for i in instances
        ]
        self._by_name = {p.name: p for p in self.processes}
        self.index = {p: i for i, p in enumerate(self.processes)}  # position, on the wire
        self.policy = Policy(self.settings, self.processes, timeout)
        self.app_root = Path(app_root)
        self.timeout = timeout
        self.scrollback = scrollback
        self.shell = shell
        self.subreaper = subreaper
        self.run_id = os.urandom(8).hex()
        self.ptys = ptys or Ptys()
        # Every environment a process was started with stays available (clients show it).
        self.env_version = 1
        self.envs: dict[int, Environment] = {1: self._with_settings_env(environment)}
        self._reaper = reaper
        self._listeners: list[Listener] = []
        self._tasks: set[asyncio.Task] = set()  # restarts of its own (watch, dependencies)
        self._stopping: dict[ManagedProcess, asyncio.Event] = {}  # set when its stop is over
        self.logs: LogWriter | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.sampler = Sampler()
        self.sampled_at: float | None = None  # time.monotonic() of the last sampling round
        self.terminator = Terminator(
            self.processes,
            self.run_id,
            subreaper,
            self._emit,
            self.stop_timeout,
            lambda: self.policy.shutting_down,
        )
        self.checks = readiness.Checks(
            self.app_root,
            shell,
            lambda: self.reaper,
            self.settle,
            self._became_ready,
            self._not_ready,
        )

    @property
    def reaper(self) -> Reaper:
        if self._reaper is None:
            self._reaper = Reaper(asyncio.get_running_loop(), reap_all=self.subreaper)
        return self._reaper

    @property
    def shutting_down(self) -> bool:
        """The run is ending: nothing starts any more."""
        return self.policy.shutting_down

    def stop_timeout(self, proc: ManagedProcess) -> float:
        """Seconds between its stop signal and SIGKILL: its own ``timeout``, or the run's."""
        return self.policy.stop_timeout(proc)

    @property
    def longest_stop(self) -> float:
        """The longest a stop of any one process may take before SIGKILL (the guard waits as
        long for what the keeper leaves behind)."""
        return self.policy.longest_stop

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
        """Enter *state* (or, if it is the current one, tell that the rest changed), and let the
        processes that depend on *proc* reconsider."""
        old = proc.state
        if old is state:
            self._info_changed(proc)
            return
        proc.state = state
        self._emit(StateChanged(proc, old, state))
        self._run(self.policy.dependents_changed(proc))

    def _info_changed(self, proc: ManagedProcess) -> None:
        self._emit(InfoChanged(proc))
        self._run(self.policy.dependents_changed(proc))

    def _runner_line(self, proc: ManagedProcess, text: str) -> None:
        self.settle(proc)  # after the output read before it
        proc.buffer.append_line(text)
        self._emit(RunnerLine(proc, text))
        if proc.log is not None:
            proc.log.write(strip_ansi(text) + "\n")

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

    def _with_settings_env(self, environment: Environment) -> Environment:
        """*environment* with the ``env`` of each process type's settings (an environment
        loaded by the project has them already)."""
        if environment.processes:
            return environment
        layers = process_layers(process_envs(self.settings, self.app_root))
        return Environment(environment.variables, environment.warnings, layers)

    def set_environment(self, environment: Environment) -> EnvChange:
        """Start new processes with *environment*; forget versions no process uses any more."""
        environment = self._with_settings_env(environment)
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

    @contextlib.asynccontextmanager
    async def _hold(self, proc: ManagedProcess) -> AsyncIterator[None]:
        """One start, stop or restart of *proc* at a time (``busy`` while it lasts)."""
        async with proc._lock:
            proc.busy = True
            try:
                yield
            finally:
                proc.busy = False

    async def start(self, name: str) -> None:
        """Start it, once its dependencies allow. A start by hand resets the backoff."""
        proc = self.get(name)
        async with self._hold(proc):
            self._run(self.policy.start(proc))

    async def stop(self, name: str) -> None:
        """Stop it; it is not restarted automatically, nor started when its dependencies are
        ready, until it is started again. Stops requested together (``stop_all``, a stop of
        several names) go in reverse dependency order: a process gets its stop signal once the
        ones depending on it that are being stopped too are gone."""
        proc = self.get(name)
        mine = proc not in self._stopping
        over = self._stopping.setdefault(proc, asyncio.Event())
        try:
            await asyncio.sleep(0)  # the other stops of the same request are known by then
            while waits := self.policy.stop_waits_for(proc, list(self._stopping)):
                await self._stopping[waits[0]].wait()  # type: ignore[index]
            async with self._hold(proc):
                self._run(self.policy.stop(proc))
                if proc.live:
                    await self._stop(proc, State.STOPPING)
        finally:
            if mine:
                over.set()
                self._stopping.pop(proc, None)

    async def restart(self, name: str, reason: str | None = None) -> None:
        """Stop it and start it again, once its dependencies allow. *reason*: why tuirunner
        restarts it by itself (``models.py changed``); a restart by hand (None) resets the
        backoff."""
        proc = self.get(name)
        async with self._hold(proc):
            actions = self.policy.restart(proc, reason)
            if actions is None:
                return
            self._run(actions)
            await self._stop(proc, State.RESTARTING)
            self._run(self.policy.restarted(proc))

    def start_all(self) -> None:
        """Start every process that is not running (or about to), dependencies first; those
        whose dependencies are not there yet wait for them."""
        for proc in self.policy.start_order():
            self._run(self.policy.start_all(proc))

    async def restart_all(self) -> None:
        await asyncio.gather(*(self.restart(p.name) for p in self.processes))

    async def stop_all(self, final: bool = True) -> None:
        """Stop everything, dependents first (see :meth:`stop`), unrelated processes in
        parallel.

        *final*: the run is ending, nothing may start again, and every process the run left
        (children that left their group) goes too. Else processes can be started again
        afterwards, as the UI's "Stop all" does."""
        if not final:
            await asyncio.gather(*(self.stop(p.name) for p in self.processes))
            return
        self._run(self.policy.shut_down())
        budget = max(self.longest_stop, self.policy.stop_budget(self.processes))
        deadline = time.monotonic() + budget
        loop = asyncio.get_running_loop()
        # Children that already left their group get SIGTERM with everyone else.
        early = await loop.run_in_executor(None, self.terminator.strays)
        groups.kill(early, signal.SIGTERM)
        await asyncio.gather(*(self.stop(p.name) for p in self.processes))
        await self.terminator.stop_strays(None, deadline)

    def kill_all_now(self) -> None:
        """SIGKILL every process group at once, and every process that left its group: the
        forced quit, and the last-resort cleanup."""
        self._run(self.policy.shut_down())
        for proc in self.processes:
            self.checks.cancel(proc)
        self.terminator.kill_all_now()

    def close(self) -> None:
        """Write what the log files still have pending (blocks up to a few seconds: call it in
        a thread)."""
        if self.logs is not None:
            self.logs.close()

    def files_changed(self, paths: Iterable[str]) -> list[ManagedProcess]:
        """Restart the processes that ``watch`` any of *paths* (relative to the app root, ``/``
        separated); the processes restarted. Processes stopped by hand, or waiting for their
        dependencies, are left alone."""
        chosen = self.policy.files_changed(paths)
        for proc, reason in chosen:
            self._task(self.restart(proc.name, reason=reason))
        return [proc for proc, _ in chosen]  # type: ignore[misc]

    def _task(self, coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def write(self, name: str, data: bytes) -> bool:
        """Type *data* into the process's terminal (in a thread: a child that does not read
        its input must not freeze the runner). False if it is not running."""
        proc = self.get(name)
        if proc.terminal is None or not proc.state.alive:
            return False
        return proc.terminal.write(data)

    def set_window_size(self, name: str, columns: int, rows: int) -> None:
        proc = self.get(name)
        size = (max(columns, 1), max(rows, 1))
        if proc.window == size:
            return
        proc.window = size
        if proc.terminal is not None:
            proc.terminal.resize(*size)

    def sample_resources(self) -> None:
        """One sampling round (see :func:`tuirunner.resources.sample_round`)."""
        sample_round(self.sampler, self.processes, lambda p: self._emit(InfoChanged(p)))
        self.sampled_at = time.monotonic()

    def forget_resources(self) -> None:
        """Nobody shows them any more: drop the values (without telling: nobody listens)."""
        for proc in self.processes:
            proc.cpu = proc.memory = proc.ports = None
        self.sampled_at = None

    # --- carrying the policy's actions out -----------------------------------------------------

    def _run(self, actions: Iterable[Action]) -> None:
        for action in actions:
            proc = action.member
            assert isinstance(proc, ManagedProcess)
            if isinstance(action, Spawn):
                self._spawn(proc)
            elif isinstance(action, SetState):
                self._set_state(proc, action.state)
            elif isinstance(action, Changed):
                self._info_changed(proc)
            elif isinstance(action, Reconsider):
                self._run(self.policy.reconsider(proc))
            elif isinstance(action, ArmRestart):
                loop = asyncio.get_running_loop()
                proc._retry = loop.call_later(action.delay, self._restart_due, proc)
            elif isinstance(action, CancelRestart):
                if proc._retry is not None:
                    proc._retry.cancel()
                    proc._retry = None
            elif isinstance(action, Restart):
                self._task(self.restart(proc.name, reason=action.reason))

    def _restart_due(self, proc: ManagedProcess) -> None:
        proc._retry = None
        before = (proc.state, proc.start_count)
        self._run(self.policy.restart_due(proc))
        if (proc.state, proc.start_count) == before:
            self._info_changed(proc)  # next_start_at is gone, at least

    def _became_ready(self, proc: ManagedProcess) -> None:
        proc._log_check = None
        proc.ready = True
        proc.ready_error = None
        self._set_state(proc, State.RUNNING)  # from STARTING; else: InfoChanged

    def _not_ready(self, proc: ManagedProcess, why: str) -> None:
        proc._log_check = None
        proc.ready_error = why
        self._runner_line(proc, f"tuirunner: {proc.name} is not ready: {why}")
        self._set_state(proc, State.RUNNING)  # it runs, not ready: its dependents are blocked

    def _log_error(self, proc: ManagedProcess, message: str) -> None:
        """A log file could not be written (in the writer's thread)."""
        if self._loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody to tell
            self._loop.call_soon_threadsafe(self._emit, Notice(proc, f"{proc.name}: {message}"))

    def _open_log(self, proc: ManagedProcess) -> None:
        ps = proc.settings
        if ps.log_file is None or proc.log is not None:
            return
        if self.logs is None:
            self.logs = LogWriter()
            self._loop = asyncio.get_running_loop()
        siblings = len(self.policy.by_type[proc.type])
        proc.log = self.logs.open(
            self.app_root / ps.log_file,
            ps.log_max_bytes,
            ps.log_backups,
            prefix=f"{proc.name} | " if siblings > 1 else "",
            on_error=lambda message: self._log_error(proc, message),
        )

    def _spawn(self, proc: ManagedProcess) -> None:
        environment = self.environment_for(proc)
        reason, proc.start_reason = proc.start_reason, None
        self._open_log(proc)
        reaper = self.reaper  # its SIGCHLD handler must be there before the child can exit
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
            self._run(self.policy.spawn_failed(proc, proc.ended_at))
            return
        proc._exit = reaper.wait(spawned.pid)
        if proc.start_count:
            why = f": {reason}" if reason else ""
            self._runner_line(
                proc, f"\x1b[2m── {proc.name} restarted (pid {spawned.pid}){why} ──\x1b[0m"
            )
        if proc.log is not None:
            proc.log.write(started_line(proc.name, spawned.pid))
        proc._stop_requested = False
        proc._terminated = asyncio.Event()
        proc.pid = proc.last_pid = spawned.pid
        proc.started_at = time.time()
        proc.ended_at = None
        proc.exit = None
        proc.error = None
        proc.forced = False
        proc.start_count += 1
        proc.started_because = reason
        proc.environment = environment
        proc.env_version = self.env_version
        checked = proc.settings.ready is not None
        proc.ready = False if checked else None
        proc.ready_error = None
        proc.cpu = proc.memory = proc.ports = None
        proc.terminal = self.ptys.open(spawned.master, lambda data: self._feed(proc, data))
        if checked:
            self.checks.start(proc, environment.as_dict())
        proc.live = True
        proc._watch_task = asyncio.create_task(self._watch(proc), name=f"watch {proc.name}")
        self._set_state(proc, State.STARTING if checked else State.RUNNING)
        self._run(self.policy.started(proc))

    def _feed(self, proc: ManagedProcess, data: bytes) -> None:
        """What its terminal gave (a batch): into the buffer, the log file, the events."""
        lines = proc.buffer.feed(data)
        # The output goes out before what it causes (a log line's ready check passing): a
        # client's copy of the buffer then never gets it twice.
        self._emit(ProcessOutput(proc, lines, data))
        if proc.log is not None:
            proc.log.write(data)
        if proc._log_check is not None:
            self.checks.match(proc, lines)

    def settle(self, proc: ManagedProcess | None = None) -> None:
        """Bring the buffer of *proc* (of every process by default) up to what was read."""
        for p in self.processes if proc is None else (proc,):
            if p.terminal is not None:
                p.terminal.settle()

    async def _finish_output(self, proc: ManagedProcess) -> None:
        """After the process group is gone: read the rest of its output, then close up."""
        if proc.terminal is not None:
            await proc.terminal.finish(EOF_TIMEOUT)
        proc.terminal = None
        last = proc.buffer.finish()
        if proc.log is not None:
            proc.log.finish()
        self._emit(OutputEnded(proc, last))

    async def _watch(self, proc: ManagedProcess) -> None:
        assert proc._exit is not None and proc.pid is not None
        try:
            returncode = await proc._exit
            self.checks.cancel(proc)  # whatever its leftovers do, it is not becoming ready now
            pgid = proc.pid
            if proc._stop_requested:
                # The stop in progress owns the group: wait until it is gone (or killed), so
                # that the output of a lingering grandchild is still read and the state stays
                # "stopping".
                await proc._terminated.wait()
            elif groups.group_alive(pgid) and groups.GroupWatch(pgid).alive(leader_done=True):
                # The shell ended but left children behind (``cmd &``): they go too.
                await self.terminator.terminate_group(proc, pgid, leftovers=True)
            elif not self.shutting_down:
                await self.terminator.stop_strays_of(proc)  # children it detached (setsid)
            await self._finish_output(proc)
            proc.exit = ExitStatus.from_returncode(returncode)
            proc.ended_at = time.time()
            proc.pid = None
            proc.ready = None if proc.settings.ready is None else False
            proc.ready_error = None
            proc.cpu = proc.memory = proc.ports = None
            ran = proc.ended_at - (proc.started_at or proc.ended_at)
            self._run(self.policy.ended(proc, ran, proc.ended_at, proc._stop_requested))
        finally:
            proc.live = False

    async def _stop(self, proc: ManagedProcess, state: State) -> None:
        task = proc._watch_task
        if proc.pid is None or task is None or task.done():
            return
        proc._stop_requested = True
        self.checks.cancel(proc)
        self._set_state(proc, state)
        try:
            await self.terminator.terminate_group(proc, proc.pid)
        finally:
            proc._terminated.set()
        # A restart stays "restarting" (not "stopped") until the new process runs.
        await task
