"""Process states, exit statuses, process snapshots and the events about them.

Plain data that depends on nothing else in the package: the keeper produces these, the socket
carries them as JSON, and every front end (the Textual app, the plain printer, the control
commands) reads them. An event names the process it is about by the object the receiver knows
it by: the keeper's :class:`~tuirunner.supervisor.ManagedProcess`, or a client's
:class:`~tuirunner.client.ProcessView`; both are :class:`ProcessInfo`.
"""

from __future__ import annotations

import dataclasses
import math
import signal
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class State(StrEnum):
    PENDING = "pending"  # not started yet: waiting for its dependencies, or blocked by them
    STARTING = "starting"  # started, its ready check has not passed yet
    RUNNING = "running"  # started (and ready, if it has a ready check that passed)
    STOPPING = "stopping"
    RESTARTING = "restarting"  # stopping in order to start again
    STOPPED = "stopped"  # stopped on request
    EXITED = "exited"  # ended on its own; see ProcessInfo.exit
    FAILED = "failed"  # could not be spawned at all

    @property
    def alive(self) -> bool:
        return self in (State.STARTING, State.RUNNING, State.STOPPING, State.RESTARTING)


@dataclass(frozen=True)
class ExitStatus:
    returncode: int | None = None  # exit code, when it exited
    signal: int | None = None  # signal number, when a signal killed it

    @classmethod
    def from_returncode(cls, returncode: int) -> ExitStatus:
        if returncode < 0:
            return cls(signal=-returncode)
        return cls(returncode=returncode)

    @property
    def code(self) -> int:
        """A shell-style status: the exit code, or 128 + the signal number."""
        if self.signal is not None:
            return 128 + self.signal
        return self.returncode or 0

    @property
    def success(self) -> bool:
        return self.signal is None and self.returncode == 0

    @property
    def signal_name(self) -> str:
        if self.signal is None:
            return ""
        try:
            return signal.Signals(self.signal).name
        except ValueError:
            return f"signal {self.signal}"

    def describe(self) -> str:
        if self.signal is not None:
            return f"killed by {self.signal_name}"
        return f"exited with code {self.returncode}"


_LABELS = {
    State.PENDING: "waiting",
    State.STARTING: "starting",
    State.RUNNING: "running",
    State.STOPPING: "stopping…",
    State.RESTARTING: "restarting…",
    State.STOPPED: "stopped",
    State.EXITED: "exited",
    State.FAILED: "failed to start",
}


def _seconds(seconds: float) -> str:
    """``0.4 s`` under a second, ``8 s`` under two minutes, else ``5m03s``."""
    if seconds < 1:
        return f"{seconds:.1f} s"
    return f"{int(seconds)} s" if seconds < 120 else format_duration(seconds)


def format_duration(seconds: float) -> str:
    """``42s``, ``5m03s``, ``2h05m``, ``3d04h``."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


@dataclass(eq=False)
class ProcessInfo:
    """What there is to know about one instance (``web.1``), across its restarts.

    The keeper's live process and a client's view of it are both this, so front ends and
    events work on either.
    """

    name: str
    type: str
    number: int
    command: str
    port: int
    state: State = State.PENDING
    pid: int | None = None
    last_pid: int | None = None  # of its last start, running or not
    exit: ExitStatus | None = None
    error: str | None = None  # why it could not be spawned
    start_count: int = 0
    started_at: float | None = None  # wall clock (time.time()) of the last start
    ended_at: float | None = None
    env_version: int | None = None  # the environment it was started with (see the keeper)
    forced: bool = False  # its last stop needed SIGKILL
    # ... after this stop timeout, seconds (None: at once, by a forced quit)
    forced_after: float | None = None
    # --- its policy at run time (the settings' [processes.NAME]) ---
    oneshot: bool = False  # runs to completion: exit 0 is "completed"
    ready: bool | None = None  # None: no ready check; False: not (yet) ready; True: it passed
    ready_error: str | None = None  # why the ready check gave up
    # While its ready check is still trying: the last failure, with the tries and the time so
    # far ("HTTP 400 from http://127.0.0.1:8000/ (3 tries, 12 s)"); None once it passed.
    ready_failure: str | None = None
    ready_tries: int = 0  # attempts of its ready check so far (since the last start)
    # --- its health check, once ready (the settings' health) ---
    health_failure: str | None = None  # the last failed probe, while it fails
    health_failures: int = 0  # failed probes in a row
    unhealthy: bool = False  # as many failures in a row as ``health.failures`` allows
    port_from: str = ""  # where its PORT comes from ("tuirunner.toml [processes.web.port]")
    waiting_for: str | None = None  # PENDING: the dependency it waits for ("release.1: completed")
    blocked: str | None = None  # PENDING: why it cannot start ("release.1 exited with code 1")
    failures: int = 0  # automatic restarts in a row (back to 0 once it ran reset_after)
    failing_since: float | None = None  # wall clock of the first exit of those
    next_start_at: float | None = None  # wall clock of its next automatic start (backoff)
    started_because: str | None = None  # why it was restarted by tuirunner ("models.py changed")
    log_error: str | None = None  # why its log_file cannot be written (tried again); None: fine
    on_demand: bool = False  # PENDING: in the run, not started until started by hand
    added: bool = False  # added to the run by hand (tuirunner add, a): x removes it
    stale_settings: str | None = None  # what an edit changed that its next start takes ("command")
    # --- what it says about the project (tuirunner/migrations.py, tuirunner/portholders.py) ---
    migrations: str | None = None  # "2 unapplied migrations (polls)", "models changed, no …"
    port_holder: str | None = None  # who listens on its PORT already (before it started)
    stray_pid: int | None = None  # that holder, when it is a stray of this app root's own run
    # --- resource use of its whole process tree, while sampled (None: not sampled) ---
    cpu: int | None = None  # percent of one CPU
    memory: int | None = None  # resident memory, MB
    ports: tuple[int, ...] | None = None  # TCP ports it listens on

    @property
    def restart_count(self) -> int:
        return max(0, self.start_count - 1)

    @property
    def crashed(self) -> bool:
        return self.state is State.FAILED or (
            self.state is State.EXITED and self.exit is not None and not self.exit.success
        )

    def label(self) -> tuple[str, str]:
        """What state it is in, in words, and the kind of state (for colours):
        ``("running", "running")``, ``("exited 0", "exited")``, ``("crashed: exit 3",
        "crashed")``, ``("stopping…", "stopping")``…"""
        if self.state is State.FAILED:
            return "failed to start", "crashed"
        if self.state is State.PENDING and self.blocked:
            return "blocked", "stopped"
        if self.state is State.PENDING and self.on_demand:
            return "not started", "stopped"
        if self.state is State.EXITED and self.exit is not None:
            if self.exit.success:
                return ("completed" if self.oneshot else "exited 0"), "exited"
            if self.exit.signal is not None:
                return f"crashed: {self.exit.signal_name}", "crashed"
            return f"crashed: exit {self.exit.returncode}", "crashed"
        return _LABELS[self.state], self.state.value

    def state_word(self) -> str:
        """The state in one word, the first of :meth:`label` (what ``ps`` shows): waiting,
        blocked, starting, running, stopping, restarting, stopped, completed, exited, crashed
        or failed; and ``not started`` (an on-demand process). ``ps --json`` gives it as
        ``state``."""
        label = self.label()[0]
        if label == "not started":
            return label
        return label.split()[0].rstrip(":…")

    @property
    def active(self) -> bool:
        """Running, or going to start by itself: waiting for (or blocked by) its dependencies,
        or for its next automatic restart. What a stop acts on; a start acts on the others."""
        if self.state.alive or self.next_start_at is not None:
            return True
        return self.state is State.PENDING and bool(self.waiting_for or self.blocked)

    def detail(self, now: float | None = None) -> str | None:
        """What its policy is doing, in words, beside the state: ``waiting for release.1:
        completed``, ``blocked: release.1 exited with code 1``, ``crashed 4× in 60 s — next try
        in 8 s``, ``ready``, ``restarted: models.py changed``; None when there is nothing to say.
        *now* is wall-clock time (default: now)."""
        notes = [n for n in (self.port_holder, self.migrations) if n]
        detail = self._policy_detail(now)
        return ", ".join([*notes, detail] if detail else notes) or None

    def _policy_detail(self, now: float | None) -> str | None:
        if self.state is State.PENDING:
            if self.blocked:
                return f"blocked: {self.blocked}"
            if self.waiting_for:
                return f"waiting for {self.waiting_for}"
            return None
        if self.next_start_at is not None and not self.state.alive:
            now = time.time() if now is None else now
            crashed = self.crashed
            what = "crashed" if crashed else "exited"
            if self.failures > 1 and self.failing_since is not None:
                span = max(0.0, now - self.failing_since)
                what += f" {self.failures}× in {_seconds(span)}"
            left = max(0.0, self.next_start_at - now)
            left = left if left < 1 else math.ceil(left)
            return f"{what} — next {'try' if crashed else 'start'} in {_seconds(left)}"
        log_error = f"log file: {self.log_error}" if self.log_error else None
        if not self.state.alive:
            return log_error
        parts = []
        if self.unhealthy and self.health_failure:
            parts.append(f"unhealthy: {self.health_failure}")
        elif self.ready:
            parts.append("ready")
        elif self.ready_error and self.state is State.RUNNING:
            parts.append(f"not ready: {self.ready_error}")
        elif self.ready_failure and self.state is State.STARTING:
            parts.append(f"not ready yet: {self.ready_failure}")
        if self.started_because:
            parts.append(f"restarted: {self.started_because}")
        if log_error:
            parts.append(log_error)
        if self.stale_settings:
            parts.append(f"{self.stale_settings} changed: restart to apply")
        return ", ".join(parts) or None

    def resources(self) -> str | None:
        """CPU, memory and listening ports of its process tree, ``3% 41 MB :8000``; None when
        they are not sampled (or it is not running)."""
        parts = []
        if self.cpu is not None:
            parts.append(f"{self.cpu}%")
        if self.memory is not None:
            parts.append(f"{self.memory} MB")
        if self.ports:
            shown = " ".join(f":{port}" for port in self.ports[:3])
            parts.append(shown + (" …" if len(self.ports) > 3 else ""))
        return " ".join(parts) or None

    def uptime(self, now: float) -> float | None:
        """Seconds it has run (or ran, once ended); *now* is wall-clock time."""
        if self.started_at is None:
            return None
        end = self.ended_at if self.ended_at is not None and not self.state.alive else now
        return max(0.0, end - self.started_at)

    def fields(self) -> dict[str, Any]:
        """Its snapshot: every field (what the protocol sends of it)."""
        return {name: getattr(self, name) for name in _FIELDS}

    def snapshot(self) -> ProcessInfo:
        """A copy of its snapshot alone, what the protocol sends (a subclass's own fields, the
        keeper's policy data, stay behind)."""
        return ProcessInfo(**self.fields())

    def update_from(self, info: ProcessInfo) -> None:
        """Take every field of a snapshot over."""
        for name in _FIELDS:
            setattr(self, name, getattr(info, name))


_FIELDS = tuple(f.name for f in dataclasses.fields(ProcessInfo))


# --- events -------------------------------------------------------------------------------------
# ``process`` is a ProcessInfo: the keeper's ManagedProcess, or a client's ProcessView.


@dataclass(frozen=True)
class ProcessOutput:
    """New output: *lines* are the lines completed by it (the partial line may have changed
    too). In the keeper, *data* holds the raw bytes read from the terminal."""

    process: Any
    lines: list[str]
    data: bytes = b""


@dataclass(frozen=True)
class RunnerLine:
    """A line of the runner's own added to the output (``── web.1 restarted ──``)."""

    process: Any
    text: str


@dataclass(frozen=True)
class OutputEnded:
    """The process's terminal closed: its unfinished last line, if any, became *last*."""

    process: Any
    last: str | None


@dataclass(frozen=True)
class StateChanged:
    process: Any
    old: State
    new: State


@dataclass(frozen=True)
class InfoChanged:
    """Something of the process's snapshot other than its state changed."""

    process: Any


class NoticeKind(StrEnum):
    """What a :class:`Notice` is about, so that a front end decides how to show it without
    reading its words."""

    INFO = "info"  # a stop signal sent, strays stopped: worth a line, not an alert
    KILLED = "killed"  # a process did not stop in time and was sent SIGKILL
    ERROR = "error"  # something failed: a spawn, a log file


@dataclass(frozen=True)
class Notice:
    """Something the runner did that a user may want to see (``sending SIGKILL to web.1``)."""

    process: Any
    message: str
    kind: NoticeKind = NoticeKind.INFO


Event = ProcessOutput | RunnerLine | OutputEnded | StateChanged | InfoChanged | Notice
