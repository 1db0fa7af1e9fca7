"""What the app does with the keeper's events: states into headers and the list, output into
repaints, crashes and environment changes into notifications."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import App

from tuirunner.client import (
    Disconnected,
    EnvironmentChanged,
    EnvironmentChecked,
    ProcessAdded,
    ProcessRemoved,
    ProcessView,
    Resynced,
    SettingsUpdate,
)
from tuirunner.events import (
    InfoChanged,
    Notice,
    NoticeKind,
    OutputEnded,
    ProcessOutput,
    RunnerLine,
    State,
    StateChanged,
)
from tuirunner.tui.widgets.process_pane import PaneStatus

if TYPE_CHECKING:
    from tuirunner.client import Client
    from tuirunner.tui.widgets.process_list import ProcessList
    from tuirunner.tui.widgets.process_pane import ProcessPane


class KeeperEvents(App[int]):
    """The keeper's events in :class:`~tuirunner.tui.app.TuirunnerApp`."""

    client: Client
    process_list: ProcessList
    input_target: str | None
    quitting: bool
    exit_code: int
    outcome: str | None
    _panes: dict[str, ProcessPane]

    if TYPE_CHECKING:  # the other parts of the app

        def clock(self) -> float: ...
        def format_pid(self, pid: int) -> str: ...
        def format_uptime(self, seconds: float) -> str: ...
        def pane(self, name: str) -> ProcessPane: ...
        def _mark_dirty(self, name: str) -> None: ...
        def _schedule_uptime(self) -> None: ...
        def action_leave_input_mode(self) -> None: ...
        def _reshaped(self, event: object) -> None: ...
        def marks(self) -> tuple[bool, bool]: ...
        def relayout_if_collapsing_changed(self, proc: ProcessView) -> None: ...

    def _on_client_event(self, event: object) -> None:
        if isinstance(event, ProcessOutput | RunnerLine | OutputEnded):
            self._mark_dirty(event.process.name)  # painted by the next flush, not now
        elif isinstance(event, StateChanged):
            self._state_changed(event)
            self._schedule_keys_check()
        elif isinstance(event, InfoChanged):
            self._show(event.process)
            self._schedule_keys_check()
            self._schedule_uptime()  # a countdown (next try in …) may start or end
        elif isinstance(event, Notice) and event.kind is NoticeKind.KILLED and not self.quitting:
            self.notify(event.message, severity="warning", markup=False)
        elif isinstance(event, EnvironmentChanged):
            self._environment_changed(event)
        elif isinstance(event, EnvironmentChecked):
            self._refresh_env_views()  # values masked while being checked may show now
        elif isinstance(event, Resynced):
            for proc in self.client:
                self._show(proc)
                self._mark_dirty(proc.name)
        elif isinstance(event, Disconnected):
            self._disconnected(event)
        elif isinstance(event, ProcessAdded | ProcessRemoved | SettingsUpdate):
            self._reshaped(event)

    def pane_status(self, proc: ProcessView) -> PaneStatus:
        """What a pane's header shows beside the state, as of now (the app's hooks say how)."""
        now = self.clock()
        pid = proc.pid if proc.state.alive else None
        return PaneStatus(
            pid=None if pid is None else self.format_pid(pid),
            uptime=self.uptime_text(proc, now),
            now=now,
        )

    def _show(self, proc: ProcessView) -> None:
        """Show a process's state wherever it appears."""
        self.process_list.refresh_process(proc)
        pane = self._panes.get(proc.name)
        if pane is not None:
            pane.show(self.pane_status(proc))

    def uptime_text(self, proc: ProcessView, now: float | None = None) -> str | None:
        uptime = proc.uptime(self.clock() if now is None else now) if proc.state.alive else None
        return None if uptime is None else self.format_uptime(uptime)

    def _state_changed(self, event: StateChanged) -> None:
        proc = event.process
        self._show(proc)
        self._schedule_uptime()
        self.relayout_if_collapsing_changed(proc)  # a oneshot completed, or runs again
        pane = self._panes.get(proc.name)
        if event.new in (State.STARTING, State.RUNNING):
            if pane is not None:
                pane.hint = ""
            self._refresh_env_views()
        if proc.name == self.input_target and not proc.state.alive:
            self.action_leave_input_mode()
            if not self.quitting:
                self.notify(f"{proc.name} is not running: input mode ended", markup=False)
        if self.quitting:
            return
        if proc.crashed:
            if proc.failures <= 1:  # in a crash loop, its pane says the rest
                what = proc.error or (proc.exit.describe() if proc.exit else "crashed")
                self.notify(f"{proc.name} {what}", severity="error", markup=False)
            self._mark_dirty(proc.name)
            self._hint(proc)

    def _schedule_keys_check(self) -> None:
        """Have the key bar offer the keys that come and go with the processes' state exactly
        while they mean something: u (a process is stale), M (migrations), K (the focused
        process's port is held by a stray). Looked at once per turn of the loop, not once per
        process that changed (1,000 at once)."""
        if not getattr(self, "_keys_check_pending", False):
            self._keys_check_pending = True
            self.call_next(self._check_keys)

    def _check_keys(self) -> None:
        self._keys_check_pending = False
        offered = (bool(self.client.stale_processes()), *self.marks())
        if offered != getattr(self, "_keys_offered", None):
            self._keys_offered = offered
            self.refresh_bindings()

    def _hint(self, proc: ProcessView) -> None:
        hint = self.client.crash_hint(proc, "press e to inspect the environment")
        if hint:
            self.pane(proc.name).hint = hint

    def _disconnected(self, event: Disconnected) -> None:
        if self.outcome is None:
            self.outcome = "lost" if event.reason is None else "down"
        self.exit(return_code=1 if self.outcome == "lost" else self.exit_code)

    # --- the environment -----------------------------------------------------------------------

    def _refresh_env_views(self) -> None:
        refresh = getattr(self.screen, "refresh_data", None)
        if refresh is not None:  # the inspector is open
            refresh()

    def _environment_changed(self, event: EnvironmentChanged) -> None:
        """An env file changed: tell what, and who still runs with the old values."""
        change = event.change
        stale = self.client.stale_processes()
        message = f"Env files changed: {change.summary()}."
        if stale:
            names = ", ".join(p.name for p in stale)
            verb, them = ("runs", "it") if len(stale) == 1 else ("run", "them")
            message += f" {names} still {verb} with the old environment: press u to restart {them}."
        warnings = len(self.client.environment.warnings)
        if warnings:
            inspector_open = len(self.screen_stack) > 1
            message += f" {warnings} warning(s)" + ("." if inspector_open else ": press e.")
        self.notify(
            message,
            title="Environment",
            timeout=20,
            markup=False,
            severity="warning" if stale else "information",
        )
        self.refresh_bindings()
        self._refresh_env_views()
