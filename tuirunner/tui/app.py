"""The Textual app: a pane per process over the same supervisor the plain front end drives."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal
from textual.widgets import Footer, OptionList

from tuirunner.environment import EnvSource
from tuirunner.supervisor import (
    Event,
    Notice,
    ProcessOutput,
    State,
    StateChanged,
    Supervisor,
)
from tuirunner.tui.commands import ProcessCommands
from tuirunner.tui.screens.inspector import EnvInspector
from tuirunner.tui.widgets.output_view import OutputView
from tuirunner.tui.widgets.process_list import ProcessList
from tuirunner.tui.widgets.process_pane import ProcessPane

if TYPE_CHECKING:
    from tuirunner.cli import Project
    from tuirunner.procfile import Instance

HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
WATCHDOG_GRACE = 5.0  # seconds beyond the stop timeout before a signal forces the exit
FLUSH_INTERVAL = 1 / 30  # repaint output at most this often, however fast children print
MAX_TILED = 9  # more processes than this: a list beside the selected pane
MIN_PANE_WIDTH = 40
MIN_PANE_HEIGHT = 6


def choose_grid(count: int, width: int, height: int) -> tuple[int, int] | None:
    """(columns, rows) for tiling *count* panes in *width* × *height*, or None for list mode.

    Panes should be as large as possible, in both directions; a terminal cell is about twice as
    tall as it is wide, hence the 2.5 in the score.
    """
    if count <= 1:
        return (1, 1)
    if count > MAX_TILED:
        return None
    best: tuple[tuple[float, int], tuple[int, int]] | None = None
    for columns in range(1, count + 1):
        rows = math.ceil(count / columns)
        if (columns * rows - count) >= columns:
            continue  # a whole empty row
        pane_w, pane_h = width // columns, height // rows
        if pane_w < MIN_PANE_WIDTH or pane_h < MIN_PANE_HEIGHT:
            continue
        key = (min(pane_w / 2.5, pane_h), -(columns * rows - count))
        if best is None or key > best[0]:
            best = (key, (columns, rows))
    return None if best is None else best[1]


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
        Binding("q", "quit", "Quit", id="quit"),
        Binding("ctrl+c", "quit", "Quit", show=False),
        Binding("escape", "escape", "Back", show=False),
        Binding("escape", "leave_input_mode", "Leave input mode", id="leave_input_mode"),
        Binding("u", "restart_stale", "Restart stale", id="restart_stale"),
        *(Binding(str(n), f"select({n})", f"Pane {n}", show=False) for n in range(1, 10)),
    ]

    def __init__(
        self,
        supervisor: Supervisor,
        env_source: EnvSource | None = None,
        handle_signals: bool = True,
    ) -> None:
        super().__init__()
        self.supervisor = supervisor
        self.env_source = env_source
        self.handle_signals = handle_signals
        self.panes = [ProcessPane(p, supervisor, i) for i, p in enumerate(supervisor, start=1)]
        self._pane_by_name = {p.process.name: p for p in self.panes}
        self.process_list = ProcessList(self.panes, id="process-list")
        self.input_target: str | None = None
        self.quitting = False
        self.exit_code = 0
        self._dirty: set[str] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous_handlers: dict[signal.Signals, object] = {}
        self._hung_up = False
        self._watchdog_started = False
        self._last_pane = self.panes[0]
        self._list_mode = False
        self._unsubscribe = supervisor.subscribe(self._on_supervisor_event)

    # --- hooks tests may override ------------------------------------------------------------

    def format_pid(self, pid: int) -> str:
        return f"pid {pid}"

    # --- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield self.process_list
            with Container(id="panes"):
                yield from self.panes
        yield Footer()

    def on_mount(self) -> None:
        self._layout()
        self.panes[0].view.focus()
        self.set_interval(FLUSH_INTERVAL, self._flush)
        self.set_interval(1.0, self._tick)
        if self.handle_signals:
            self._loop = asyncio.get_running_loop()
            for sig in HANDLED_SIGNALS:
                self._previous_handlers[sig] = signal.signal(sig, self._signal_received)
        warnings = len(self.supervisor.environment.warnings)
        if warnings:
            self.notify(
                f"{warnings} warning(s) about the environment: press e to see them",
                severity="warning",
                timeout=8,
                markup=False,
            )
        if self.env_source is not None:
            self._watch_env()
        # Start once the first layout has given every pane its size (and its PTY that size).
        self.call_after_refresh(self._start)

    def _start(self) -> None:
        self.run_worker(self.supervisor.start_all(), group="control", exit_on_error=False)

    def on_unmount(self) -> None:
        self._unsubscribe()
        for sig, handler in self._previous_handlers.items():
            with contextlib.suppress(Exception):
                signal.signal(sig, handler)
        self.supervisor.kill_all_now()  # last resort: nothing outlives the app

    def on_resize(self) -> None:
        self._layout()

    def _layout(self) -> None:
        width, height = self.size.width, self.size.height - 1  # the footer
        grid = choose_grid(len(self.panes), width, height)
        container = self.query_one("#panes")
        self._list_mode = grid is None
        self.query_one("#main").set_class(self._list_mode, "-list")
        if grid is None:
            container.styles.grid_size_columns = 1
            container.styles.grid_size_rows = 1
            selected = self._last_pane
            for pane in self.panes:
                pane.set_class(pane is not selected, "-hidden")
                pane.styles.column_span = 1
            index = self.panes.index(selected)
            if self.process_list.highlighted != index:
                self.process_list.highlighted = index
            return
        columns, rows = grid
        container.styles.grid_size_columns = columns
        container.styles.grid_size_rows = rows
        spare = columns * rows - len(self.panes)
        for i, pane in enumerate(self.panes):
            pane.remove_class("-hidden")
            pane.styles.column_span = 1 + spare if i == len(self.panes) - 1 else 1

    @property
    def list_mode(self) -> bool:
        return self._list_mode

    # --- which pane ----------------------------------------------------------------------------

    @property
    def current_pane(self) -> ProcessPane:
        """The pane keys act on: the one focus is in (or was last in, or was just chosen)."""
        return self._last_pane

    def on_descendant_focus(self, event) -> None:
        node = event.widget
        while node is not None and not isinstance(node, ProcessPane):
            node = node.parent
        if isinstance(node, ProcessPane):
            self._last_pane = node

    def pane(self, name: str) -> ProcessPane:
        return self._pane_by_name[name]

    def focus_process(self, name: str) -> None:
        pane = self.pane(name)
        self._last_pane = pane
        if self._list_mode:
            self._layout()
        if self.screen.maximized is not None and self.screen.maximized is not pane:
            self.screen.maximize(pane, container=False)
        pane.view.focus()

    def action_select(self, number: int) -> None:
        if 1 <= number <= len(self.panes):
            self.focus_process(self.panes[number - 1].process.name)

    def action_focus_pane(self, step: int) -> None:
        index = self.panes.index(self.current_pane)
        self.focus_process(self.panes[(index + step) % len(self.panes)].process.name)

    @on(OptionList.OptionHighlighted, "#process-list")
    def _list_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        pane = self.panes[event.option_index]
        if pane is not self._last_pane:
            self._last_pane = pane
            self._layout()

    @on(OptionList.OptionSelected, "#process-list")
    def _list_selected(self, event: OptionList.OptionSelected) -> None:
        self.focus_process(self.panes[event.option_index].process.name)

    # --- supervisor events -------------------------------------------------------------------

    def _on_supervisor_event(self, event: Event) -> None:
        if isinstance(event, ProcessOutput):
            self._dirty.add(event.process.name)  # painted by the next flush, not now
        elif isinstance(event, StateChanged):
            self._state_changed(event)
        elif isinstance(event, Notice) and "SIGKILL" in event.message and not self.quitting:
            self.notify(event.message, severity="warning", markup=False)

    def _state_changed(self, event: StateChanged) -> None:
        proc = event.process
        pane = self.pane(proc.name)
        pane.refresh_header()
        self.process_list.refresh_pane(pane)
        if event.new is State.RUNNING:
            pane.set_hint(None)
            self._refresh_env_views()
        if self.quitting:
            return
        if proc.crashed:
            what = proc.error or (proc.exit.describe() if proc.exit else "crashed")
            self.notify(f"{proc.name} {what}", severity="error", markup=False)
            self._dirty.add(proc.name)
            pane.set_hint(self.supervisor.crash_hint(proc, "press e to inspect the environment"))

    def _flush(self) -> None:
        if not self._dirty:
            return
        now = time.monotonic()
        dirty, self._dirty = self._dirty, set()
        with self.batch_update():
            for name in dirty:
                view = self.pane(name).view
                if view.due(now):
                    view.sync(now)
                else:
                    self._dirty.add(name)  # flooding: paint it on a later frame

    def _tick(self) -> None:
        for pane in self.panes:
            if pane.process.state.alive:
                pane.refresh_header()

    # --- actions -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.input_target is not None:
            return action in ("leave_input_mode", "quit")
        if action == "leave_input_mode":
            return False
        if action == "restart_stale":
            return not self.quitting and bool(self.supervisor.stale_processes())
        if len(self.screen_stack) > 1:  # the inspector or the palette: no pane actions
            return action in ("quit", "command_palette")
        return not self.quitting or action in ("quit", "escape")

    def _control(self, coroutine) -> None:
        self.run_worker(coroutine, group="control", exit_on_error=False)

    def restart_process(self, name: str) -> None:
        self._control(self.supervisor.restart(name))

    def toggle_process(self, name: str) -> None:
        proc = self.supervisor.get(name)
        if proc.state in (State.STOPPING, State.RESTARTING):
            return
        if proc.state.alive:
            self._control(self.supervisor.stop(name))
        else:
            self._control(self.supervisor.start(name))

    def stop_all(self) -> None:
        self._control(self.supervisor.stop_all(final=False))

    def start_all(self) -> None:
        self._control(self.supervisor.start_all())

    def action_restart(self) -> None:
        self.restart_process(self.current_pane.process.name)

    def action_toggle(self) -> None:
        self.toggle_process(self.current_pane.process.name)

    def action_restart_all(self) -> None:
        self._control(self.supervisor.restart_all())

    def action_zoom(self) -> None:
        if self.screen.maximized is not None:
            self.screen.minimize()
        else:
            pane = self.current_pane
            self.screen.maximize(pane, container=False)
            pane.view.focus()

    def open_search(self, name: str) -> None:
        self.focus_process(name)
        self.pane(name).open_search()

    def action_search(self) -> None:
        self.open_search(self.current_pane.process.name)

    def action_copy(self) -> None:
        text = self.screen.get_selected_text()
        what = "selection"
        if not text:
            text = self.current_pane.view.visible_text()
            what = f"visible lines of {self.current_pane.process.name}"
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
        if self.input_target is not None:
            self.action_leave_input_mode()
        pane = self.pane(name)
        self.focus_process(name)
        self.input_target = name
        pane.view.input_mode = True
        pane.add_class("-input")
        pane.refresh_header()
        self.refresh_bindings()
        if not pane.process.state.alive:
            self.notify(
                f"{name} is not running: keys go nowhere until it starts",
                severity="warning",
                markup=False,
            )

    def action_input_mode(self) -> None:
        self.enter_input_mode(self.current_pane.process.name)

    def action_leave_input_mode(self) -> None:
        name = self.input_target
        self.input_target = None
        if name is not None:
            pane = self.pane(name)
            pane.view.input_mode = False
            pane.remove_class("-input")
            pane.refresh_header()
        self.refresh_bindings()

    @on(OutputView.InputClicked)
    def _input_clicked(self, event: OutputView.InputClicked) -> None:
        self.enter_input_mode(event.view.process.name)

    # --- controls from panes -----------------------------------------------------------------

    @on(ProcessPane.Requested)
    def _pane_requested(self, event: ProcessPane.Requested) -> None:
        name = event.pane.process.name
        if event.action == "restart":
            self.restart_process(name)
        elif event.action == "toggle":
            self.toggle_process(name)
        elif event.action == "env":
            self.show_env(name)

    # --- environment ---------------------------------------------------------------------------

    def show_env(self, name: str) -> None:
        if isinstance(self.screen, EnvInspector):
            self.screen.dismiss()
        self.push_screen(EnvInspector(name))

    def action_env(self) -> None:
        self.show_env(self.current_pane.process.name)

    def _refresh_env_views(self) -> None:
        if isinstance(self.screen, EnvInspector):
            self.screen.refresh_data()

    @work(group="env-watch", exit_on_error=False)
    async def _watch_env(self) -> None:
        """Reload the environment when an env file (or .env.example) changes."""
        from watchfiles import awatch

        assert self.env_source is not None
        files = {str(p) for p in self.env_source.watched_files()}
        dirs = sorted({str(Path(p).parent) for p in files if Path(p).parent.is_dir()})
        if not dirs:
            return
        async for _changes in awatch(
            *dirs,
            watch_filter=lambda _c, path: path in files,
            debounce=300,
            step=50,
            recursive=False,
        ):
            self.reload_environment()

    def reload_environment(self) -> None:
        """Load the env files again; tell what changed and who still runs with the old values."""
        assert self.env_source is not None
        old = self.supervisor.environment
        new = self.env_source.load()
        change = old.diff(new)
        self.supervisor.environment = new
        if not change and new.warnings == old.warnings:
            return
        stale = self.supervisor.stale_processes()
        message = f"Env files changed: {change.summary()}."
        if stale:
            message += (
                f" {', '.join(p.name for p in stale)} still run with the old "
                "environment: press u to restart them."
            )
        if new.warnings != old.warnings:
            message += f" {len(new.warnings)} warning(s): press e to see them."
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
        stale = self.supervisor.stale_processes()
        for proc in stale:
            self.restart_process(proc.name)
        if stale:
            self.notify(
                f"Restarting {', '.join(p.name for p in stale)} with the new environment",
                markup=False,
                timeout=5,
            )

    # --- quitting ------------------------------------------------------------------------------

    def action_quit(self) -> None:
        if self.quitting:
            self.supervisor.kill_all_now()
            self.exit(return_code=self.exit_code)
            return
        self.quitting = True
        self.screen.add_class("-quitting")
        alive = [p.name for p in self.supervisor if p.state.alive]
        if alive:
            self.notify(
                "Stopping all processes… press q again to kill them now",
                title="Quitting",
                timeout=60,
                markup=False,
            )
        self.refresh_bindings()
        self._stop_and_exit()

    @work(group="quit", exit_on_error=False)
    async def _stop_and_exit(self) -> None:
        await self.supervisor.stop_all()
        if self._hung_up:
            # The terminal is gone: Textual's shutdown would block writing to it.
            os._exit(self.exit_code)
        self.exit(return_code=self.exit_code)

    # --- signals -------------------------------------------------------------------------------

    def _signal_received(self, signum: int, frame: object) -> None:
        """A plain signal handler, not the event loop's: it must work even when the loop is
        stuck (after a hang-up, Textual can block forever writing to the dead terminal)."""
        sig = signal.Signals(signum)
        if sig is signal.SIGHUP:
            self._hung_up = True
        if not self._watchdog_started:
            self._watchdog_started = True
            threading.Thread(
                target=self._watchdog, args=(sig,), daemon=True, name="tuirunner-watchdog"
            ).start()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._on_signal, sig)

    def _watchdog(self, sig: signal.Signals) -> None:
        """If the graceful stop has not ended the process in time, end it the hard way."""
        time.sleep(self.supervisor.timeout + WATCHDOG_GRACE)
        self.supervisor.kill_all_now()
        os._exit(128 + sig.value)

    def _on_signal(self, sig: signal.Signals) -> None:
        if not self.quitting:
            self.exit_code = 128 + sig.value
        self.action_quit()


def run_tui(project: Project, instances: list[Instance], timeout: float, scrollback: int) -> int:
    supervisor = Supervisor(
        instances, project.environment, project.app_root, timeout=timeout, scrollback=scrollback
    )
    app = TuirunnerApp(supervisor, env_source=project.env_source)
    try:
        app.run()
    finally:
        supervisor.kill_all_now()
    return app.return_code or 0


__all__ = ["TuirunnerApp", "choose_grid", "run_tui"]
