"""A front end's copy of a keeper's run, kept up to date by what the keeper sends.

One :class:`ProcessView` per process (a :class:`~tuirunner.events.ProcessInfo` plus a copy of
its output buffer, fed with the same bytes), the environments the processes got (masked copies:
secret values never cross the socket unless asked for one by one), and the events of
:mod:`tuirunner.events` (plus the ones below) for listeners. Every message of the keeper is
decoded here (:mod:`tuirunner.protocol`), in one place; :class:`tuirunner.client.Client` adds
the connection and the commands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tuirunner.diagnose import crash_hint
from tuirunner.environment import EnvChange, Environment
from tuirunner.errors import KeeperError
from tuirunner.events import (
    InfoChanged,
    Notice,
    NoticeKind,
    OutputEnded,
    ProcessInfo,
    ProcessOutput,
    RunnerLine,
    StateChanged,
)
from tuirunner.options import DEFAULT_TIMEOUT
from tuirunner.output import DEFAULT_SCROLLBACK, OutputBuffer
from tuirunner.protocol import (
    Added,
    Bye,
    End,
    EnvChanged,
    EnvChecked,
    Line,
    NoticeMessage,
    Proc,
    Refused,
    Removed,
    Reply,
    Resync,
    SettingsChanged,
    Synced,
    Welcome,
    decode_event,
    decode_output,
    decode_sync,
)
from tuirunner.wire import OUTPUT, SYNC, FrameReader, ProtocolError


class ProcessView(ProcessInfo):
    """A client's copy of a keeper's process: its snapshot and its output."""

    def __init__(self, index: int, info: ProcessInfo, scrollback: int) -> None:
        super().__init__(**info.fields())
        self.index = index
        self.buffer = OutputBuffer(scrollback)


@dataclass(frozen=True)
class EnvironmentChanged:
    """An env file changed; processes started from now on get environment *version*."""

    version: int
    change: EnvChange


@dataclass(frozen=True)
class EnvironmentChecked:
    """Values that came masked while they were being checked for token formats are checked:
    the environments are as they stay (see ``Client.connect(early_env=True)``)."""


@dataclass(frozen=True)
class ProcessAdded:
    """A process joined the run (added by hand, or a type added to the Procfile)."""

    process: ProcessView


@dataclass(frozen=True)
class ProcessRemoved:
    """A process left the run; the processes after it moved down by one."""

    process: ProcessView


@dataclass(frozen=True)
class SettingsUpdate:
    """The settings or the Procfile changed: *error*, why the edit was not applied (None: it
    was); *summary*, what it changed."""

    error: str | None
    summary: str | None


@dataclass(frozen=True)
class Resynced:
    """The client fell behind and got what it missed (states and output) in one go."""


@dataclass(frozen=True)
class Disconnected:
    """The connection ended: *reason* is the keeper's (``down``), or None if it just went
    away (the keeper died)."""

    reason: str | None


Listener = Callable[[Any], None]


class RunMirror:
    """A copy of a run: see the module docstring. :meth:`receive` takes the keeper's bytes."""

    def __init__(self, app_root: str, scrollback: int | None) -> None:
        self.processes: list[ProcessView] = []
        self._by_name: dict[str, ProcessView] = {}
        self.envs: dict[int, Environment] = {}
        self.env_version = 0
        self.run_id = ""
        self.keeper_pid = 0
        self.app_root = app_root
        self.procfile = ""
        self.timeout = DEFAULT_TIMEOUT
        self.scrollback = DEFAULT_SCROLLBACK
        self.detached = False
        self.keeper_version = ""
        self.started_at = 0.0
        self.bye: str | None = None  # the keeper's reason, once it said goodbye
        self.groups: dict[str, list[str]] = {}  # the settings' groups (name -> types)
        self.settings_error: str | None = None  # the last edit of the settings, refused
        self._scrollback = scrollback
        self._reader = FrameReader()
        self._listeners: list[Listener] = []
        self._synced = False

    def _reply(self, reply: Reply) -> None:
        """A reply nobody waits for: one about a frame the keeper could not read (an error of
        ours, then) is not to be lost."""
        if not reply.ok:
            self._emit(Notice(None, f"the keeper: {reply.error}", NoticeKind.ERROR))

    # --- observation --------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _emit(self, event: Any) -> None:
        for listener in list(self._listeners):
            listener(event)

    def get(self, name: str) -> ProcessView:
        return self._by_name[name]

    def find(self, name: str) -> ProcessView | None:
        """The process *name*, or None if this copy does not have it."""
        return self._by_name.get(name)

    def __iter__(self):
        return iter(self.processes)

    @property
    def environment(self) -> Environment:
        """The (masked) environment a process started now gets, before its own variables
        (empty unless the client asked for environments when it connected)."""
        return self.envs.get(self.env_version) or Environment({})

    def environment_for(self, proc: ProcessInfo, version: int | None = None) -> Environment:
        """The (masked) environment *proc* gets when started now, or got (*version*)."""
        env = self.envs.get(version if version is not None else self.env_version)
        if env is None:
            env = self.environment
        return env.for_instance(proc, self.processes, self.run_id, cwd=self.app_root)

    def started_environment(self, proc: ProcessInfo) -> Environment | None:
        """The environment *proc* was last started with (None if it never started)."""
        if proc.env_version is None or proc.env_version not in self.envs:
            return None
        return self.environment_for(proc, proc.env_version)

    def stale_processes(self) -> list[ProcessView]:
        """Running processes whose environment differs from what a restart would give them."""
        return [
            p
            for p in self.processes
            if (p.state.alive and p.stale_settings)
            or (
                p.state.alive
                and p.env_version is not None
                and p.env_version != self.env_version
                and p.env_version in self.envs
                and self.environment_for(p, p.env_version).diff(self.environment_for(p))
            )
        ]

    def crash_hint(self, proc: ProcessView, how: str) -> str | None:
        """If *proc*'s last output blames a variable it lacked: ``SECRET_KEY is not set — how``."""
        environment = self.started_environment(proc) or self.environment_for(proc)
        return crash_hint(proc.buffer.tail(60), environment.as_dict(), how)

    # --- frames from the keeper ---------------------------------------------------------------

    def receive(self, data: bytes) -> None:
        for kind, payload in self._reader.feed(data):
            try:
                if kind == OUTPUT:
                    index, when, output = decode_output(payload)
                    view = self._view(index)
                    self._emit(ProcessOutput(view, view.buffer.feed(output, when)))
                elif kind == SYNC:
                    header, lines = decode_sync(payload)
                    view = self._view(header.p)
                    view.buffer.apply_export(header, lines)
                    self._emit(ProcessOutput(view, lines))
                else:
                    self._message(decode_event(payload))
            except ProtocolError as exc:
                # A keeper of this very protocol sent it: say so, and go on with the rest.
                self._emit(Notice(None, f"ignored a bad message from the keeper: {exc}"))

    def _view(self, index: int) -> ProcessView:
        if not 0 <= index < len(self.processes):
            raise ProtocolError(f"no process {index}")
        return self.processes[index]

    def _message(self, message: Any) -> None:
        if isinstance(message, Proc):
            self._update(self._view(message.p), message.info)
        elif isinstance(message, Added | Removed | SettingsChanged):
            self._reshaped(message)
        elif isinstance(message, Line):
            view = self._view(message.p)
            view.buffer.append_line(message.text, message.time)
            self._emit(RunnerLine(view, message.text))
        elif isinstance(message, End):
            view = self._view(message.p)
            self._emit(OutputEnded(view, view.buffer.finish()))
        elif isinstance(message, NoticeMessage):
            view = None if message.p is None else self._view(message.p)
            self._emit(Notice(view, message.msg, message.kind))
        elif isinstance(message, Reply):
            self._reply(message)
        elif isinstance(message, EnvChanged):
            self._environment(message)
        elif isinstance(message, EnvChecked):
            for version, env in message.envs.items():
                if version in self.envs or version == self.env_version:
                    self.envs[version] = Environment.from_wire(env)
            self._emit(EnvironmentChecked())
        elif isinstance(message, Welcome):
            self._welcome(message)
        elif isinstance(message, Resync):
            self._snapshot(message)
        elif isinstance(message, Synced):
            if self._synced:
                self._emit(Resynced())
            self._synced = True
        elif isinstance(message, Bye):
            self.bye = message.reason
        elif isinstance(message, Refused):
            raise KeeperError(message.error)

    def _reshaped(self, message: Added | Removed | SettingsChanged) -> None:
        if isinstance(message, Added):
            if message.p != len(self.processes):
                raise ProtocolError(f"process {message.p} added after {len(self.processes)}")
            view = ProcessView(message.p, message.info, self._scrollback or self.scrollback)
            self.processes.append(view)
            self._by_name[view.name] = view
            self._emit(ProcessAdded(view))
        elif isinstance(message, Removed):
            view = self._view(message.p)
            del self.processes[message.p]
            self._by_name.pop(view.name, None)
            for i, other in enumerate(self.processes):
                other.index = i
            self._emit(ProcessRemoved(view))
        else:
            self.groups = message.groups
            self.settings_error = message.error
            self._emit(SettingsUpdate(message.error, message.summary))

    def _welcome(self, message: Welcome) -> None:
        self.keeper_pid = message.pid
        self.keeper_version = message.version
        self.run_id = message.run_id
        self.app_root = message.app_root
        self.procfile = message.procfile
        self.timeout = message.timeout
        self.scrollback = message.scrollback
        self.detached = message.detached
        self.started_at = message.started_at
        self.groups = message.groups
        self.settings_error = message.settings_error
        scrollback = self._scrollback or self.scrollback
        self.processes = [
            ProcessView(i, info, scrollback) for i, info in enumerate(message.processes)
        ]
        self._by_name = {p.name: p for p in self.processes}
        self._snapshot(message)

    def _snapshot(self, message: Welcome | Resync) -> None:
        if len(message.processes) != len(self.processes):
            raise ProtocolError("a snapshot of another run")
        for view, info in zip(self.processes, message.processes, strict=True):
            self._update(view, info)
        if message.envs is not None:
            self.envs = {v: Environment.from_wire(e) for v, e in message.envs.items()}
        self.env_version = message.env_version

    def _update(self, view: ProcessView, info: ProcessInfo) -> None:
        old = view.state
        view.update_from(info)
        if view.state is not old:
            self._emit(StateChanged(view, old, view.state))
        else:
            self._emit(InfoChanged(view))

    def _environment(self, message: EnvChanged) -> None:
        version = message.version
        if message.env is not None:
            self.envs[version] = Environment.from_wire(message.env)
        self.env_version = version
        used = {p.env_version for p in self.processes} | {version}
        for old in [v for v in self.envs if v not in used]:
            del self.envs[old]
        change = message.change
        self._emit(
            EnvironmentChanged(version, EnvChange(change.added, change.removed, change.changed))
        )
