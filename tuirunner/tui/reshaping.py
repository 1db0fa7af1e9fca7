"""The run's processes changing while the app shows them: a process added (``a``, or
``tuirunner add``, or a type added to the Procfile) gets a pane, a removed one (``x``) loses
it; an edit of the settings or the Procfile is announced, or, when invalid, reported."""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING
from weakref import WeakSet

from textual.app import App

from tuirunner import heap
from tuirunner.client import ProcessAdded, ProcessRemoved, SettingsUpdate

if TYPE_CHECKING:
    from textual.timer import Timer

    from tuirunner.client import Client
    from tuirunner.tui.widgets.process_list import ProcessList
    from tuirunner.tui.widgets.process_pane import ProcessPane

# How many times (AFTER_START apart) a pane removed is waited for before the start's objects
# are frozen again all the same (heap.py).
REFREEZE_TRIES = 5


class Reshaping(App[int]):
    """A part of :class:`~tuirunner.tui.app.TuirunnerApp`."""

    client: Client
    process_list: ProcessList
    current: str
    input_target: str | None
    _panes: dict[str, ProcessPane]
    _refreeze: Timer | None  # the start frozen again, after a pane went (see _thaw)
    _thawed: WeakSet[ProcessPane]  # the panes it waits for
    _refreeze_tries: int

    if TYPE_CHECKING:  # the other parts of the app

        def _layout(self, size=None) -> None: ...
        def _renumber(self) -> None: ...
        def command(self, what: str, future) -> None: ...
        def action_leave_input_mode(self) -> None: ...

    def _reshaped(self, event: object) -> None:
        if isinstance(event, ProcessAdded | ProcessRemoved):
            if isinstance(event, ProcessRemoved):
                self._forget(event.process.name)
            self.process_list.reset(list(self.client))
            self._renumber()
            if self.is_mounted:
                self._layout()
        elif isinstance(event, SettingsUpdate):
            self._settings_update(event)

    def _forget(self, name: str) -> None:
        if self.input_target == name:
            self.action_leave_input_mode()
        if self.current == name:
            self._zoomed = False  # the layout that follows shows the others again
        pane = self._panes.pop(name, None)
        if pane is not None:
            pane.display = False  # not painted while it goes
            pane.remove()
            self._thaw(pane)
        if self.current == name and self.client.processes:
            self.current = self.client.processes[0].name
            self.call_after_refresh(self._focus_current)

    def _thaw(self, pane: ProcessPane) -> None:
        """*pane* is going. If the start made it, it was frozen with the start (tune_memory),
        and its cycles would never be freed: the start's objects are unfrozen, and frozen again
        once the pane is freed (heap.py)."""
        if heap.thaw() or self._refreeze is not None:  # (or thawed already, for another)
            self._thawed.add(pane)
            self._refreeze_tries = 0
            if self._refreeze is not None:
                self._refreeze.stop()
            self._refreeze = self.set_timer(heap.AFTER_START, self._freeze_again)

    def _freeze_again(self) -> None:
        # Textual keeps a container's last list of displayed children until it is asked again.
        self.query_one("#panes").displayed_children  # noqa: B018
        gc.collect()
        if self._thawed and self._refreeze_tries < REFREEZE_TRIES:
            self._refreeze_tries += 1  # still held, by what a frame or an event has not let go
            self._refreeze = self.set_timer(heap.AFTER_START, self._freeze_again)
            return
        self._thawed.clear()
        self._refreeze = None
        heap.collect_and_freeze()

    def _focus_current(self) -> None:
        pane = self._panes.get(self.current)
        if pane is not None and pane.is_mounted:
            pane.view.focus()

    def _settings_update(self, event: SettingsUpdate) -> None:
        if event.error is not None:
            self.notify(
                f"Not applied, the run goes on as it was: {event.error}",
                title="Settings",
                severity="error",
                timeout=30,
                markup=False,
            )
        elif event.summary:
            stale = "press u" in event.summary
            self.notify(
                f"The Procfile or the settings changed: {event.summary}.",
                title="Procfile and settings",
                severity="warning" if stale else "information",
                timeout=20,
                markup=False,
            )
        self.refresh_bindings()

    # --- adding and removing by hand ----------------------------------------------------------

    def action_add_process(self) -> None:
        from tuirunner.tui.screens.add_process import AddProcess

        taken = {p.type for p in self.client} | set(self.client.groups)

        def added(answer: tuple[str, str] | None) -> None:
            if answer is not None:
                name, command = answer
                self.command(f"add {name}", self.client.add(name, command))

        self.push_screen(AddProcess(taken), added)

    def remove_process(self, name: str) -> None:
        proc = self.client.get(name)
        if not proc.added:
            self.notify(
                f"{name} is in the Procfile: x removes processes added with a "
                "(or tuirunner add); s stops it",
                severity="warning",
                markup=False,
            )
            return
        self.command(f"remove {name}", self.client.remove(name))

    def action_remove_process(self) -> None:
        self.remove_process(self.current)

    # --- groups, for the palette ----------------------------------------------------------------

    def group_command(self, verb: str, group: str) -> None:
        call = {
            "restart": self.client.restart,
            "start": self.client.start_processes,
            "stop": self.client.stop,
        }[verb]
        self.command(f"{verb} {group}", call(group))
