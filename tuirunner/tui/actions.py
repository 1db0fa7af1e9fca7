"""What keys, buttons and the command palette do: commands to the keeper, and the view's own
actions (zoom, search, copy, input mode, the environment inspector, quit, detach).

Every command goes through :meth:`Actions.command`: the events say what happens, and a command
the keeper refuses says why, in a notification.
"""

from __future__ import annotations

import asyncio
import contextlib
from functools import partial
from typing import TYPE_CHECKING, Any
from weakref import WeakSet

from textual import events, on
from textual.app import App
from textual.theme import Theme
from textual.widgets import Input

from tuirunner.client import KeeperError
from tuirunner.events import State
from tuirunner.tui.preferences import Preferences
from tuirunner.tui.widgets.output_view import OutputView
from tuirunner.tui.widgets.process_pane import ProcessPane
from tuirunner.tui.widgets.search_bar import SearchInput

if TYPE_CHECKING:
    from tuirunner.client import Client

QUIT_NOTICE_AFTER = 0.5  # seconds of stopping before "press q again to kill them now"


class Actions(App[int]):
    """The actions of :class:`~tuirunner.tui.app.TuirunnerApp`."""

    client: Client
    current: str
    input_target: str | None
    quitting: bool
    outcome: str | None
    preferences: Preferences
    _retyped: WeakSet[events.Key]

    if TYPE_CHECKING:  # the other parts of the app

        @property
        def current_pane(self) -> ProcessPane: ...
        @property
        def panes(self) -> list[ProcessPane]: ...
        def pane(self, name: str) -> ProcessPane: ...
        def focus_process(self, name: str, focus_view: bool = True) -> None: ...

    # --- commands to the keeper ------------------------------------------------------------------

    def command(self, what: str, future: asyncio.Future[Any]) -> None:
        """Look at the outcome of a command sent to the keeper (*what*: ``restart web.1``):
        if it refused, say why."""
        future.add_done_callback(partial(self._command_done, what))

    def _command_done(self, what: str, future: asyncio.Future[Any]) -> None:
        if future.cancelled() or not self.is_running or self.client.closed:
            return  # the keeper going away is told otherwise (the app ends)
        error = future.exception()
        if isinstance(error, KeeperError):
            self.notify(f"{what}: {error}", severity="error", markup=False)

    def restart_process(self, name: str) -> None:
        self.command(f"restart {name}", self.client.restart(name))

    def toggle_process(self, name: str) -> None:
        proc = self.client.get(name)
        if proc.state in (State.STOPPING, State.RESTARTING):
            return
        if proc.active:  # running, waiting for a dependency, or for an automatic restart
            self.command(f"stop {name}", self.client.stop(name))
        else:
            self.command(f"start {name}", self.client.start_processes(name))

    def stop_all(self) -> None:
        self.command("stop all", self.client.stop_all())

    def start_all(self) -> None:
        self.command("start all", self.client.start_all())

    def action_restart(self) -> None:
        self.restart_process(self.current)

    def action_toggle(self) -> None:
        self.toggle_process(self.current)

    def action_restart_all(self) -> None:
        self.command("restart all", self.client.restart_all())

    def action_restart_stale(self) -> None:
        stale = self.client.stale_processes()
        for proc in stale:
            self.restart_process(proc.name)
        if stale:
            what = "settings" if any(p.stale_settings for p in stale) else "environment"
            self.notify(
                f"Restarting {', '.join(p.name for p in stale)} with the new {what}",
                markup=False,
                timeout=5,
            )

    def migrations_pending(self) -> bool:
        return any(p.migrations and "unapplied" in p.migrations for p in self.client)

    def marks(self) -> tuple[bool, bool]:
        """What decides whether the Migrate and Stop-stray keys show."""
        return self.migrations_pending(), self.client.get(self.current).stray_pid is not None

    def action_migrate(self) -> None:
        """Apply the migrations: the keeper restarts the release process (or adds one)."""
        future = self.client.migrate()
        self.command("migrate", future)
        future.add_done_callback(self._say_result)

    def _say_result(self, future: asyncio.Future[Any]) -> None:
        if future.cancelled() or future.exception() is not None or not self.is_running:
            return
        self.notify(str(future.result()), markup=False, timeout=5)

    def action_stop_stray(self) -> None:
        """Stop what an earlier run here left holding the focused process's port."""
        self.stop_stray(self.current)

    def stop_stray(self, name: str) -> None:
        future = self.client.stop_stray(name)
        self.command(f"stop the stray holding {name}'s port", future)
        future.add_done_callback(self._say_result)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.input_target is not None:
            # Keys go to the process: only Esc means something here.
            return action == "leave_input_mode"
        if action == "leave_input_mode":
            return False
        if action == "restart_stale":
            return not self.quitting and bool(self.client.stale_processes())
        if action == "migrate":
            return not self.quitting and self.migrations_pending()
        if action == "stop_stray":
            return not self.quitting and self.client.get(self.current).stray_pid is not None
        if len(self.screen_stack) > 1:  # the inspector, a dialog or the palette: no pane actions
            return action in ("quit", "command_palette", "focus_next", "focus_previous")
        if action == "search" and isinstance(self.focused, SearchInput):
            return False  # "/" is typed into it
        return not self.quitting or action in ("quit", "escape")

    # --- keys --------------------------------------------------------------------------------

    def _on_key(self, event: events.Key) -> None:
        """A key that comes back unhandled from the widget it was sent to, here to run the app's
        bindings. Keys typed in one burst after one that changed where keys go were sent on
        to the widget that had the focus before: ``/web`` typed fast or pasted (``/`` opens the
        search bar), ``ils`` and Enter (``i``: input mode). Those go where keys go now, not to
        the app's keys (``w`` wrap, ``e`` the environment; in input mode, nothing). An input
        handles every printable key itself, and a view in input mode every key, so one that
        comes back while they have the focus is such a key (a key sent on this way that comes
        back again runs the bindings)."""
        focused = self.focused
        takes = (isinstance(focused, Input) and event.is_printable) or (
            isinstance(focused, OutputView) and focused.input_mode
        )
        if takes and event not in self._retyped:
            event.stop()
            event.prevent_default()  # App._on_key (the bindings) is called next otherwise
            retyped = events.Key(event.key, event.character)
            self._retyped.add(retyped)
            focused.post_message(retyped)

    # --- from the widgets ----------------------------------------------------------------------

    def on_output_view_typed(self, message: OutputView.Typed) -> None:
        name = message.view.process.name
        self.command(f"type into {name}", self.client.write(name, message.data))

    def on_output_view_resized(self, message: OutputView.Resized) -> None:
        name = message.view.process.name
        self.command(f"resize {name}", self.client.resize(name, message.columns, message.rows))

    def on_output_view_leave_input(self, message: OutputView.LeaveInput) -> None:
        self.action_leave_input_mode()

    @on(OutputView.InputClicked)
    def _input_clicked(self, event: OutputView.InputClicked) -> None:
        self.enter_input_mode(event.view.process.name)

    @on(ProcessPane.Requested)
    def _pane_requested(self, event: ProcessPane.Requested) -> None:
        name = event.pane.process.name
        if event.action == "restart":
            self.restart_process(name)
        elif event.action == "toggle":
            self.toggle_process(name)
        elif event.action == "env":
            self.show_env(name)

    # --- the view ------------------------------------------------------------------------------

    async def open_search(self, name: str) -> None:
        self.focus_process(name, focus_view=False)  # the search bar takes it
        await self.pane(name).open_search()

    async def action_search(self) -> None:
        await self.open_search(self.current)

    def action_copy(self) -> None:
        text = self.screen.get_selected_text()
        what = "selection"
        if not text:
            text = self.current_pane.view.visible_text()
            what = f"visible lines of {self.current}"
        self.copy_to_clipboard(text)
        self.notify(f"Copied the {what} to the clipboard", markup=False, timeout=3)

    def action_escape(self) -> None:
        """One Esc leaves the innermost mode: input mode (handled by the output view, which has
        the keys then), then the search bar, then zoom; a selection is cleared too."""
        pane = self.current_pane
        if self.input_target is not None:
            self.action_leave_input_mode()
        elif pane.searching:
            pane.close_search()
        elif self.zoomed_pane is not None:
            self.action_zoom()
        self.screen.clear_selection()

    def _theme_changed(self, theme: Theme) -> None:
        if theme.name != self.preferences.theme:
            self.preferences.theme = theme.name
            self.preferences.save()

    # --- input mode ----------------------------------------------------------------------------

    def enter_input_mode(self, name: str) -> None:
        proc = self.client.get(name)
        if not proc.state.alive:
            self.notify(
                f"{name} is not running: start it (s) before typing into it",
                severity="warning",
                markup=False,
            )
            return
        if self.input_target is not None:
            self.action_leave_input_mode()
        self.focus_process(name)
        self.input_target = name
        self.pane(name).input_mode = True

    def action_input_mode(self) -> None:
        self.enter_input_mode(self.current)

    def action_leave_input_mode(self) -> None:
        name, self.input_target = self.input_target, None
        if name is not None:
            self.pane(name).input_mode = False

    def watch_input_target(self, target: str | None) -> None:
        for pane in self.panes:  # a click on another pane's output moves input mode there
            pane.view.app_in_input_mode = target is not None

    # --- the environment -----------------------------------------------------------------------

    def show_env(self, name: str) -> None:
        from tuirunner.tui.screens.inspector import EnvInspector

        if isinstance(self.screen, EnvInspector):
            self.screen.dismiss()
        self.push_screen(EnvInspector(name))

    def action_env(self) -> None:
        self.show_env(self.current)

    # --- quitting and detaching ---------------------------------------------------------------

    def action_quit(self) -> None:
        """Stop every process, then exit; a second time, kill them at once."""
        if self.quitting:
            self.command("kill all", self.client.down(force=True))
            return
        # The keeper first: the processes need not wait for the screen.
        self.command("quit", self.client.down())
        self.quitting = True
        # Not a class on the screen: that restyles every widget of it (~40 ms with 100
        # processes, before the window could read what the keeper sent).
        for pane in self.panes:
            pane.header.show_quitting()
        # Said only if the stop takes a while: most take a few tens of milliseconds, and the
        # notification's layout would hold the window up for longer than that.
        self.set_timer(QUIT_NOTICE_AFTER, self._quit_notice)

    def _quit_notice(self) -> None:
        if any(p.state.alive for p in self.client):
            self.notify(
                "Stopping all processes… press q again to kill them now",
                title="Quitting",
                timeout=60,
                markup=False,
            )

    async def action_detach(self) -> None:
        """Leave the processes running; `tuirunner attach` comes back to them."""
        self.outcome = "detached"
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.client.detach(), 5)
        self.client.close()
        self.exit(return_code=0)
