"""The Textual app: a pane per process, a client of the keeper like every front end.

The app drives the keeper through a :class:`~tuirunner.client.Client` (commands out, events in)
and never touches a process itself. ``q`` stops everything (``down``); ``d`` detaches, leaving
the processes running for a later ``tuirunner attach``.

Idle means idle: nothing runs on a timer. Output marks its pane dirty and schedules one repaint
(at most 30 a second, 5 for a pane flooded with more than a screenful per frame), which sends
only the rows whose look changed; an uptime is shown in minutes and repainted when its minute
changes; the keyboard thread sleeps while no key is pressed (driver.py); panes are created only
when shown (a hundred processes make a list and one pane, not a hundred panes).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import sys
import threading
import time
from pathlib import Path

from textual import events, on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.driver import Driver
from textual.geometry import Size
from textual.reactive import reactive
from textual.screen import Screen
from textual.theme import Theme
from textual.widgets import OptionList

from tuirunner.client import (
    Client,
    Disconnected,
    EnvironmentChanged,
    ProcessView,
    Resynced,
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
from tuirunner.launch import KeeperProcess
from tuirunner.tiling import MAX_TILED, choose_grid
from tuirunner.tui.commands import ProcessCommands
from tuirunner.tui.preferences import Preferences
from tuirunner.tui.widgets.key_bar import KeyBar
from tuirunner.tui.widgets.output_view import OutputView
from tuirunner.tui.widgets.process_list import ProcessList
from tuirunner.tui.widgets.process_pane import ProcessPane, SearchInput

HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
WATCHDOG_GRACE = 5.0  # seconds beyond the stop timeout before a signal forces the exit
FLUSH_INTERVAL = 1 / 30  # repaint output at most this often, however fast children print


def format_uptime(seconds: float) -> str:
    """In minutes: it changes once a minute, so it is repainted once a minute."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return "up <1m"
    if minutes < 60:
        return f"up {minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"up {hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"up {days}d{hours:02d}h"


class Blank(Container):
    """A container its children cover: Textual repaints it as one blank strip (``BLANK``)
    rather than rendering it, which an output update would do for every row under it."""

    BLANK = True


class MainScreen(Screen):
    BLANK = True


class TuirunnerApp(App[int]):
    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "tuirunner"
    COMMANDS = App.COMMANDS | {ProcessCommands}
    BINDINGS = [
        Binding("r", "restart", "Restart", id="restart"),
        Binding("s", "toggle", "Stop/Start", id="toggle"),
        Binding("R", "restart_all", "Restart all", id="restart_all"),
        Binding("z", "zoom", "Zoom", id="zoom"),
        Binding("slash", "search", "Search", id="search"),
        Binding("i", "input_mode", "Input", id="input_mode"),
        Binding("e", "env", "Env", id="env"),
        Binding("c", "copy", "Copy", id="copy"),
        Binding("d", "detach", "Detach", id="detach"),
        Binding("q", "quit", "Quit", id="quit"),
        Binding("ctrl+c", "quit", "Quit", show=False),
        Binding("escape", "escape", "Back", show=False),
        Binding("escape", "leave_input_mode", "Leave input mode", id="leave_input_mode"),
        Binding("u", "restart_stale", "Restart stale", id="restart_stale"),
        *(Binding(str(n), f"select({n})", f"Pane {n}", show=False) for n in range(1, 10)),
    ]

    # State that decides which keys mean something (the footer follows it).
    input_target: reactive[str | None] = reactive(None, bindings=True)
    quitting: reactive[bool] = reactive(False, bindings=True)
    list_mode: reactive[bool] = reactive(False)

    def __init__(
        self,
        client: Client,
        keeper: KeeperProcess | None = None,
        handle_signals: bool = True,
        preferences: Preferences | None = None,
    ) -> None:
        super().__init__()
        self.client = client
        self.keeper = keeper  # ours if we started the run (the foreground front end)
        self.handle_signals = handle_signals
        self.preferences = preferences if preferences is not None else Preferences.load()
        self.process_list = ProcessList(list(client), id="process-list")
        self.current = client.processes[0].name  # the process keys act on
        self.exit_code = 0
        self.outcome: str | None = None  # "down", "detached" or "lost" (the keeper died)
        self._panes: dict[str, ProcessPane] = {}
        self._dirty: set[str] = set()
        self._flush_timer: asyncio.TimerHandle | None = None
        self._uptime_timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous_handlers: dict[signal.Signals, object] = {}
        self._watchdog_started = False
        self._unsubscribe = client.subscribe(self._on_client_event)

    # --- hooks tests may override ------------------------------------------------------------

    def format_pid(self, pid: int) -> str:
        return f"pid {pid}"

    def clock(self) -> float:
        """Wall-clock now, for uptimes."""
        return time.time()

    def format_uptime(self, seconds: float) -> str:
        return format_uptime(seconds)

    # --- panes -------------------------------------------------------------------------------

    @property
    def panes(self) -> list[ProcessPane]:
        """The panes that exist (the shown ones, and those shown before), in Procfile order."""
        return [self._panes[p.name] for p in self.client if p.name in self._panes]

    def pane(self, name: str) -> ProcessPane:
        """The pane of process *name*, created (and mounted, hidden) if it was never shown."""
        pane = self._panes.get(name)
        if pane is None:
            pane = self._new_pane(self.client.get(name))
            if self.is_mounted:
                pane.display = False
                later = [p for p in self.panes if p.process.index > pane.process.index]
                self.query_one("#panes").mount(pane, before=later[0] if later else None)
        return pane

    def _new_pane(self, proc: ProcessView) -> ProcessPane:
        pane = ProcessPane(proc, proc.index + 1)
        self._panes[proc.name] = pane
        return pane

    @property
    def current_pane(self) -> ProcessPane:
        """The pane keys act on: the one focus is in (or was last in, or was just chosen)."""
        return self.pane(self.current)

    def _shown(self, pane: ProcessPane) -> bool:
        return pane.is_mounted and pane.display

    # --- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        grid = self._grid()
        yield self.process_list  # docked on the left, shown in list mode
        with Blank(id="panes"):
            for proc in self.client:
                if grid is not None or proc.name == self.current:
                    yield self._new_pane(proc)
        yield KeyBar()

    def get_driver_class(self) -> type[Driver]:
        """Ours (an input thread that sleeps while no key is pressed), unless TEXTUAL_DRIVER
        names another."""
        from textual import constants

        if constants.DRIVER is not None or sys.platform == "win32":
            return super().get_driver_class()
        from tuirunner.tui.driver import QuietDriver

        return QuietDriver

    def get_default_screen(self) -> Screen:
        return MainScreen(id="_default")

    def _grid(self, size: Size | None = None) -> tuple[int, int] | None:
        width, height = size or self.size
        return choose_grid(len(self.client.processes), width, height - 1)

    async def on_mount(self) -> None:
        if self.preferences.theme in self.available_themes:
            self.theme = self.preferences.theme
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self._loop = asyncio.get_running_loop()
        self._layout()
        self.current_pane.view.focus()
        if self.handle_signals:
            for sig in HANDLED_SIGNALS:
                self._previous_handlers[sig] = signal.signal(sig, self._signal_received)
        await self.client.start()
        for proc in self.client:  # what happened before we were connected
            self._show(proc)
            self._dirty.add(proc.name)
            if proc.crashed:
                self._hint(proc)
        self._flush()  # the first frame shows it: no waiting for the repaint timer
        self._schedule_uptime()
        warnings = len(self.client.environment.warnings)
        if warnings:
            self.notify(
                f"{warnings} warning(s) about the environment: press e to see them",
                severity="warning",
                timeout=8,
                markup=False,
            )
        if self.client.closed:
            self._disconnected(Disconnected(self.client.bye))

    def on_unmount(self) -> None:
        self._unsubscribe()
        for timer in (self._flush_timer, self._uptime_timer):
            if timer is not None:
                timer.cancel()
        for sig, handler in self._previous_handlers.items():
            with contextlib.suppress(Exception):
                signal.signal(sig, handler)
        self.client.close()

    def on_resize(self, event: events.Resize) -> None:
        # The event's size: App.size may not have caught up with it yet.
        self._layout(event.size)

    def _layout(self, size: Size | None = None) -> None:
        """Tile the panes, or show the list and the current pane: the same layout, whatever
        size the terminal had before."""
        grid = self._grid(size)
        container = self.query_one("#panes")
        self.list_mode = grid is None
        self.process_list.display = self.list_mode
        if grid is None:
            container.styles.grid_size_columns = 1
            container.styles.grid_size_rows = 1
            # display, not a CSS class: changing a class restyles the whole pane, which is slow
            for pane in self.panes:
                pane.display = pane.process.name == self.current
                pane.styles.column_span = 1
            self.current_pane.display = True
            index = self.client.get(self.current).index
            if self.process_list.highlighted != index:
                self.process_list.highlighted = index
        else:
            columns, rows = grid
            container.styles.grid_size_columns = columns
            container.styles.grid_size_rows = rows
            last = len(self.client.processes) - 1
            spare = columns * rows - last - 1
            for proc in self.client:
                pane = self.pane(proc.name)
                pane.display = True
                pane.styles.column_span = 1 + spare if proc.index == last else 1
        for pane in self.panes:
            if self._shown(pane):
                self._mark_dirty(pane.process.name)

    def watch_list_mode(self, list_mode: bool) -> None:
        self.process_list.can_focus = list_mode

    # --- which pane ----------------------------------------------------------------------------

    def on_descendant_focus(self, event) -> None:
        node = event.widget
        while node is not None and not isinstance(node, ProcessPane):
            node = node.parent
        if isinstance(node, ProcessPane):
            self.current = node.process.name

    def focus_process(self, name: str, focus_view: bool = True) -> None:
        pane = self.pane(name)
        self.current = name
        if self.list_mode:
            self._layout()
        if self.screen.maximized is not None and self.screen.maximized is not pane:
            self.screen.maximize(pane, container=False)
        if focus_view:
            pane.view.focus()

    def action_select(self, number: int) -> None:
        if 1 <= number <= len(self.client.processes):
            self.focus_process(self.client.processes[number - 1].name)

    def action_focus_pane(self, step: int) -> None:
        index = self.client.get(self.current).index
        count = len(self.client.processes)
        self.focus_process(self.client.processes[(index + step) % count].name)

    @on(OptionList.OptionHighlighted, "#process-list")
    def _list_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        name = self.client.processes[event.option_index].name
        if name != self.current:
            self.current = name
            self._layout()

    @on(OptionList.OptionSelected, "#process-list")
    def _list_selected(self, event: OptionList.OptionSelected) -> None:
        self.focus_process(self.client.processes[event.option_index].name)

    # --- events from the keeper ----------------------------------------------------------------

    def _on_client_event(self, event: object) -> None:
        if isinstance(event, ProcessOutput | RunnerLine | OutputEnded):
            self._mark_dirty(event.process.name)  # painted by the next flush, not now
        elif isinstance(event, StateChanged):
            self._state_changed(event)
        elif isinstance(event, InfoChanged):
            self._show(event.process)
            self._schedule_uptime()  # a countdown (next try in …) may start or end
        elif isinstance(event, Notice) and event.kind is NoticeKind.KILLED and not self.quitting:
            self.notify(event.message, severity="warning", markup=False)
        elif isinstance(event, EnvironmentChanged):
            self._environment_changed(event)
        elif isinstance(event, Resynced):
            for proc in self.client:
                self._show(proc)
                self._mark_dirty(proc.name)
        elif isinstance(event, Disconnected):
            self._disconnected(event)

    def _show(self, proc: ProcessView) -> None:
        """Show a process's state wherever it appears."""
        self.process_list.refresh_process(proc)
        pane = self._panes.get(proc.name)
        if pane is not None and pane.is_mounted:
            pane.show(self.uptime_text(proc))

    def uptime_text(self, proc: ProcessView) -> str | None:
        uptime = proc.uptime(self.clock()) if proc.state.alive else None
        return None if uptime is None else self.format_uptime(uptime)

    def _state_changed(self, event: StateChanged) -> None:
        proc = event.process
        self._show(proc)
        self._schedule_uptime()
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

    def _hint(self, proc: ProcessView) -> None:
        hint = self.client.crash_hint(proc, "press e to inspect the environment")
        if hint:
            self.pane(proc.name).hint = hint

    def _disconnected(self, event: Disconnected) -> None:
        if self.outcome is None:
            self.outcome = "lost" if event.reason is None else "down"
        self.exit(return_code=1 if self.outcome == "lost" else self.exit_code)

    # --- repainting ----------------------------------------------------------------------------

    def _mark_dirty(self, name: str) -> None:
        self._dirty.add(name)
        if self._flush_timer is None and self._loop is not None:
            self._flush_timer = self._loop.call_later(FLUSH_INTERVAL, self._flush)

    def _flush(self) -> None:
        """Repaint the dirty panes, all in one frame (a flooded one at most every
        FLOOD_INTERVAL): five processes that print on the same tick cost one frame."""
        self._flush_timer = None
        now = time.monotonic()
        dirty, self._dirty = self._dirty, set()
        panes = []
        for name in dirty:
            pane = self._panes.get(name)
            if pane is not None and self._shown(pane):  # a hidden one catches up when shown
                panes.append(pane)
        with self.batch_update():
            for pane in panes:
                if not pane.view.due(now):
                    self._dirty.add(pane.process.name)  # next frame (or, flooding, later)
                else:
                    pane.view.sync(now)
        if self._dirty and self._loop is not None:
            self._flush_timer = self._loop.call_later(FLUSH_INTERVAL, self._flush)

    def _schedule_uptime(self) -> None:
        """Repaint uptimes when the first of them changes (they are in minutes), not before."""
        if self._uptime_timer is not None:
            self._uptime_timer.cancel()
            self._uptime_timer = None
        if self._loop is None:
            return
        now = self.clock()
        waits = [
            60 - math.fmod(now - p.started_at, 60)
            for p in self.client
            if p.state.alive and p.started_at is not None and p.name in self._panes
        ]
        for p in self.client:  # "next try in 8 s" changes every second
            if p.next_start_at is not None and p.next_start_at > now:
                left = p.next_start_at - now
                waits.append(left - math.floor(left) if left > 1 else left)
        if waits:
            self._uptime_timer = self._loop.call_later(min(waits) + 0.05, self._uptime_tick)

    def _uptime_tick(self) -> None:
        self._uptime_timer = None
        for proc in self.client:
            if proc.state.alive or proc.next_start_at is not None:
                self._show(proc)
        self._schedule_uptime()

    # --- from the widgets ----------------------------------------------------------------------

    def on_output_view_typed(self, message: OutputView.Typed) -> None:
        self.client.write(message.view.process.name, message.data)

    def on_output_view_resized(self, message: OutputView.Resized) -> None:
        self.client.resize(message.view.process.name, message.columns, message.rows)

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

    # --- actions -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.input_target is not None:
            # Keys go to the process: only Esc means something here.
            return action == "leave_input_mode"
        if action == "leave_input_mode":
            return False
        if action == "restart_stale":
            return not self.quitting and bool(self.client.stale_processes())
        if len(self.screen_stack) > 1:  # the inspector or the palette: no pane actions
            return action in ("quit", "command_palette")
        if action == "search" and isinstance(self.focused, SearchInput):
            return False  # "/" is typed into it
        return not self.quitting or action in ("quit", "escape")

    def restart_process(self, name: str) -> None:
        self.client.restart(name)

    def toggle_process(self, name: str) -> None:
        proc = self.client.get(name)
        if proc.state in (State.STOPPING, State.RESTARTING):
            return
        if proc.active:  # running, waiting for a dependency, or for an automatic restart
            self.client.stop(name)
        else:
            self.client.start_processes(name)

    def stop_all(self) -> None:
        self.client.stop_all()

    def start_all(self) -> None:
        self.client.start_all()

    def action_restart(self) -> None:
        self.restart_process(self.current)

    def action_toggle(self) -> None:
        self.toggle_process(self.current)

    def action_restart_all(self) -> None:
        self.client.restart_all()

    def action_zoom(self) -> None:
        if self.screen.maximized is not None:
            self.screen.minimize()
        else:
            pane = self.current_pane
            self.screen.maximize(pane, container=False)
            pane.view.focus()

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
        pane = self.current_pane
        if pane.searching:
            pane.close_search()
        elif self.screen.maximized is not None:
            self.screen.minimize()
        self.screen.clear_selection()

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

    # --- environment ---------------------------------------------------------------------------

    def show_env(self, name: str) -> None:
        from tuirunner.tui.screens.inspector import EnvInspector

        if isinstance(self.screen, EnvInspector):
            self.screen.dismiss()
        self.push_screen(EnvInspector(name))

    def action_env(self) -> None:
        self.show_env(self.current)

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

    def action_restart_stale(self) -> None:
        stale = self.client.stale_processes()
        for proc in stale:
            self.restart_process(proc.name)
        if stale:
            self.notify(
                f"Restarting {', '.join(p.name for p in stale)} with the new environment",
                markup=False,
                timeout=5,
            )

    def _theme_changed(self, theme: Theme) -> None:
        if theme.name != self.preferences.theme:
            self.preferences.theme = theme.name
            self.preferences.save()

    # --- quitting and detaching ---------------------------------------------------------------

    def action_quit(self) -> None:
        """Stop every process, then exit; a second time, kill them at once."""
        if self.quitting:
            self.client.down(force=True)
            return
        self.quitting = True
        self.screen.add_class("-quitting")
        if any(p.state.alive for p in self.client):
            self.notify(
                "Stopping all processes… press q again to kill them now",
                title="Quitting",
                timeout=60,
                markup=False,
            )
        self.client.down()

    async def action_detach(self) -> None:
        """Leave the processes running; `tuirunner attach` comes back to them."""
        self.outcome = "detached"
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.client.detach(), 5)
        self.client.close()
        self.exit(return_code=0)

    # --- signals -------------------------------------------------------------------------------

    def _signal_received(self, signum: int, frame: object) -> None:
        """A plain signal handler, not the event loop's: it must work even when the loop is
        stuck (after a hang-up, Textual can block forever writing to the dead terminal)."""
        sig = signal.Signals(signum)
        if sig is signal.SIGHUP:
            # The terminal is gone and Textual's shutdown would block writing to it. Our end
            # of the lifeline closes with us, and the keeper stops everything (unless we had
            # detached, or only attached: then the run goes on).
            os._exit(128 + sig.value)
        if not self._watchdog_started:
            self._watchdog_started = True
            threading.Thread(
                target=self._watchdog, args=(sig,), daemon=True, name="tuirunner-watchdog"
            ).start()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._on_signal, sig)

    def _watchdog(self, sig: signal.Signals) -> None:
        """If the graceful stop has not ended the app in time, end it the hard way (the
        keeper, losing its owner, then stops what is left)."""
        time.sleep(self.client.timeout + WATCHDOG_GRACE)
        os._exit(128 + sig.value)

    def _on_signal(self, sig: signal.Signals) -> None:
        if not self.quitting:
            self.exit_code = 128 + sig.value
        self.action_quit()


def run_tui(client: Client) -> int:
    """The terminal UI of a run: one we just started (``client.launched``: we own it), or one
    going on (``tuirunner attach``)."""
    app = TuirunnerApp(client)
    app.run()
    if app.outcome == "detached":
        print(
            f"tuirunner: detached; the processes keep running (keeper pid {client.keeper_pid}).\n"
            f"  tuirunner{_where(client)} attach   to come back\n"
            f"  tuirunner{_where(client)} down     to stop them",
            file=sys.stderr,
        )
        return 0
    if app.outcome == "lost":
        code = client.wait_keeper(client.timeout + 5)
        print(f"tuirunner: {client.keeper_death(code)}", file=sys.stderr)
        return 1
    client.wait_keeper(5)  # the guard exits once everything is gone
    return app.return_code or 0


def _where(client: Client) -> str:
    return "" if client.app_root == os.getcwd() else f" -d {client.app_root}"


__all__ = ["MAX_TILED", "TuirunnerApp", "choose_grid", "format_uptime", "run_tui"]
