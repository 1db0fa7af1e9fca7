"""The supervision policy: what to do, decided on plain data, carried out by the supervisor.

Every decision of :class:`~tuirunner.supervisor.Supervisor` about *when* a process runs lives
here: what may start now given ``depends_on`` (``started``, ``ready``, ``completed``) and ready
checks, automatic restarts (``autorestart``: always, on-failure, never; oneshots), backoff growth,
its cap, its reset after a healthy run, what a start, stop or restart by hand means for a process
that waits, backs off or is blocked, the dependents restarted when a dependency restarts, and the
order of a stop (dependents first). No I/O, no asyncio, no clock of its own: the caller passes the
wall-clock time in, and gets back :data:`Action` values to carry out, in order.

A process is a :class:`Member`: its snapshot (:class:`~tuirunner.events.ProcessInfo`) plus what
the policy needs to know of the supervisor's side (``wanted``, ``restart_armed``, ``busy``,
``live``). The policy updates the member's policy fields itself (``waiting_for``, ``blocked``,
``failures``, ``next_start_at``, ...); the state changes, timers, spawns and signals it asks for.

- **Order.** A process that should run (``wanted``: started, and not stopped by hand since)
  starts only once its ``depends_on`` conditions hold; meanwhile it is ``PENDING`` with
  ``waiting_for`` set, or, when a dependency failed for good, with ``blocked``. Every state change
  of a process lets the processes waiting for it reconsider (:meth:`Policy.dependents_changed`).
  Dependencies on a type that is not in the run (concurrency 0) are ignored.
- **Automatic restarts.** When a process ends on its own and ``autorestart`` says so, it is
  started again after a backoff delay (``next_start_at``); ``failures`` counts the restarts in a
  row. A manual start or restart resets that, a manual stop cancels it.
- **Stopping.** A stop of several processes stops the dependents first: a process waits until
  the processes being stopped with it that depend on it (directly or not) are gone
  (:meth:`Policy.stop_waits_for`); unrelated ones stop in parallel. Before its stop signal
  comes its ``stop_command`` (:func:`stop_steps`), which a stop's time allows for
  (:meth:`Policy.stop_duration`).
- **Health.** A ready process that failed its ``health`` check ``failures`` times in a row is
  restarted if its ``autorestart`` restarts failed processes (:func:`unhealthy`).
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tuirunner.events import ProcessInfo, State
from tuirunner.settings import AutoRestart, Condition, Dependency, ProcessSettings, Settings


@dataclass(eq=False)
class Member(ProcessInfo):
    """One instance as the policy sees it: its snapshot plus the supervisor's side of it."""

    settings: ProcessSettings = field(default_factory=ProcessSettings)
    # Should it run? Set by a start or restart, cleared by a stop by hand: a process that is
    # wanted starts once its dependencies allow, and is restarted as autorestart says.
    wanted: bool = False
    restart_armed: bool = False  # its automatic restart's timer is set
    # A restart of it was asked for and it has not been started again yet: the processes that
    # depend on it wait for its new run, not its last one (a completed release).
    restarting: bool = False
    busy: bool = False  # a start, stop or restart of it is in progress (the supervisor's lock)
    live: bool = False  # spawned, and its end not fully handled yet (output, state)
    start_reason: str | None = None  # for the next start (``models.py changed``)
    delays: collections.deque[float] = field(
        default_factory=lambda: collections.deque(maxlen=100)
    )  # backoff delays so far, seconds

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.state.value}>"


_UP = (State.STARTING, State.RUNNING)

# --- actions: what the supervisor carries out, in order ----------------------------------------


@dataclass(frozen=True)
class Spawn:
    """Start it now (its dependencies allow)."""

    member: Member


@dataclass(frozen=True)
class SetState:
    """Enter *state* (or tell that the rest of its snapshot changed, if it is in it already);
    the supervisor then calls :meth:`Policy.dependents_changed`."""

    member: Member
    state: State


@dataclass(frozen=True)
class Changed:
    """Its snapshot changed, not its state: tell, and let its dependents reconsider."""

    member: Member


@dataclass(frozen=True)
class ArmRestart:
    """Call :meth:`Policy.restart_due` in *delay* seconds."""

    member: Member
    delay: float


@dataclass(frozen=True)
class CancelRestart:
    """Cancel the timer :class:`ArmRestart` set."""

    member: Member


@dataclass(frozen=True)
class Reconsider:
    """Ask :meth:`Policy.reconsider` about it, now (after the actions before this one)."""

    member: Member


@dataclass(frozen=True)
class Restart:
    """Restart it (stop, then start), for *reason*: a dependency of it restarted."""

    member: Member
    reason: str


@dataclass(frozen=True)
class RunStopCommand:
    """Before its stop signal: run its ``stop_command``, for at most *timeout* seconds (then
    the signal and its timeout follow if it is still there)."""

    member: Member
    command: str
    timeout: float


Action = Spawn | SetState | Changed | ArmRestart | CancelRestart | Reconsider | Restart
StopStep = RunStopCommand


def unhealthy(m: Member, shutting_down: bool) -> list[Action]:
    """*m* failed its health check ``health.failures`` times in a row (its ``health_failure``
    says how): restart it if its ``autorestart`` restarts a failed process; otherwise it keeps
    running, marked unhealthy, and probing goes on."""
    if (
        m.settings.autorestart is AutoRestart.NO
        or shutting_down
        or not m.wanted
        or m.busy
        or m.state not in _UP
    ):
        return []
    return [Restart(m, f"unhealthy: {m.health_failure}")]


def stop_steps(m: Member, timeout: float) -> list[StopStep]:
    """What comes before the stop signal of *m* (it runs; *timeout*: its stop timeout): its
    ``stop_command``, if any."""
    command = m.settings.stop_command
    return [] if command is None else [RunStopCommand(m, command, timeout)]


def dependency_met(dep: Dependency, other: Member) -> tuple[bool, str | None]:
    """Whether *other* meets *dep*'s condition, and, if it never will by itself, why."""
    if other.blocked:
        return False, f"{other.name} cannot start: {other.blocked}"
    if other.next_start_at is not None or other.restart_armed or other.restarting:
        return False, None  # it is restarted (automatically, or as asked)
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
    if state in _UP:
        if dep.condition is Condition.STARTED or other.ready:
            return True, None
        if other.ready_error:
            return False, f"{other.name} not ready: {other.ready_error}"
    return False, None  # not started yet, stopping, restarting, stopped by hand


class Policy:
    """The decisions for the *members* of a run with *settings*; *timeout*: the run's stop
    timeout (a process's own ``timeout`` overrides it)."""

    def __init__(self, settings: Settings, members: Iterable[Member], timeout: float):
        self.settings = settings
        self.members = list(members)
        self.timeout = timeout
        self.by_type: dict[str, list[Member]] = {}
        for member in self.members:
            self.by_type.setdefault(member.type, []).append(member)
        self.shutting_down = False  # the run is ending: nothing starts any more

    # --- starting ------------------------------------------------------------------------------

    def start_order(self) -> list[Member]:
        """Every member, dependencies first (otherwise in the Procfile's order)."""
        order = self.settings.start_order(list(self.by_type))
        return [m for name in order for m in self.by_type[name]]

    def try_start(self, m: Member) -> list[Action]:
        """Start *m* if it should run and its dependencies allow; otherwise make it wait
        (PENDING), saying for what."""
        if m.wanted and m.on_demand:
            m.on_demand = False  # started by hand: the state change that follows tells
        if (
            self.shutting_down
            or not m.wanted
            or m.restart_armed
            or m.state in (State.STARTING, State.RUNNING, State.STOPPING)
            or m.live
        ):
            return []
        blocked, waiting = self.dependencies(m)
        if blocked is None and waiting is None:
            m.waiting_for = m.blocked = None
            m.next_start_at = None
            return [Spawn(m)]
        changed = (m.blocked, m.waiting_for) != (blocked, waiting)
        m.blocked, m.waiting_for = blocked, waiting
        m.next_start_at = None
        if m.state is not State.PENDING:
            return [SetState(m, State.PENDING)]
        return [Changed(m)] if changed else []

    def dependencies(self, m: Member) -> tuple[str | None, str | None]:
        """(why it cannot start, what it waits for): (None, None) when it may start now."""
        waiting = None
        for dep in m.settings.depends_on:
            for other in self.by_type.get(dep.name, ()):  # not in the run: ignored
                ok, failure = dependency_met(dep, other)
                if failure is not None:
                    return failure, None
                if not ok and waiting is None:
                    waiting = f"{other.name}: {dep.condition.value}"
        return None, waiting

    def dependents_changed(self, m: Member) -> list[Action]:
        """*m* changed: the processes waiting for it may start now, or be blocked."""
        return [
            Reconsider(other)
            for name in self.settings.dependents_of(m.type)
            for other in self.by_type.get(name, ())
        ]

    def reconsider(self, m: Member) -> list[Action]:
        """A dependency of *m* changed: if it waits, it may start or be blocked now."""
        if m.state is State.PENDING and not m.busy:
            return self.try_start(m)
        return []

    def started(self, m: Member) -> list[Action]:
        """*m* was spawned: if it was started again, restart its running dependents that asked
        for it (``depends_on = { NAME = { restart = true } }``)."""
        if m.start_count <= 1:
            return []
        return [
            Restart(other, f"{m.name} restarted")
            for name, dep in self.settings.dependents_of(m.type).items()
            if dep.restart
            for other in self.by_type.get(name, ())
            if other.state in _UP and not other.busy
        ]

    def spawn_failed(self, m: Member, now: float) -> list[Action]:
        """*m* could not be spawned at all (its ``error`` and ``exit`` are set)."""
        return [*self._plan_restart(m, 0.0, now), SetState(m, State.FAILED)]

    def ended(self, m: Member, ran: float, now: float, stop_requested: bool) -> list[Action]:
        """*m* ended (its ``exit`` is set) after running *ran* seconds; *stop_requested*: a stop
        or restart caused it."""
        if stop_requested:
            return [SetState(m, State.STOPPED if m.state is State.STOPPING else m.state)]
        return [*self._plan_restart(m, ran, now), SetState(m, State.EXITED)]

    def _plan_restart(self, m: Member, ran: float, now: float) -> list[Action]:
        """It ended on its own after *ran* seconds: plan its automatic restart, if any."""
        policy = m.settings.autorestart
        if policy is AutoRestart.NO or self.shutting_down or not m.wanted:
            return []
        if policy is AutoRestart.ON_FAILURE and m.exit is not None and m.exit.success:
            self._reset_failures(m)
            return []
        backoff = m.settings.backoff
        if ran >= backoff.reset_after:
            self._reset_failures(m)
        if m.failures == 0:
            m.failing_since = now
        m.failures += 1
        delay = backoff.delay(m.failures)
        m.delays.append(delay)
        m.next_start_at = now + delay
        m.restart_armed = True
        return [ArmRestart(m, delay)]

    def restart_due(self, m: Member) -> list[Action]:
        """The backoff delay of *m* is over."""
        m.restart_armed = False
        m.next_start_at = None
        return [] if m.busy else self.try_start(m)

    @staticmethod
    def _reset_failures(m: Member) -> None:
        m.failures = 0
        m.failing_since = None

    def _cancel_restart(self, m: Member) -> list[Action]:
        if not m.restart_armed:
            return []
        m.restart_armed = False
        return [CancelRestart(m)]

    # --- by hand -------------------------------------------------------------------------------

    def start(self, m: Member) -> list[Action]:
        """A start by hand: once its dependencies allow; it resets the backoff. Nothing for a
        process that runs, or while the run ends."""
        if self.shutting_down or m.state.alive:
            return []
        actions = self._cancel_restart(m)
        self._reset_failures(m)
        m.wanted = True
        return [*actions, *self._start_dependencies(m), *self.try_start(m)]

    def _start_dependencies(self, m: Member) -> list[Action]:
        """A process started by hand starts the on-demand processes it depends on."""
        return [
            action
            for dep in m.settings.depends_on
            for other in self.by_type.get(dep.name, ())
            if other.on_demand and not other.wanted
            for action in self.start(other)
        ]

    def start_all(self, m: Member) -> list[Action]:
        """*m*'s part of a start of everything (call in :meth:`start_order`): processes that
        run or will start by themselves, or are being handled, are left alone."""
        if m.active or self.shutting_down or m.busy:
            return []
        if not m.settings.autostart and m.start_count == 0 and not m.wanted:
            if m.on_demand:
                return []
            m.on_demand = True  # "not started": it waits for a start by hand
            return [Changed(m)]
        m.wanted = True
        return self.try_start(m)

    def stop(self, m: Member) -> list[Action]:
        """A stop by hand: no automatic restart, no start when its dependencies are ready,
        until it is started again. If *m* is :attr:`live`, the supervisor stops it after these
        actions (see :meth:`stop_waits_for` for the order); otherwise this is all."""
        m.wanted = False
        actions = self._cancel_restart(m)
        if m.live:
            return actions
        planned = m.next_start_at is not None
        m.next_start_at = None
        if m.state is State.PENDING and (m.waiting_for or m.blocked):
            m.waiting_for = m.blocked = None
            return [*actions, SetState(m, State.STOPPED)]
        return [*actions, Changed(m)] if planned else actions

    def restart(self, m: Member, reason: str | None = None) -> list[Action] | None:
        """A restart (by hand when *reason* is None: it resets the backoff; else tuirunner's,
        ``models.py changed``). None: nothing to do (the run ends). Otherwise the actions, after
        which the supervisor stops *m* (RESTARTING) and calls :meth:`restarted`."""
        if self.shutting_down:
            return None
        actions = self._cancel_restart(m)
        if reason is None:
            self._reset_failures(m)
        m.wanted = True
        m.restarting = True
        m.start_reason = reason
        return [*actions, *self._start_dependencies(m)]

    def restarts_begin(self, members: Iterable[Member]) -> None:
        """Restarts of *members* were asked for together (``R``): from now until each is started
        again, what depends on it waits for its new run (a process of them that is not running,
        crashed and waiting for its next try, would otherwise start at once, on its
        dependency's last run)."""
        if not self.shutting_down:
            for m in members:
                m.restarting = True

    def restarted(self, m: Member) -> list[Action]:
        """The stop of a restart is over: start it again (once its dependencies allow)."""
        m.restarting = False
        if self.shutting_down:  # a quit came during the restart: stay stopped
            return [SetState(m, State.STOPPED)]
        return self.try_start(m)

    def shut_down(self) -> list[Action]:
        """The run ends: nothing starts any more, no automatic restart is pending."""
        self.shutting_down = True
        return [a for m in self.members for a in self._cancel_restart(m)]

    def files_changed(self, paths: Iterable[str]) -> list[tuple[Member, str]]:
        """The processes to restart because they ``watch`` one of *paths*, each with the reason.
        Processes stopped by hand, or waiting for their dependencies, are left alone."""
        paths = sorted(set(paths))
        chosen = []
        for name, members in self.by_type.items():
            if not members[0].settings.watch:
                continue
            matched = [path for path in paths if self.settings.watched(name, path)]
            if not matched:
                continue
            reason = f"{matched[0]} changed"
            if len(matched) > 1:
                reason = f"{matched[0]} and {len(matched) - 1} more changed"
            chosen += [(m, reason) for m in members if m.wanted and m.state is not State.PENDING]
        return chosen

    # --- stopping ------------------------------------------------------------------------------

    def stop_timeout(self, m: Member) -> float:
        """Seconds between its stop signal and SIGKILL: its own ``timeout``, or the run's."""
        own = m.settings.timeout
        return self.timeout if own is None else own

    def stop_duration(self, m: Member) -> float:
        """The longest a stop of *m* may take before SIGKILL: its stop command's time (if it
        has one), then its stop signal's."""
        return self.stop_timeout(m) * (2 if m.settings.stop_command else 1)

    @property
    def longest_stop(self) -> float:
        """The longest a stop of any one process may take before SIGKILL."""
        return max([self.timeout, *(self.stop_duration(m) for m in self.members)])

    def _dependents(self, type_name: str) -> set[str]:
        """The process types that depend on *type_name*, directly or not."""
        found: set[str] = set()
        todo = [type_name]
        while todo:
            for other in self.settings.dependents_of(todo.pop()):
                if other not in found and other != type_name:
                    found.add(other)
                    todo.append(other)
        return found

    def stop_waits_for(self, m: Member, stopping: Iterable[Member]) -> list[Member]:
        """Of the processes being stopped with *m* (*stopping*), those to be gone before *m* gets
        its stop signal: the ones that depend on it, directly or not. Reverse dependency order:
        ``web`` stops before the ``db`` it depends on; unrelated processes stop in parallel."""
        dependents = self._dependents(m.type)
        if not dependents:  # most processes: no list to go through (1,000 stops at once)
            return []
        return [o for o in stopping if o is not m and o.type in dependents]

    def stop_waves(self, stopping: Sequence[Member]) -> list[list[Member]]:
        """*stopping* in the order a stop of them all goes: each wave starts once the waves
        before it are gone, its members in parallel (what :meth:`stop_waits_for` amounts to)."""
        left = list(stopping)
        waves: list[list[Member]] = []
        while left:
            wave = [m for m in left if not self.stop_waits_for(m, left)]
            if not wave:  # only with a dependency cycle, which loading refuses
                wave = left
            waves.append(wave)
            gone = {id(m) for m in wave}
            left = [m for m in left if id(m) not in gone]
        return waves

    def signal_first(self, stopping: Sequence[Member]) -> list[Member]:
        """Of *stopping* (a stop of them all), those whose stop signal may go before anything
        else is done for any of them: the first wave's, but for those with a ``stop_command``
        (it comes before the signal)."""
        waves = self.stop_waves(stopping)
        return [m for m in waves[0] if m.settings.stop_command is None] if waves else []

    def stop_budget(self, stopping: Sequence[Member]) -> float:
        """The longest a stop of *stopping* may take before its last SIGKILL: the timeouts of
        the waves, one after the other (each wave waits for its slowest member)."""
        return sum(max(self.stop_duration(m) for m in wave) for wave in self.stop_waves(stopping))
