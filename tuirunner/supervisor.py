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

The settings' policy of each process type (:class:`~tuirunner.settings.ProcessSettings`) is
applied here:

- **Order.** A process that should run (started, and not stopped by hand since) starts only
  once its ``depends_on`` conditions hold (``started``, ``ready``, ``completed``); meanwhile it
  is ``PENDING`` with ``waiting_for`` set, or, when a dependency failed for good, with
  ``blocked``. Every state change of a process re-examines the processes waiting for it.
  Dependencies on a type that is not in the run (concurrency 0) are ignored.
- **Readiness.** A process with a ready check is ``STARTING`` until it passes (``RUNNING``,
  ``ready``), or until its timeout (``RUNNING``, not ready, ``ready_error``).
- **Automatic restarts.** When a process ends on its own and ``autorestart`` says so, it is
  started again after a backoff delay (``next_start_at``); ``failures`` counts the restarts in a
  row. A manual start or restart resets that, a manual stop cancels it.
- **Stopping** uses the process's ``stop_signal`` and ``timeout``; **log_file** gets its output.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import re
import select
import signal
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import psutil

from tuirunner import groups, readiness
from tuirunner.environment import RUN_ID_VARIABLE, EnvChange, Environment, process_layers
from tuirunner.events import (
    Event,
    ExitStatus,
    InfoChanged,
    Notice,
    OutputEnded,
    ProcessInfo,
    ProcessOutput,
    RunnerLine,
    State,
    StateChanged,
)
from tuirunner.logfile import LogFile, LogWriter, started_line
from tuirunner.options import DEFAULT_TIMEOUT
from tuirunner.output import DEFAULT_SCROLLBACK, OutputBuffer, strip_ansi
from tuirunner.procfile import Instance
from tuirunner.project import process_envs
from tuirunner.resources import Sampler, noticeable
from tuirunner.settings import (
    AutoRestart,
    Condition,
    Dependency,
    ProcessSettings,
    ReadyKind,
    Settings,
)
from tuirunner.spawn import DEFAULT_WINDOW, Reaper, set_window_size, spawn_on_pty

log = logging.getLogger(__name__)

READ_SIZE = 65536
MAX_READS = 16  # reads per wake-up, so that one flooding process cannot starve the others
# A PTY read returns at most ~4 KiB (the line discipline's buffer), and a process printing line
# by line is read a line or two at a time: a wake-up each, most of the CPU such a flood costs.
# While output flows (this wake-up came less than FLOWING after the last one ended), a wake-up
# that brought less than SMALL_READ ends with a nap of READ_PAUSE, so that the next one finds a
# fuller buffer. The nap blocks the loop, on purpose: leaving the terminal unread for longer (a
# timer's millisecond) lets the output back up in the kernel, which slows the writer down by a
# fifth; a nap this short does not. FLOWING is short so that a writer of big blocks, whose
# output arrives in bursts with a small read at the end of each, is not made to wait.
SMALL_READ = 512
SHORT_READ = 1024  # a read this short emptied the terminal
READ_PAUSE = 0.0003
FLOWING = 0.0002
# Small harvests while output flows go into the buffer, the log file and the clients in batches,
# every FEED_BATCH, which saves a line-by-line flood most of the per-wake-up work; a big harvest,
# or one after a quiet spell, is handled at once (with what waits before it).
FEED_BATCH = 0.002
EOF_TIMEOUT = 2.0  # after the process group is gone, wait this long for its last output
READY_ATTEMPT_TIMEOUT = 10.0  # at most this long for one http or port attempt of a ready check


class ManagedProcess(ProcessInfo):
    """One instance of a Procfile type, across its restarts: its snapshot (ProcessInfo) plus
    what the keeper holds of it."""

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
        )
        self.instance = instance
        self.settings = settings
        # Should it run? Set by a start or restart, cleared by a stop by hand: a process that
        # is wanted starts once its dependencies allow, and is restarted as autorestart says.
        self.wanted = False
        self.delays: collections.deque[float] = collections.deque(maxlen=100)  # backoff, seconds
        self._retry: asyncio.TimerHandle | None = None  # the automatic restart to come
        self._start_reason: str | None = None  # for the next start (``models.py changed``)
        self._ready_task: asyncio.Task | None = None
        self._log_check: re.Pattern[str] | None = None  # a ``log`` ready check not passed yet
        self.log: LogFile | None = None
        self.buffer = OutputBuffer(scrollback)
        self.environment: Environment | None = None  # what the running process got
        self.window = window
        self._fd: int | None = None  # the PTY master: output, input and window size
        self._reading = False
        self._last_read = 0.0  # monotonic time the last wake-up that read its terminal ended
        self._unfed: list[bytes] = []  # read while output flows, for the next batch (FEED_BATCH)
        self._feed_timer: asyncio.TimerHandle | None = None
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


def _current_task() -> asyncio.Task | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no loop running (kill_all_now at the very end)
        return None


class Supervisor:
    """Runs the instances of a formation, with the policy of *settings*.

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
        settings: Settings | None = None,
    ):
        self.settings = settings or Settings()
        self.processes = [
            ManagedProcess(i, scrollback, window, self.settings.process(i.type.name))
            for i in instances
        ]
        self._by_name = {p.name: p for p in self.processes}
        self._by_type: dict[str, list[ManagedProcess]] = {}
        for proc in self.processes:
            self._by_type.setdefault(proc.type, []).append(proc)
        self.index = {p: i for i, p in enumerate(self.processes)}  # position, on the wire
        self.app_root = Path(app_root)
        self.timeout = timeout
        self.scrollback = scrollback
        self.shell = shell
        self.subreaper = subreaper
        self.shutting_down = False
        self.run_id = os.urandom(8).hex()
        # Every environment a process was started with stays available (clients show it).
        self.env_version = 1
        self.envs: dict[int, Environment] = {1: self._with_settings_env(environment)}
        self._reaper = reaper
        self._listeners: list[Listener] = []
        self._tasks: set[asyncio.Task] = set()  # restarts of its own (watch, dependencies)
        self.logs: LogWriter | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.sampler = Sampler()
        self.sampled_at: float | None = None  # time.monotonic() of the last sampling round

    @property
    def reaper(self) -> Reaper:
        if self._reaper is None:
            self._reaper = Reaper(asyncio.get_running_loop(), reap_all=self.subreaper)
        return self._reaper

    def stop_timeout(self, proc: ManagedProcess) -> float:
        """Seconds between its stop signal and SIGKILL: its own ``timeout``, or the run's."""
        own = proc.settings.timeout
        return self.timeout if own is None else own

    @property
    def longest_stop(self) -> float:
        """The longest a stop of any process may take before SIGKILL."""
        return max([self.timeout, *(self.stop_timeout(p) for p in self.processes)])

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
        self._dependents_changed(proc)

    def _info_changed(self, proc: ManagedProcess) -> None:
        self._emit(InfoChanged(proc))
        self._dependents_changed(proc)

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

    async def start(self, name: str) -> None:
        """Start it, once its dependencies allow. A start by hand resets the backoff."""
        proc = self.get(name)
        async with proc._lock:
            if self.shutting_down or proc.state.alive:
                return
            self._cancel_retry(proc)
            self._reset_failures(proc)
            proc.wanted = True
            self._try_start(proc)

    async def stop(self, name: str) -> None:
        """Stop it; it is not restarted automatically, nor started when its dependencies are
        ready, until it is started again."""
        proc = self.get(name)
        async with proc._lock:
            proc.wanted = False
            self._cancel_retry(proc)
            if proc._watch_task is not None and not proc._watch_task.done():
                await self._stop(proc, State.STOPPING)
            else:
                self._forget_plans(proc)

    async def restart(self, name: str, reason: str | None = None) -> None:
        """Stop it and start it again, once its dependencies allow. *reason*: why tuirunner
        restarts it by itself (``models.py changed``); a restart by hand (None) resets the
        backoff."""
        proc = self.get(name)
        async with proc._lock:
            if self.shutting_down:
                return
            self._cancel_retry(proc)
            if reason is None:
                self._reset_failures(proc)
            proc.wanted = True
            proc._start_reason = reason
            await self._stop(proc, State.RESTARTING)
            if self.shutting_down:  # a quit came during the restart: stay stopped
                self._set_state(proc, State.STOPPED)
            else:
                self._try_start(proc)

    def start_all(self) -> None:
        """Start every process that is not running (or about to), dependencies first; those
        whose dependencies are not there yet wait for them."""
        for proc in self._start_order():
            if not proc.active and not self.shutting_down and not proc._lock.locked():
                proc.wanted = True
                self._try_start(proc)

    def _start_order(self) -> list[ManagedProcess]:
        order = self.settings.start_order(list(self._by_type))
        return [p for name in order for p in self._by_type[name]]

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
        for proc in self.processes:
            self._cancel_retry(proc)
        deadline = time.monotonic() + self.longest_stop
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
            self._cancel_retry(proc)
            self._cancel_ready(proc)
            if proc.pid is not None and proc.running:
                proc._stop_requested = True
                strays = groups.outside_group(groups.descendants(proc.pid), proc.pid)
                if groups.signal_group(proc.pid, signal.SIGKILL):
                    proc.forced = True
                    self._emit(Notice(proc, f"sending SIGKILL to {proc.name} (pid {proc.pid})"))
                groups.kill(strays)
                proc._terminated.set()
        groups.kill(self._strays())

    def close(self) -> None:
        """Write what the log files still have pending (blocks up to a few seconds: call it in
        a thread)."""
        if self.logs is not None:
            self.logs.close()

    def files_changed(self, paths: Iterable[str]) -> list[ManagedProcess]:
        """Restart the processes that ``watch`` any of *paths* (relative to the app root, ``/``
        separated); the processes restarted. Processes stopped by hand, or waiting for their
        dependencies, are left alone."""
        paths = sorted(set(paths))
        restarted = []
        for name, procs in self._by_type.items():
            if not procs[0].settings.watch:
                continue
            matched = [path for path in paths if self.settings.watched(name, path)]
            if not matched:
                continue
            reason = f"{matched[0]} changed"
            if len(matched) > 1:
                reason = f"{matched[0]} and {len(matched) - 1} more changed"
            for proc in procs:
                if proc.wanted and proc.state is not State.PENDING:
                    self._task(self.restart(proc.name, reason=reason))
                    restarted.append(proc)
        return restarted

    def _task(self, coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

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

    # --- resources -----------------------------------------------------------------------------

    def sample_resources(self) -> None:
        """One sampling round: CPU, memory and listening ports of every running process's
        tree. InfoChanged only for the processes whose values, as shown, changed enough to
        matter (see resources.noticeable)."""
        running = {p.pid: p for p in self.processes if p.pid is not None and p.running}
        usage = self.sampler.sample(list(running))
        self.sampled_at = time.monotonic()
        for pid, proc in running.items():
            found = usage.get(pid)
            values = (None, None, None) if found is None else found.shown()
            if noticeable((proc.cpu, proc.memory, proc.ports), values):
                proc.cpu, proc.memory, proc.ports = values
                self._emit(InfoChanged(proc))

    def forget_resources(self) -> None:
        """Nobody shows them any more: drop the values (without telling: nobody listens)."""
        for proc in self.processes:
            proc.cpu = proc.memory = proc.ports = None
        self.sampled_at = None

    # --- policy --------------------------------------------------------------------------------

    def _try_start(self, proc: ManagedProcess) -> None:
        """Start *proc* if it should run and its dependencies allow; otherwise make it wait
        (PENDING), saying for what."""
        if (
            self.shutting_down
            or not proc.wanted
            or proc._retry is not None
            or proc.state in (State.STARTING, State.RUNNING, State.STOPPING)
            or (proc._watch_task is not None and not proc._watch_task.done())
        ):
            return
        blocked, waiting = self._dependencies(proc)
        if blocked is None and waiting is None:
            self._spawn(proc)
            return
        changed = (proc.blocked, proc.waiting_for) != (blocked, waiting)
        proc.blocked, proc.waiting_for = blocked, waiting
        proc.next_start_at = None
        if proc.state is not State.PENDING:
            self._set_state(proc, State.PENDING)
        elif changed:
            self._info_changed(proc)

    def _dependencies(self, proc: ManagedProcess) -> tuple[str | None, str | None]:
        """(why it cannot start, what it waits for): (None, None) when it may start now."""
        waiting = None
        for dep in proc.settings.depends_on:
            for other in self._by_type.get(dep.name, ()):  # not in the run: ignored
                ok, failure = self._condition(dep, other)
                if failure is not None:
                    return failure, None
                if not ok and waiting is None:
                    waiting = f"{other.name}: {dep.condition.value}"
        return None, waiting

    def _condition(self, dep: Dependency, other: ManagedProcess) -> tuple[bool, str | None]:
        """Whether *other* meets *dep*'s condition, and, if it never will by itself, why."""
        if other.blocked:
            return False, f"{other.name} cannot start: {other.blocked}"
        if other.next_start_at is not None or other._retry is not None:
            return False, None  # it is restarted automatically
        state = other.state
        if state is State.FAILED:
            return False, f"{other.name} {other.error or 'failed to start'}"
        if state is State.EXITED and other.exit is not None:
            if not other.exit.success:
                return False, f"{other.name} {other.exit.describe()}"
            if dep.condition is Condition.READY:
                return False, f"{other.name} exited with code 0"
            return True, None  # it started, and completed
        if dep.condition is Condition.COMPLETED:
            return False, None
        if state in (State.STARTING, State.RUNNING):
            if dep.condition is Condition.STARTED or other.ready:
                return True, None
            if other.ready_error:
                return False, f"{other.name} not ready: {other.ready_error}"
        return False, None  # not started yet, stopping, restarting, stopped by hand

    def _dependents_changed(self, proc: ManagedProcess) -> None:
        """*proc* changed: the processes waiting for it may start now, or be blocked."""
        for name in self.settings.dependents_of(proc.type):
            for other in self._by_type.get(name, ()):
                if other.state is State.PENDING and not other._lock.locked():
                    self._try_start(other)

    def _dependency_restarted(self, proc: ManagedProcess) -> None:
        """*proc* was started again: restart its running dependents that asked for it
        (``depends_on = { NAME = { restart = true } }``)."""
        for name, dep in self.settings.dependents_of(proc.type).items():
            if not dep.restart:
                continue
            for other in self._by_type.get(name, ()):
                if other.state in (State.STARTING, State.RUNNING) and not other._lock.locked():
                    self._task(self.restart(other.name, reason=f"{proc.name} restarted"))

    def _schedule_retry(self, proc: ManagedProcess, ran: float) -> None:
        """It ended on its own after *ran* seconds: plan its automatic restart, if any."""
        policy = proc.settings.autorestart
        if policy is AutoRestart.NO or self.shutting_down or not proc.wanted:
            return
        if policy is AutoRestart.ON_FAILURE and proc.exit is not None and proc.exit.success:
            self._reset_failures(proc)
            return
        backoff = proc.settings.backoff
        if ran >= backoff.reset_after:
            self._reset_failures(proc)
        now = time.time()
        if proc.failures == 0:
            proc.failing_since = now
        proc.failures += 1
        delay = backoff.delay(proc.failures)
        proc.delays.append(delay)
        proc.next_start_at = now + delay
        proc._retry = asyncio.get_running_loop().call_later(delay, self._retry_now, proc)

    def _retry_now(self, proc: ManagedProcess) -> None:
        proc._retry = None
        proc.next_start_at = None
        before = (proc.state, proc.start_count)
        if not proc._lock.locked():
            self._try_start(proc)
        if (proc.state, proc.start_count) == before:
            self._info_changed(proc)  # next_start_at is gone, at least

    def _cancel_retry(self, proc: ManagedProcess) -> None:
        if proc._retry is not None:
            proc._retry.cancel()
            proc._retry = None

    @staticmethod
    def _reset_failures(proc: ManagedProcess) -> None:
        proc.failures = 0
        proc.failing_since = None

    def _forget_plans(self, proc: ManagedProcess) -> None:
        """A stop by hand of a process that does not run: no waiting, no automatic restart."""
        planned = proc.next_start_at is not None
        proc.next_start_at = None
        if proc.state is State.PENDING and (proc.waiting_for or proc.blocked):
            proc.waiting_for = proc.blocked = None
            self._set_state(proc, State.STOPPED)
        elif planned:
            self._info_changed(proc)

    # Ready checks. A ``log`` check is matched by _on_readable as output arrives (only while it
    # has not passed: no work per line otherwise); the others are attempted every interval.

    def _start_ready_check(self, proc: ManagedProcess, environment: Environment) -> None:
        check = proc.settings.ready
        assert check is not None
        if check.kind is ReadyKind.LOG:
            proc._log_check = check.pattern
        proc._ready_task = asyncio.get_running_loop().create_task(
            self._poll_ready(proc, environment.as_dict()), name=f"ready {proc.name}"
        )

    async def _poll_ready(self, proc: ManagedProcess, env: dict[str, str]) -> None:
        check = proc.settings.ready
        assert check is not None
        deadline = time.monotonic() + check.timeout
        last = f"no line matched {check.target!r}"
        if check.kind is ReadyKind.LOG:
            await asyncio.sleep(check.timeout)  # cancelled when a line matches
            self.settle(proc)  # a line read in time but not yet matched (FEED_BATCH)
            if proc._log_check is None:
                return
        elif (wrong := readiness.invalid(check, env)) is not None:
            proc._ready_task = None  # a $VARIABLE that is not set will not be set later
            self._not_ready(proc, wrong)
            return
        else:
            while (left := deadline - time.monotonic()) > 0:
                await asyncio.sleep(min(check.interval, left))
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                # An attempt has the time left (a command all of it; a connection at most
                # READY_ATTEMPT_TIMEOUT), and at least one interval, even at the very end.
                limit = max(left, check.interval)
                if check.kind is not ReadyKind.COMMAND:
                    limit = min(limit, READY_ATTEMPT_TIMEOUT)
                result = await readiness.attempt(
                    check, env, limit, cwd=self.app_root, reaper=self.reaper, shell=self.shell
                )
                if result is None:
                    proc._ready_task = None
                    self._became_ready(proc)
                    return
                last = result
        proc._ready_task = None
        self._not_ready(proc, f"{last} (gave up after {check.timeout:g} s)")

    def _match_log(self, proc: ManagedProcess, lines: list[str]) -> None:
        pattern = proc._log_check
        assert pattern is not None
        candidates = [*lines, proc.buffer.partial] if proc.buffer.partial else lines
        if any(pattern.search(strip_ansi(line)) for line in candidates):
            self._cancel_ready(proc)
            self._became_ready(proc)

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

    def _cancel_ready(self, proc: ManagedProcess) -> None:
        proc._log_check = None
        task, proc._ready_task = proc._ready_task, None
        if task is not None and task is not _current_task():
            task.cancel()

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
        siblings = len(self._by_type[proc.type])
        proc.log = self.logs.open(
            self.app_root / ps.log_file,
            ps.log_max_bytes,
            ps.log_backups,
            prefix=f"{proc.name} | " if siblings > 1 else "",
            on_error=lambda message: self._log_error(proc, message),
        )

    # --- internals -----------------------------------------------------------------------------

    def _spawn(self, proc: ManagedProcess) -> None:
        environment = self.environment_for(proc)
        reason, proc._start_reason = proc._start_reason, None
        proc.waiting_for = proc.blocked = None
        proc.next_start_at = None
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
            self._schedule_retry(proc, ran=0.0)
            self._set_state(proc, State.FAILED)
            return
        proc._exit = reaper.wait(spawned.pid)
        if proc.start_count:
            why = f": {reason}" if reason else ""
            self._runner_line(
                proc, f"\x1b[2m── {proc.name} restarted (pid {spawned.pid}){why} ──\x1b[0m"
            )
        if proc.log is not None:
            proc.log.write(started_line(proc.name, spawned.pid))
        proc._fd = spawned.master
        proc._eof = asyncio.Event()
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
        self._add_reader(proc)
        if checked:
            self._start_ready_check(proc, environment)
        proc._watch_task = asyncio.create_task(self._watch(proc), name=f"watch {proc.name}")
        self._set_state(proc, State.STARTING if checked else State.RUNNING)
        if proc.start_count > 1:
            self._dependency_restarted(proc)

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
        flowing = time.monotonic() - proc._last_read < FLOWING
        if chunks:
            proc._unfed += chunks
            if not flowing or eof or size >= SMALL_READ:
                self._feed(proc)
            elif proc._feed_timer is None:
                proc._feed_timer = asyncio.get_running_loop().call_later(
                    FEED_BATCH, self._feed, proc
                )
        if eof:
            self._remove_reader(proc)
            proc._eof.set()
            return
        if flowing and size < SMALL_READ:
            time.sleep(READ_PAUSE)
        proc._last_read = time.monotonic()

    def _feed(self, proc: ManagedProcess) -> None:
        """What was read since the last batch: into the buffer, the log file, the events."""
        if proc._feed_timer is not None:
            proc._feed_timer.cancel()
            proc._feed_timer = None
        if not proc._unfed:
            return
        chunks, proc._unfed = proc._unfed, []
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        lines = proc.buffer.feed(data)
        # The output goes out before what it causes (a log line's ready check passing): a
        # client's copy of the buffer then never gets it twice.
        self._emit(ProcessOutput(proc, lines, data))
        if proc.log is not None:
            proc.log.write(data)
        if proc._log_check is not None:
            self._match_log(proc, lines)

    def settle(self, proc: ManagedProcess | None = None) -> None:
        """Bring the buffer of *proc* (of every process by default) up to what was read."""
        for p in self.processes if proc is None else (proc,):
            if p._unfed:
                self._feed(p)

    async def _finish_output(self, proc: ManagedProcess) -> None:
        """After the process group is gone: read the rest of its output, then close up."""
        if not proc._eof.is_set() and not proc._reading:
            self._add_reader(proc)  # it may be pausing: do not wait for the timer
        # If something outside the group still holds the terminal, stop waiting for it.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc._eof.wait(), EOF_TIMEOUT)
        if not proc._eof.is_set() and proc._fd is not None:
            self._on_readable(proc)  # whatever is left
        self.settle(proc)
        self._remove_reader(proc)
        master, proc._fd = proc._fd, None
        if master is not None:
            with contextlib.suppress(OSError):
                os.close(master)
        last = proc.buffer.finish()
        if proc.log is not None:
            proc.log.finish()
        self._emit(OutputEnded(proc, last))

    async def _watch(self, proc: ManagedProcess) -> None:
        assert proc._exit is not None and proc.pid is not None
        returncode = await proc._exit
        self._cancel_ready(proc)  # whatever its leftovers do, it is not becoming ready now
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
        proc.ready = None if proc.settings.ready is None else False
        proc.ready_error = None
        proc.cpu = proc.memory = proc.ports = None
        if proc._stop_requested:
            self._set_state(proc, State.STOPPED if proc.state is State.STOPPING else proc.state)
        else:
            ran = proc.ended_at - (proc.started_at or proc.ended_at)
            self._schedule_retry(proc, ran)
            self._set_state(proc, State.EXITED)

    async def _stop(self, proc: ManagedProcess, state: State) -> None:
        task = proc._watch_task
        if proc.pid is None or task is None or task.done():
            return
        proc._stop_requested = True
        self._cancel_ready(proc)
        self._set_state(proc, state)
        try:
            await self._terminate_group(proc, proc.pid)
        finally:
            proc._terminated.set()
        # A restart stays "restarting" (not "stopped") until the new process runs.
        await task

    async def _terminate_group(self, proc: ManagedProcess, pgid: int, leftovers: bool = False):
        """Send the process's stop signal (SIGTERM by default) to the group, wait up to its
        timeout, then SIGKILL it."""
        loop = asyncio.get_running_loop()
        tree = await loop.run_in_executor(None, groups.descendants, pgid)
        strays = groups.outside_group(tree, pgid)
        group = groups.GroupWatch(pgid)
        what = f"the leftover processes of {proc.name}" if leftovers else proc.name
        sig = proc.settings.stop_signal
        if groups.signal_group(pgid, sig):
            self._emit(Notice(proc, f"sending {sig.name} to {what} (pid {pgid})"))
        if not await self._wait_gone(proc, group, self.stop_timeout(proc)):
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
        """Send the stop signal to the processes *proc* (or, for None, the run) left behind
        outside its group, then SIGKILL those still alive at *deadline* (default: one timeout
        from now)."""
        loop = asyncio.get_running_loop()
        strays = await loop.run_in_executor(None, self._strays, proc)
        if not strays:
            return
        whose = "the processes" if proc is None else proc.name
        self._emit(Notice(proc, f"stopping {len(strays)} process(es) {whose} left behind"))
        groups.kill(strays, signal.SIGTERM if proc is None else proc.settings.stop_signal)
        if deadline is None:
            timeout = self.longest_stop if proc is None else self.stop_timeout(proc)
            deadline = time.monotonic() + timeout
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
