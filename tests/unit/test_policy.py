"""The supervision policy replayed as scripted histories, on a fake clock, without a process.

Each history is a formation, a settings table and a script. A :class:`World` carries the
policy's actions out the way the Supervisor does (spawning sets the state, a timer is a due time
on the fake clock, a stop signal ends the process at once) and records what happened; the script
mixes events (``exit web.1 3``, ``after 0.5``, ``ready db.1``, ``stop web.1``) and expectations:

- ``web.1: waiting (waiting for db.1: ready)``: its label and, in brackets, its detail;
- ``spawned: db.1 web.1``: the spawns since the last such line, in order;
- ``stopped: web.1 worker.1 | db.1``: the stop signals since the last such line, by wave;
- ``? web.1 failures=2 wanted=False``: attributes, compared as text;
- ``delays web.1: 0.1 0.2``: the backoff delays chosen so far.

(honcho's tests/test_manager.py replays histories the same way; supervisord's states.py is a
plain table.)
"""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuirunner.events import ExitStatus, State
from tuirunner.policy import (
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
from tuirunner.settings import settings_from_dict

START = 1_000_000.0  # the fake wall clock's first reading


class World:
    """A run of the policy on a fake clock: what the Supervisor does, minus the processes."""

    def __init__(self, formation: str, settings: dict, timeout: float = 5.0):
        config = settings_from_dict(settings, Path("tuirunner.toml"))
        self.members: list[Member] = []
        for entry in formation.split():
            name, _, count = entry.partition("=")
            ps = config.process(name)
            for number in range(1, int(count or 1) + 1):
                member = Member(
                    name=f"{name}.{number}",
                    type=name,
                    number=number,
                    command=f"run {name}",
                    port=5000,
                    oneshot=ps.oneshot,
                    settings=ps,
                )
                self.members.append(member)
        self.policy = Policy(config, self.members, timeout)
        self.now = START
        self.timers: dict[str, float] = {}  # name -> due time of its automatic restart
        self.spawned: list[str] = []
        self.stopped: list[list[str]] = []
        self.cannot_spawn: set[str] = set()
        self.events: list[str] = []  # every state change, "web.1 running"

    def get(self, name: str) -> Member:
        return next(m for m in self.members if m.name == name)

    # --- carrying out, as the Supervisor does ---------------------------------------------------

    def run(self, actions) -> None:
        for action in actions:
            m = action.member
            if isinstance(action, Spawn):
                self.spawn(m)
            elif isinstance(action, SetState):
                self.set_state(m, action.state)
            elif isinstance(action, Changed):
                self.run(self.policy.dependents_changed(m))
            elif isinstance(action, Reconsider):
                self.run(self.policy.reconsider(m))
            elif isinstance(action, ArmRestart):
                self.timers[m.name] = self.now + action.delay
            elif isinstance(action, CancelRestart):
                del self.timers[m.name]
            elif isinstance(action, Restart):
                self.restart(m, action.reason)
            else:  # pragma: no cover
                raise AssertionError(action)

    def set_state(self, m: Member, state: State) -> None:
        if m.state is not state:
            m.state = state
            self.events.append(f"{m.name} {state.value}")
        self.run(self.policy.dependents_changed(m))

    def spawn(self, m: Member) -> None:
        reason, m.start_reason = m.start_reason, None
        if m.name in self.cannot_spawn:
            m.error = "cannot start: No such file or directory"
            m.exit = ExitStatus(returncode=127)
            m.ended_at = self.now
            self.run(self.policy.spawn_failed(m, self.now))
            return
        self.spawned.append(m.name)
        m.pid = m.last_pid = 100 + len(self.spawned)
        m.started_at, m.ended_at, m.exit, m.error = self.now, None, None, None
        m.start_count += 1
        m.started_because = reason
        checked = m.settings.ready is not None
        m.ready = False if checked else None
        m.ready_error = None
        m.live = True
        self.set_state(m, State.STARTING if checked else State.RUNNING)
        self.run(self.policy.started(m))

    def end(self, m: Member, status: ExitStatus, stop_requested: bool) -> None:
        m.exit = status
        m.ended_at = self.now
        m.pid = None
        m.ready = None if m.settings.ready is None else False
        m.ready_error = None
        ran = m.ended_at - (m.started_at or m.ended_at)
        self.run(self.policy.ended(m, ran, self.now, stop_requested))
        m.live = False

    def terminate(self, m: Member, state: State) -> None:
        """A stop signal, obeyed at once."""
        if m.pid is None:
            return
        self.set_state(m, state)
        self.stopped[-1].append(m.name)
        self.end(m, ExitStatus(signal=signal.SIGTERM), stop_requested=True)

    def stop(self, names: list[str]) -> None:
        """A stop of *names* together: wave after wave, as Supervisor.stop orders them."""
        self.stopped.append([])
        for wave in self.policy.stop_waves([self.get(n) for n in names]):
            if self.stopped[-1]:
                self.stopped[-1].append("|")
            for m in wave:
                self.run(self.policy.stop(m))
                if m.live:
                    self.terminate(m, State.STOPPING)
            if self.stopped[-1] and self.stopped[-1][-1] == "|":
                self.stopped[-1].pop()

    def restart(self, m: Member, reason: str | None = None) -> None:
        actions = self.policy.restart(m, reason)
        if actions is None:
            return
        self.run(actions)
        self.stopped.append([])
        if m.live:
            self.terminate(m, State.RESTARTING)
        self.run(self.policy.restarted(m))

    def after(self, seconds: float) -> None:
        """Let *seconds* pass, firing the timers that fall due, in order."""
        end = self.now + seconds
        while self.timers and min(self.timers.values()) <= end:
            name = min(self.timers, key=self.timers.__getitem__)
            self.now = self.timers.pop(name)
            m = self.get(name)
            before = (m.state, m.start_count)
            self.run(self.policy.restart_due(m))
            if (m.state, m.start_count) == before:
                self.run(self.policy.dependents_changed(m))
        self.now = end

    # --- the script -----------------------------------------------------------------------------

    def describe(self, m: Member) -> str:
        detail = m.detail(self.now)
        return m.label()[0] + (f" ({detail})" if detail else "")

    def step(self, line: str) -> None:
        word, _, rest = line.partition(" ")
        args = rest.split()
        if line.startswith("? "):
            m = self.get(args[0])
            for key, want in re.findall(r"(\w+)=(.*?)(?=\s+\w+=|$)", rest.partition(" ")[2]):
                got = getattr(m, key)
                got = got() if callable(got) else got
                got = f"{got:g}" if isinstance(got, float) else str(got)
                assert got == want, f"{m.name}.{key} is {got}, not {want}"
        elif word == "spawned:":
            assert " ".join(self.spawned) == rest, f"spawned {self.spawned}"
            self.spawned.clear()
        elif word == "stopped:":
            got = " ".join(" ".join(s) for s in self.stopped if s)
            assert got == rest, f"stopped {got!r}"
            self.stopped.clear()
        elif word == "delays":
            got = " ".join(f"{d:g}" for d in self.get(args[0].rstrip(":")).delays)
            assert got == " ".join(args[1:]), f"delays {got}"
        elif word.endswith(":"):
            got = self.describe(self.get(word[:-1]))
            assert got == rest, f"{word} {got!r}, not {rest!r}"
        elif word == "start_all":
            for m in self.policy.start_order():
                self.run(self.policy.start_all(m))
        elif word == "start":
            self.run(self.policy.start(self.get(args[0])))
        elif word == "stop":
            self.stop(args)
        elif word == "stop_all":
            self.run(self.policy.shut_down())
            self.stop([m.name for m in self.members])
        elif word == "restart":
            reason = rest.partition(" because ")[2] or None
            self.restart(self.get(args[0]), reason)
        elif word == "restart_all":  # as Supervisor.restart_all: asked together, then one by one
            self.policy.restarts_begin(self.members)
            for m in self.members:
                self.restart(m)
        elif word == "exit":
            self.end(self.get(args[0]), ExitStatus(returncode=int(args[1])), False)
        elif word == "killed":
            status = ExitStatus(signal=signal.Signals[args[1]].value)
            self.end(self.get(args[0]), status, False)
        elif word == "after":
            self.after(float(args[0]))
        elif word == "ready":
            m = self.get(args[0])
            m.ready, m.ready_error = True, None
            self.set_state(m, State.RUNNING)
        elif word == "not_ready":
            m = self.get(args[0])
            m.ready_error = rest.partition(" ")[2]
            self.set_state(m, State.RUNNING)
        elif word == "cannot_spawn":
            self.cannot_spawn.add(args[0])
        elif word == "can_spawn":
            self.cannot_spawn.discard(args[0])
        elif word == "changed":
            for m, reason in self.policy.files_changed(args):
                self.restart(m, reason)
        else:  # pragma: no cover
            raise AssertionError(f"unknown step {line!r}")


ON_FAILURE = {"autorestart": "on-failure"}
FAST = {"initial": 0.1, "max": 0.4}
RELEASE_FIRST = {
    "release": {"oneshot": True},
    "web": {"depends_on": {"release": "completed"}},
}
DB_READY = {"db": {"ready": {"port": "$PORT"}}, "app": {"depends_on": {"db": "ready"}}}

# (id, formation, [tool.tuirunner] table, script)
HISTORIES = [
    # --- backoff -------------------------------------------------------------------------------
    (
        "backoff doubles up to its max and the detail counts the crashes",
        "flaky steady",
        {"processes": {"flaky": {**ON_FAILURE, "backoff": FAST}}},
        [
            "start_all",
            "spawned: flaky.1 steady.1",
            "exit flaky.1 3",
            "flaky.1: crashed: exit 3 (crashed — next try in 0.1 s)",
            "after 0.1",
            "spawned: flaky.1",
            "exit flaky.1 3",
            "after 0.02",
            "flaky.1: crashed: exit 3 (crashed 2× in 0.1 s — next try in 0.2 s)",
            "after 0.18",
            "exit flaky.1 3",
            "after 0.4",
            "exit flaky.1 3",
            "after 0.4",
            "exit flaky.1 3",
            "delays flaky.1: 0.1 0.2 0.4 0.4 0.4",
            "? flaky.1 failures=5 start_count=5",
            "? steady.1 start_count=1",
        ],
    ),
    (
        "a crash loop over two minutes reads in minutes",
        "flaky",
        {"processes": {"flaky": {**ON_FAILURE, "backoff": {"initial": 30, "max": 30}}}},
        [
            "start_all",
            "exit flaky.1 1",
            "after 30",
            "exit flaky.1 1",
            "after 30",
            "exit flaky.1 1",
            "after 30",
            "exit flaky.1 1",
            "after 30",
            "exit flaky.1 1",
            "flaky.1: crashed: exit 1 (crashed 5× in 2m00s — next try in 30 s)",
        ],
    ),
    (
        "the backoff resets after a run of reset_after",
        "tick",
        {
            "processes": {
                "tick": {
                    "autorestart": "always",
                    "backoff": {"initial": 0.1, "max": 5, "reset_after": 0.2},
                }
            }
        },
        [
            "start_all",
            "after 0.3",
            "exit tick.1 0",
            "after 0.1",
            "after 0.3",
            "exit tick.1 0",
            "after 0.1",
            "after 0.3",
            "exit tick.1 0",
            "delays tick.1: 0.1 0.1 0.1",
            "? tick.1 failures=1",
            "tick.1: exited 0 (exited — next start in 0.1 s)",
        ],
    ),
    (
        "runs shorter than reset_after keep the backoff growing",
        "tick",
        {
            "processes": {
                "tick": {
                    "autorestart": "always",
                    "backoff": {"initial": 0.1, "max": 5, "reset_after": 1},
                }
            }
        },
        [
            "start_all",
            "after 0.5",
            "exit tick.1 0",
            "after 0.1",
            "after 0.5",
            "exit tick.1 0",
            "after 0.2",
            "after 2",
            "exit tick.1 0",
            "delays tick.1: 0.1 0.2 0.1",
            "? tick.1 failures=1",
        ],
    ),
    (
        "the cap holds however many crashes",
        "flaky",
        {"processes": {"flaky": {**ON_FAILURE, "backoff": {"initial": 1, "max": 3}}}},
        [
            "start_all",
            *[step for _ in range(8) for step in ("exit flaky.1 1", "after 3")],
            "delays flaky.1: 1 2 3 3 3 3 3 3",
            "? flaky.1 failures=8 start_count=9",
        ],
    ),
    (
        "autorestart no gives up at the first exit",
        "once",
        {"processes": {"once": {"autorestart": "no"}}},
        [
            "start_all",
            "exit once.1 1",
            "after 60",
            "spawned: once.1",
            "once.1: crashed: exit 1",
            "? once.1 next_start_at=None failures=0 active=False",
        ],
    ),
    (
        "on-failure gives up after a clean exit, and forgets the failures",
        "job",
        {"processes": {"job": {**ON_FAILURE, "backoff": FAST}}},
        [
            "start_all",
            "exit job.1 1",
            "after 0.1",
            "exit job.1 0",
            "after 60",
            "spawned: job.1 job.1",
            "job.1: exited 0",
            "? job.1 failures=0 failing_since=None next_start_at=None",
        ],
    ),
    (
        "on-failure restarts a process killed by a signal",
        "job",
        {"processes": {"job": {**ON_FAILURE, "backoff": FAST}}},
        [
            "start_all",
            "killed job.1 SIGKILL",
            "job.1: crashed: SIGKILL (crashed — next try in 0.1 s)",
            "after 0.1",
            "spawned: job.1 job.1",
            "job.1: running",
        ],
    ),
    (
        "always restarts a clean exit, and says start, not try",
        "tick",
        {"processes": {"tick": {"autorestart": "always", "backoff": FAST}}},
        [
            "start_all",
            "exit tick.1 0",
            "tick.1: exited 0 (exited — next start in 0.1 s)",
            "after 0.1",
            "spawned: tick.1 tick.1",
        ],
    ),
    (
        "the default policy restarts nothing",
        "web",
        {},
        ["start_all", "exit web.1 1", "after 3600", "spawned: web.1", "web.1: crashed: exit 1"],
    ),
    (
        "a spawn that fails is retried with backoff",
        "web",
        {"processes": {"web": {**ON_FAILURE, "backoff": FAST}}},
        [
            "cannot_spawn web.1",
            "start_all",
            "web.1: failed to start (crashed — next try in 0.1 s)",
            "after 0.1",
            "? web.1 failures=2 start_count=0",
            "can_spawn web.1",
            "after 0.2",
            "spawned: web.1",
            "web.1: running",
        ],
    ),
    # --- oneshots -------------------------------------------------------------------------------
    (
        "a oneshot completes",
        "once",
        {"processes": {"once": {"oneshot": True}}},
        [
            "start_all",
            "exit once.1 0",
            "once.1: completed",
            "? once.1 crashed=False active=False label=('completed', 'exited')",
        ],
    ),
    (
        "a oneshot with on-failure is retried until it succeeds",
        "retry",
        {"processes": {"retry": {"oneshot": True, **ON_FAILURE, "backoff": {"initial": 0.1}}}},
        [
            "start_all",
            "exit retry.1 1",
            "after 0.1",
            "exit retry.1 0",
            "retry.1: completed",
            "? retry.1 start_count=2 crashed=False label=('completed', 'exited')",
            "delays retry.1: 0.1",
            "? retry.1 next_start_at=None",
        ],
    ),
    # --- dependencies ---------------------------------------------------------------------------
    (
        "started: the dependent starts right after its dependency",
        "web db",
        {"processes": {"web": {"depends_on": ["db"]}}},
        ["start_all", "spawned: db.1 web.1", "web.1: running"],
    ),
    (
        "ready: the dependent waits for the ready check",
        "db app",
        {"processes": DB_READY},
        [
            "start_all",
            "spawned: db.1",
            "db.1: starting",
            "app.1: waiting (waiting for db.1: ready)",
            "? app.1 active=True",
            "ready db.1",
            "spawned: app.1",
            "db.1: running (ready)",
        ],
    ),
    (
        "ready: a check that gives up blocks the dependents and says why",
        "db app",
        {"processes": DB_READY},
        [
            "start_all",
            "not_ready db.1 connection refused (gave up after 0.5 s)",
            "db.1: running (not ready: connection refused (gave up after 0.5 s))",
            "app.1: blocked (blocked: db.1 not ready: connection refused (gave up after 0.5 s))",
            "spawned: db.1",
        ],
    ),
    (
        "ready: a blocked dependent starts once its dependency, restarted, is ready",
        "db app",
        {"processes": DB_READY},
        [
            "start_all",
            "not_ready db.1 HTTP 500",
            "restart db.1",
            "app.1: waiting (waiting for db.1: ready)",
            "ready db.1",
            "spawned: db.1 db.1 app.1",
        ],
    ),
    (
        "ready: a oneshot that exited 0 never becomes ready",
        "db app",
        {
            "processes": {
                "db": {"oneshot": True, "ready": {"log": "up"}},
                "app": {"depends_on": {"db": "ready"}},
            }
        },
        ["start_all", "exit db.1 0", "app.1: blocked (blocked: db.1 exited with code 0)"],
    ),
    (
        "completed: the dependents wait for a oneshot to complete",
        "web release",
        {"processes": RELEASE_FIRST},
        [
            "start_all",
            "spawned: release.1",
            "web.1: waiting (waiting for release.1: completed)",
            "? web.1 state=pending waiting_for=release.1: completed active=True",
            "? web.1 label=('waiting', 'pending')",
            "exit release.1 0",
            "spawned: web.1",
            "web.1: running",
            "? web.1 waiting_for=None detail=None",
            "release.1: completed",
        ],
    ),
    (
        "restart all: the dependents wait for their dependency's new run, a crashed one too",
        "web worker release",
        {
            "processes": {
                **RELEASE_FIRST,
                "worker": {
                    "depends_on": {"release": "completed"},
                    **ON_FAILURE,
                    "backoff": {"initial": 8},
                },
            }
        },
        [
            "start_all",
            "exit release.1 0",
            "spawned: release.1 web.1 worker.1",
            "exit worker.1 3",
            "? worker.1 state=exited restart_armed=True",
            "restart_all",
            "spawned: release.1",
            "web.1: waiting (waiting for release.1: completed)",
            "worker.1: waiting (waiting for release.1: completed)",
            "exit release.1 0",
            "spawned: web.1 worker.1",
            "? worker.1 restarting=False next_start_at=None",
        ],
    ),
    (
        "completed: a failed oneshot blocks its dependents, down the chain, until it completes",
        "release web worker",
        {"processes": {**RELEASE_FIRST, "worker": {"depends_on": ["web"]}}},
        [
            "start_all",
            "exit release.1 1",
            "web.1: blocked (blocked: release.1 exited with code 1)",
            "worker.1: blocked (blocked: web.1 cannot start: release.1 exited with code 1)",
            "? web.1 start_count=0 active=True label=('blocked', 'stopped')",
            "restart release.1",
            "web.1: waiting (waiting for release.1: completed)",
            "exit release.1 0",
            "spawned: release.1 release.1 web.1 worker.1",
            "? web.1 blocked=None state=running",
            "? worker.1 blocked=None state=running",
        ],
    ),
    (
        "completed: a process still running has not completed, even when ready",
        "release web",
        {
            "processes": {
                "release": {"oneshot": True, "ready": {"log": "done"}},
                "web": {"depends_on": {"release": "completed"}},
            }
        },
        ["start_all", "ready release.1", "web.1: waiting (waiting for release.1: completed)"],
    ),
    (
        "a dependency that could not be spawned blocks its dependents",
        "db web",
        {"processes": {"web": {"depends_on": ["db"]}}},
        [
            "cannot_spawn db.1",
            "start_all",
            "db.1: failed to start",
            "web.1: blocked (blocked: db.1 cannot start: No such file or directory)",
        ],
    ),
    (
        "a dependency backing off makes its dependents wait, not block",
        "db web",
        {"processes": {"db": {**ON_FAILURE, "backoff": FAST}, "web": {"depends_on": ["db"]}}},
        [
            "cannot_spawn db.1",
            "start_all",
            "web.1: waiting (waiting for db.1: started)",
            "can_spawn db.1",
            "after 0.1",
            "spawned: db.1 web.1",
        ],
    ),
    (
        "a dependency type that is not in the run is ignored",
        "web",
        {"processes": {"db": {"ready": {"log": "up"}}, "web": {"depends_on": {"db": "ready"}}}},
        ["start_all", "spawned: web.1"],
    ),
    (
        "every instance of a dependency counts, the first unmet one is shown",
        "db=2 app",
        {"processes": {"db": {"ready": {"port": "$PORT"}}, "app": {"depends_on": {"db": "ready"}}}},
        [
            "start_all",
            "app.1: waiting (waiting for db.1: ready)",
            "ready db.1",
            "app.1: waiting (waiting for db.2: ready)",
            "ready db.2",
            "spawned: db.1 db.2 app.1",
        ],
    ),
    (
        "dependencies start first, whatever the Procfile's order",
        "web worker db",
        {"processes": {"web": {"depends_on": ["db"]}, "worker": {"depends_on": ["web"]}}},
        ["start_all", "spawned: db.1 web.1 worker.1"],
    ),
    (
        "a dependency stopped by hand makes the pending dependents wait, the running ones run",
        "db web app",
        {"processes": {"web": {"depends_on": ["db"]}, "app": {"depends_on": ["db"]}}},
        [
            "start_all",
            "stop app.1",
            "stop db.1",
            "web.1: running",
            "start app.1",
            "app.1: waiting (waiting for db.1: started)",
            "start db.1",
            "spawned: db.1 web.1 app.1 db.1 app.1",
        ],
    ),
    # --- by hand --------------------------------------------------------------------------------
    (
        "a manual stop cancels the pending restart, and a start resets the backoff",
        "flaky",
        {"processes": {"flaky": {**ON_FAILURE, "backoff": {"initial": 0.3}}}},
        [
            "start_all",
            "exit flaky.1 1",
            "after 0.3",
            "exit flaky.1 1",
            "? flaky.1 failures=2 active=True",
            "flaky.1: crashed: exit 1 (crashed 2× in 0.3 s — next try in 0.6 s)",
            "stop flaky.1",
            "? flaky.1 next_start_at=None active=False wanted=False",
            "after 60",
            "spawned: flaky.1 flaky.1",
            "flaky.1: crashed: exit 1",
            "start flaky.1",
            "spawned: flaky.1",
            "? flaky.1 start_count=3",
            "exit flaky.1 1",
            "? flaky.1 failures=1",
            "flaky.1: crashed: exit 1 (crashed — next try in 0.3 s)",
        ],
    ),
    (
        "a restart by hand during the backoff starts at once and resets it",
        "flaky",
        {"processes": {"flaky": {**ON_FAILURE, "backoff": {"initial": 60, "max": 60}}}},
        [
            "start_all",
            "exit flaky.1 1",
            "flaky.1: crashed: exit 1 (crashed — next try in 60 s)",
            "restart flaky.1",
            "spawned: flaky.1 flaky.1",
            "? flaky.1 failures=0 next_start_at=None start_count=2",
            "after 60",
            "spawned: ",
        ],
    ),
    (
        "a start by hand during the backoff starts at once",
        "flaky",
        {"processes": {"flaky": {**ON_FAILURE, "backoff": {"initial": 60, "max": 60}}}},
        [
            "start_all",
            "exit flaky.1 1",
            "start flaky.1",
            "spawned: flaky.1 flaky.1",
            "after 60",
            "spawned: ",
        ],
    ),
    (
        "tuirunner's own restart keeps the failures and says why",
        "web",
        {"processes": {"web": {**ON_FAILURE, "backoff": FAST}}},
        [
            "start_all",
            "exit web.1 1",
            "after 0.1",
            "restart web.1 because models.py changed",
            "? web.1 failures=1 started_because=models.py changed",
            "web.1: running (restarted: models.py changed)",
        ],
    ),
    (
        "a start of a running process does nothing",
        "web",
        {},
        ["start_all", "start web.1", "start web.1", "spawned: web.1"],
    ),
    (
        "a stop by hand of a waiting process ends its waiting; a start makes it wait again",
        "release web",
        {"processes": RELEASE_FIRST},
        [
            "start_all",
            "stop web.1",
            "web.1: stopped",
            "? web.1 state=stopped active=False waiting_for=None",
            "start web.1",
            "web.1: waiting (waiting for release.1: completed)",
            "? web.1 state=pending waiting_for=release.1: completed",
            "exit release.1 0",
            "spawned: release.1 web.1",
        ],
    ),
    (
        "a waiting process stopped by hand does not start when its dependency is ready",
        "release web",
        {"processes": RELEASE_FIRST},
        ["start_all", "stop web.1", "exit release.1 0", "spawned: release.1", "web.1: stopped"],
    ),
    (
        "a stop by hand of a blocked process; a restart of it is blocked again",
        "release web",
        {"processes": RELEASE_FIRST},
        [
            "start_all",
            "exit release.1 2",
            "stop web.1",
            "web.1: stopped",
            "restart web.1",
            "web.1: blocked (blocked: release.1 exited with code 2)",
            "restart release.1",
            "exit release.1 0",
            "spawned: release.1 release.1 web.1",
        ],
    ),
    (
        "start_all leaves the stopped-by-hand waiting ones to start again, and skips the rest",
        "release web",
        {"processes": RELEASE_FIRST},
        [
            "start_all",
            "stop web.1",
            "start_all",
            "web.1: waiting (waiting for release.1: completed)",
            "spawned: release.1",
        ],
    ),
    # --- dependents restarted -------------------------------------------------------------------
    (
        "a dependency's restart restarts only the dependents that ask for it",
        "db follower loner",
        {
            "processes": {
                "follower": {"depends_on": {"db": {"condition": "started", "restart": True}}},
                "loner": {"depends_on": ["db"]},
            }
        },
        [
            "start_all",
            "spawned: db.1 follower.1 loner.1",
            "restart db.1",
            "spawned: db.1 follower.1",
            "follower.1: running (restarted: db.1 restarted)",
            "? follower.1 started_because=db.1 restarted",
            "? loner.1 start_count=1 restart_count=0",
        ],
    ),
    (
        "an automatic restart of a dependency restarts the dependents that ask for it",
        "db follower",
        {
            "processes": {
                "db": {"autorestart": "always", "backoff": FAST},
                "follower": {"depends_on": {"db": {"restart": True}}},
            }
        },
        [
            "start_all",
            "exit db.1 0",
            "follower.1: running",
            "after 0.1",
            "spawned: db.1 follower.1 db.1 follower.1",
            "? follower.1 started_because=db.1 restarted",
        ],
    ),
    (
        "a dependent that waits is not restarted, it starts",
        "db follower",
        {
            "processes": {
                "db": {"ready": {"log": "up"}},
                "follower": {"depends_on": {"db": {"condition": "ready", "restart": True}}},
            }
        },
        [
            "start_all",
            "restart db.1",
            "follower.1: waiting (waiting for db.1: ready)",
            "ready db.1",
            "spawned: db.1 db.1 follower.1",
            "? follower.1 start_count=1 started_because=None",
        ],
    ),
    # --- files changed --------------------------------------------------------------------------
    (
        "a file change restarts the watching processes that run, not the stopped or waiting",
        "web worker release api",
        {
            "processes": {
                "web": {"watch": ["*.py"]},
                "worker": {"watch": ["*.py"]},
                "api": {"watch": ["*.py"], "depends_on": {"release": "completed"}},
                "release": {"oneshot": True},
            }
        },
        [
            "start_all",
            "stop worker.1",
            "changed models.py views.py",
            "spawned: web.1 worker.1 release.1 web.1",
            "web.1: running (restarted: models.py and 1 more changed)",
        ],
    ),
    # --- stopping -------------------------------------------------------------------------------
    (
        "stop all: dependents first, unrelated processes in parallel",
        "db web worker clock",
        {"processes": {"web": {"depends_on": ["db"]}, "worker": {"depends_on": ["db"]}}},
        ["start_all", "stop_all", "stopped: web.1 worker.1 clock.1 | db.1"],
    ),
    (
        "stop all: a chain stops from its end",
        "db web nginx",
        {"processes": {"web": {"depends_on": ["db"]}, "nginx": {"depends_on": ["web"]}}},
        ["start_all", "stop_all", "stopped: nginx.1 | web.1 | db.1"],
    ),
    (
        "a stop of two processes waits for the dependent even through one not stopped",
        "db web nginx",
        {"processes": {"web": {"depends_on": ["db"]}, "nginx": {"depends_on": ["web"]}}},
        ["start_all", "stop db.1 nginx.1", "stopped: nginx.1 | db.1", "web.1: running"],
    ),
    (
        "a stop of one process stops it alone, its dependents run on",
        "db web",
        {"processes": {"web": {"depends_on": ["db"]}}},
        ["start_all", "stop db.1", "stopped: db.1", "web.1: running", "db.1: stopped"],
    ),
    (
        "instances of a type stop together",
        "db web=3",
        {"processes": {"web": {"depends_on": ["db"]}}},
        ["start_all", "stop_all", "stopped: web.1 web.2 web.3 | db.1"],
    ),
    (
        "after stop all nothing starts or restarts any more",
        "db flaky",
        {"processes": {"flaky": {"autorestart": "always", "backoff": FAST}}},
        [
            "start_all",
            "exit flaky.1 1",
            "stop_all",
            "stopped: db.1",
            "after 10",
            "start db.1",
            "restart flaky.1",
            "spawned: db.1 flaky.1",
            "db.1: stopped",
            "? flaky.1 next_start_at=None active=False",
        ],
    ),
]


@pytest.mark.parametrize(
    ("formation", "settings", "script"),
    [pytest.param(f, s, script, id=name) for name, f, s, script in HISTORIES],
)
def test_history(formation, settings, script):
    world = World(formation, settings)
    for number, line in enumerate(script, 1):
        try:
            world.step(line)
        except AssertionError as exc:
            raise AssertionError(f"step {number} ({line!r}): {exc}\n{world.events}") from None


def test_there_are_many_histories():
    assert len(HISTORIES) >= 40


# --- the stop order and its timeouts, directly ------------------------------------------------


def stack() -> World:
    return World(
        "db web worker clock",
        {
            "processes": {
                "db": {"timeout": 10},
                "web": {"depends_on": ["db"], "timeout": 3},
                "worker": {"depends_on": ["db"], "timeout": 1},
            }
        },
        timeout=5,
    )


def test_a_process_waits_only_for_its_dependents_being_stopped():
    world = stack()
    db, web, worker, clock = world.members
    assert world.policy.stop_waits_for(db, world.members) == [web, worker]
    assert world.policy.stop_waits_for(db, [db, clock]) == []
    assert world.policy.stop_waits_for(web, world.members) == []
    assert world.policy.stop_waits_for(clock, world.members) == []


def test_a_stop_of_all_signals_the_first_wave_at_once_but_not_a_stop_command():
    world = World(
        "db web worker clock",
        {
            "processes": {
                "web": {"depends_on": ["db"]},
                "worker": {"depends_on": ["db"], "stop_command": "celery control shutdown"},
            }
        },
    )
    db, web, _worker, clock = world.members
    # db waits for web and worker; worker's stop command comes before its signal.
    assert world.policy.signal_first(world.members) == [web, clock]
    assert world.policy.signal_first([db, clock]) == [db, clock]
    assert world.policy.signal_first([]) == []


def test_the_stop_budget_adds_up_the_waves_and_the_longest_stop_is_per_process():
    world = stack()
    policy = world.policy
    assert [policy.stop_timeout(m) for m in world.members] == [10, 3, 1, 5]
    assert policy.longest_stop == 10
    # web, worker and clock together (5 s at most: clock's), then db (10 s).
    assert policy.stop_budget(world.members) == 15
    assert policy.stop_budget([world.get("db.1")]) == 10


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_any_stop_goes_in_reverse_dependency_order_with_the_fewest_waves(data):
    count = data.draw(st.integers(1, 7))
    names = [f"p{i}" for i in range(count)]
    # Each type may depend on types before it: no cycle.
    depends = {
        n: data.draw(st.sets(st.sampled_from(names[:i]))) if i else set()
        for i, n in enumerate(names)
    }
    table = {"processes": {n: {"depends_on": sorted(d)} for n, d in depends.items() if d}}
    world = World(" ".join(names), table)
    stopping = data.draw(st.lists(st.sampled_from(world.members), unique=True, min_size=1))
    waves = world.policy.stop_waves(stopping)
    assert sorted(m.name for wave in waves for m in wave) == sorted(m.name for m in stopping)
    wave_of = {m.type: i for i, wave in enumerate(waves) for m in wave}

    def depends_on(a: str, b: str) -> bool:  # directly or not
        return b in depends[a] or any(depends_on(c, b) for c in depends[a])

    for a in wave_of:
        for b in wave_of:
            if depends_on(a, b):
                assert wave_of[a] < wave_of[b]  # the dependent is gone first
        # As early as it can be: the wave before holds something that depends on it.
        if wave_of[a]:
            assert any(depends_on(c, a) for c in wave_of if wave_of[c] == wave_of[a] - 1)
