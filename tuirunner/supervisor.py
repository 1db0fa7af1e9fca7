"""The supervisor: owns the processes, carries out the policy's decisions, and emits events.

It runs inside the keeper (see :mod:`tuirunner.keeper`), on its asyncio loop, and knows nothing
of sockets or screens: the keeper subscribes to its events and forwards them to the clients.

Each instance runs ``/bin/sh -c COMMAND`` on its own pseudo-terminal, in its own session and
process group (:mod:`tuirunner.spawn`). Its terminal is read by :mod:`tuirunner.ptys` into a
bounded :class:`~tuirunner.output.OutputBuffer`; the loop never waits for a client, so a chatty
child is never slowed by a screen.

*When* a process starts, restarts, waits or stops, and in what order, is decided by
:class:`~tuirunner.policy.Policy` on plain data (dependencies, ready checks, autorestart and
backoff, what a start, stop or restart by hand means); the supervisor is the control API over
it, and carries its actions out (:mod:`tuirunner.lifecycle`: spawning, timers, a process's end),
with ready checks (:mod:`tuirunner.readiness`), log files (:mod:`tuirunner.logfile`), stopping
groups and strays (:mod:`tuirunner.termination`) and resource sampling
(:mod:`tuirunner.resources`). A stop of several processes stops the dependents first; unrelated
processes stop in parallel, each with its own ``stop_signal`` and ``timeout``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from tuirunner import groups, health, readiness
from tuirunner.djangowatch import DjangoWatch
from tuirunner.environment import EnvChange, Environment, layered_diff, process_layers
from tuirunner.events import (
    Event,
    InfoChanged,
    State,
)
from tuirunner.lifecycle import Lifecycle, ManagedProcess, held
from tuirunner.names import resolve
from tuirunner.options import DEFAULT_TIMEOUT
from tuirunner.output import DEFAULT_SCROLLBACK
from tuirunner.policy import (
    Policy,
)
from tuirunner.procfile import Instance
from tuirunner.project import process_envs
from tuirunner.ptys import Ptys
from tuirunner.resources import Sampler, sample_round
from tuirunner.settings import Settings
from tuirunner.spawn import DEFAULT_WINDOW, Reaper
from tuirunner.termination import Terminator

log = logging.getLogger(__name__)

__all__ = ["ManagedProcess", "Supervisor"]

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
        self._stopping: dict[ManagedProcess, asyncio.Event] = {}  # set when its stop is over
        self.life = Lifecycle(self)
        self.sampler = Sampler()
        self.sampled_at: float | None = None  # time.monotonic() of the last sampling round
        self.terminator = Terminator(
            self.processes,
            self.run_id,
            subreaper,
            self._emit,
            lambda proc: self.policy.stop_timeout(proc),
            lambda: self.policy.shutting_down,
        )
        self.django = DjangoWatch(self)  # unapplied migrations (issue 20)
        self.subscribe(self.django.on_event)
        self.checks = readiness.Checks(
            self.app_root,
            shell,
            lambda: self.reaper,
            self.settle,
            self.life.became_ready,
            self.life.not_ready,
            self.life.ready_trying,
        )
        self.health = health.Health(
            self.app_root,
            shell,
            lambda: self.reaper,
            self.environment_for,
            self.life.health_changed,
        )
        self.checks.say = self.life.runner_line

    @property
    def reaper(self) -> Reaper:
        if self._reaper is None:
            self._reaper = Reaper(asyncio.get_running_loop(), reap_all=self.subreaper)
        return self._reaper

    @property
    def shutting_down(self) -> bool:
        """The run is ending: nothing starts any more."""
        return self.policy.shutting_down

    @property
    def longest_stop(self) -> float:
        """The longest a stop of one process may take before SIGKILL (the guard waits as long)."""
        return self.policy.longest_stop

    @property
    def stop_budget(self) -> float:
        """The longest a stop of the whole run may take: dependents stop first, so a chain of
        dependencies adds its timeouts up (what a front end waits for the run to end)."""
        return max(self.longest_stop, self.policy.stop_budget(self.processes))

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

    def get(self, name: str) -> ManagedProcess:
        return self._by_name[name]

    def __iter__(self):
        return iter(self.processes)

    def select(self, names: Iterable[str]) -> list[ManagedProcess]:
        """``web`` means every web instance, ``web.1`` one; unknown names raise KeyError."""
        chosen = set(resolve(names, [p.name for p in self.processes], self.settings.groups))
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
        """What *proc* gets when started now (port variables: of each type's first instance)."""
        firsts = [members[0] for members in self.policy.by_type.values() if members]
        return self.environment.for_instance(proc, firsts, self.run_id, cwd=str(self.app_root))

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
        change = layered_diff(self.environment, environment)
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
        async with held(proc):
            self.life.run(self.policy.start(proc))

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
            async with held(proc):
                self.life.run(self.policy.stop(proc))
                if proc.live:
                    await self.life.stop(proc, State.STOPPING)
        finally:
            if mine:
                over.set()
                self._stopping.pop(proc, None)

    async def restart(self, name: str, reason: str | None = None) -> None:
        """Stop it and start it again, once its dependencies allow. *reason*: why tuirunner
        restarts it by itself (``models.py changed``); a restart by hand (None) resets the
        backoff."""
        proc = self.get(name)
        async with held(proc):
            actions = self.policy.restart(proc, reason)
            if actions is None:
                return
            self.life.run(actions)
            await self.life.stop(proc, State.RESTARTING)
            self.life.run(self.policy.restarted(proc))

    def start_all(self) -> None:
        """Start every process that is not running (or about to), dependencies first; those
        whose dependencies are not there yet wait for them."""
        for proc in self.policy.start_order():
            self.life.run(self.policy.start_all(proc))

    async def restart_all(self, procs: list[ManagedProcess]) -> None:
        """Restart *procs* together: each starts once its dependencies' new runs allow."""
        self.policy.restarts_begin(procs)
        await asyncio.gather(*(self.restart(p.name) for p in procs))

    async def stop_all(self, final: bool = True) -> None:
        """Stop everything, dependents first (see :meth:`stop`), unrelated ones in parallel.
        *final*: the run is ending, nothing may start again, and every process the run left
        (children that left their group) goes too. Else processes can be started again
        afterwards, as the UI's "Stop all" does."""
        if not final:
            await asyncio.gather(*(self.stop(p.name) for p in self.processes))
            return
        self.life.run(self.policy.shut_down())
        deadline = time.monotonic() + self.stop_budget
        self.terminator.signal_at_once(self.policy.signal_first(self.processes))
        loop = asyncio.get_running_loop()
        # Children that left their group get SIGTERM too (the scan does not hold up the stop).
        scan = loop.run_in_executor(None, self.terminator.strays)
        stops = asyncio.gather(*(self.stop(p.name) for p in self.processes))
        groups.kill(await scan, signal.SIGTERM)
        await stops
        await self.terminator.stop_strays(None, deadline)

    def kill_all_now(self) -> None:
        """SIGKILL every process group at once, and every process that left its group: the
        forced quit, and the last-resort cleanup."""
        self.life.run(self.policy.shut_down())
        for proc in self.processes:
            self.checks.cancel(proc)
            self.health.cancel(proc)
        self.terminator.kill_all_now()

    def close(self) -> None:
        """Write what the log files still have pending (blocks up to a few seconds: call it in
        a thread)."""
        if self.life.logs is not None:
            self.life.logs.close()

    def files_changed(self, paths: Iterable[str]) -> list[ManagedProcess]:
        """Restart the processes that ``watch`` any of *paths* (relative to the app root, ``/``
        separated); the processes restarted. Processes stopped by hand, or waiting for their
        dependencies, are left alone."""
        chosen = self.policy.files_changed(paths)
        for proc, reason in chosen:
            self.life.task(self.restart(proc.name, reason=reason))
        return [proc for proc, _ in chosen]  # type: ignore[misc]

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

    def settle(self, proc: ManagedProcess | None = None) -> None:
        """Bring the buffer of *proc* (of every process by default) up to what was read."""
        for p in self.processes if proc is None else (proc,):
            if p.terminal is not None:
                p.terminal.settle()
