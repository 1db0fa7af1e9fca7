"""The Textual app: a pane per process, a client of the keeper like every front end.

The app drives the keeper through a :class:`~tuirunner.client.Client` (commands out, events in)
and never touches a process itself. ``q`` stops everything (``down``); ``d`` detaches, leaving
the processes running for a later ``tuirunner attach``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
import time
from pathlib import Path

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal
from textual.widgets import Footer, OptionList

from tuirunner.client import (
    Client,
    Disconnected,
    EnvironmentChanged,
    Resynced,
)
from tuirunner.events import (
    InfoChanged,
    Notice,
    OutputEnded,
    ProcessOutput,
    RunnerLine,
    State,
    StateChanged,
    format_duration,
)
from tuirunner.launch import KeeperProcess
from tuirunner.tui.commands import ProcessCommands
from tuirunner.tui.layout import MAX_TILED, choose_grid
from tuirunner.tui.screens.inspector import EnvInspector
from tuirunner.tui.widgets.output_view import OutputView
from tuirunner.tui.widgets.process_list import ProcessList
from tuirunner.tui.widgets.process_pane import ProcessPane

HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
WATCHDOG_GRACE = 5.0  # seconds beyond the stop timeout before a signal forces the exit
FLUSH_INTERVAL = 1 / 30  # repaint output at most this often, however fast children print


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

    def __init__(
        self,
        client: Client,
        keeper: KeeperProcess | None = None,
        handle_signals: bool = True,
    ) -> None:
        super().__init__()
        self.client = client
        self.keeper = keeper  # ours if we started the run (the foreground front end)
        self.handle_signals = handle_signals
        self.panes = [ProcessPane(p, i) for i, p in enumerate(client, start=1)]
        self._pane_by_name = {p.process.name: p for p in self.panes}
        self.process_list = ProcessList(self.panes, id="process-list")
        self.input_target: str | None = None
        self.quitting = False
        self.exit_code = 0
        self.outcome: str | None = None  # "down", "detached" or "lost" (the keeper died)
        self._dirty: set[str] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous_handlers: dict[signal.Signals, object] = {}
        self._watchdog_started = False
        self._last_pane = self.panes[0]
        self._list_mode = False
        self._unsubscribe = client.subscribe(self._on_client_event)

    # --- hooks tests may override ------------------------------------------------------------

    def format_pid(self, pid: int) -> str:
        return f"pid {pid}"

    def clock(self) -> float:
        """Wall-clock now, for uptimes."""
        return time.time()

    def format_uptime(self, seconds: float) -> str:
        return f"up {format_duration(seconds)}"

    # --- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield self.process_list
            with Container(id="panes"):
                yield from self.panes
        yield Footer()

    async def on_mount(self) -> None:
        self._layout()
        self.panes[0].view.focus()
        self.set_interval(FLUSH_INTERVAL, self._flush)
        self.set_interval(1.0, self._tick)
        if self.handle_signals:
            self._loop = asyncio.get_running_loop()
            for sig in HANDLED_SIGNALS:
                self._previous_handlers[sig] = signal.signal(sig, self._signal_received)
        await self.client.start()
        for pane in self.panes:  # what happened before we were connected
            self._dirty.add(pane.process.name)
            if pane.process.crashed:
                pane.set_hint(self.client.crash_hint(pane.process, "press e to inspect it"))
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
        for sig, handler in self._previous_handlers.items():
            with contextlib.suppress(Exception):
                signal.signal(sig, handler)
        self.client.close()

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

    # --- events from the keeper ----------------------------------------------------------------

    def _on_client_event(self, event: object) -> None:
        if isinstance(event, ProcessOutput | RunnerLine | OutputEnded):
            self._dirty.add(event.process.name)  # painted by the next flush, not now
        elif isinstance(event, StateChanged):
            self._state_changed(event)
        elif isinstance(event, InfoChanged):
            self.pane(event.process.name).refresh_header()
        elif isinstance(event, Notice) and "SIGKILL" in event.message and not self.quitting:
            self.notify(event.message, severity="warning", markup=False)
        elif isinstance(event, EnvironmentChanged):
            self._environment_changed(event)
        elif isinstance(event, Resynced):
            for pane in self.panes:
                self._dirty.add(pane.process.name)
                pane.refresh_header()
                self.process_list.refresh_pane(pane)
        elif isinstance(event, Disconnected):
            self._disconnected(event)

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
            pane.set_hint(self.client.crash_hint(proc, "press e to inspect the environment"))

    def _disconnected(self, event: Disconnected) -> None:
        if self.outcome is None:
            self.outcome = "lost" if event.reason is None else "down"
        if self.outcome == "lost":
            self.exit(return_code=1)
        else:
            self.exit(return_code=self.exit_code)

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

    def on_output_view_typed(self, message: OutputView.Typed) -> None:
        self.client.write(message.view.process.name, message.data)

    def on_output_view_resized(self, message: OutputView.Resized) -> None:
        self.client.resize(message.view.process.name, message.columns, message.rows)

    # --- actions -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.input_target is not None:
            return action in ("leave_input_mode", "quit")
        if action == "detach":
            return not self.quitting
        if action == "leave_input_mode":
            return False
        if action == "restart_stale":
            return not self.quitting and bool(self.client.stale_processes())
        if len(self.screen_stack) > 1:  # the inspector or the palette: no pane actions
            return action in ("quit", "command_palette")
        return not self.quitting or action in ("quit", "escape")

    def restart_process(self, name: str) -> None:
        self.client.restart(name)

    def toggle_process(self, name: str) -> None:
        proc = self.client.get(name)
        if proc.state in (State.STOPPING, State.RESTARTING):
            return
        if proc.state.alive:
            self.client.stop(name)
        else:
            self.client.start_processes(name)

    def stop_all(self) -> None:
        self.client.stop_all()

    def start_all(self) -> None:
        self.client.start_all()

    def action_restart(self) -> None:
        self.restart_process(self.current_pane.process.name)

    def action_toggle(self) -> None:
        self.toggle_process(self.current_pane.process.name)

    def action_restart_all(self) -> None:
        self.client.restart_all()

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

    def _environment_changed(self, event: EnvironmentChanged) -> None:
        """An env file changed: tell what, and who still runs with the old values."""
        change = event.change
        stale = self.client.stale_processes()
        message = f"Env files changed: {change.summary()}."
        if stale:
            names = ", ".join(p.name for p in stale)
            verb = "runs" if len(stale) == 1 else "run"
            message += f" {names} still {verb} with the old environment: press u to restart."
        warnings = len(self.client.environment.warnings)
        if warnings:
            message += f" {warnings} warning(s): press e to see them."
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
        self.refresh_bindings()
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


def run_tui(keeper: KeeperProcess, app_root: Path) -> int:
    """The foreground terminal UI of a run whose keeper we just started."""
    keeper.wait_ready()
    client = Client.connect(app_root, env=True, owner=keeper.owner)
    return _run(TuirunnerApp(client, keeper))


def run_attached(client: Client) -> int:
    """The terminal UI on a run going on (``tuirunner attach``)."""
    return _run(TuirunnerApp(client))


def _run(app: TuirunnerApp) -> int:
    from tuirunner.plain import keeper_death

    client, keeper = app.client, app.keeper
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
        code = keeper.wait(client.timeout + 5) if keeper is not None else None
        print(f"tuirunner: {keeper_death(client.keeper_pid, code)}", file=sys.stderr)
        return 1
    if keeper is not None:
        keeper.wait(5)  # the guard exits once everything is gone
    return app.return_code or 0


def _where(client: Client) -> str:
    return "" if client.app_root == os.getcwd() else f" -d {client.app_root}"


__all__ = ["MAX_TILED", "TuirunnerApp", "choose_grid", "run_attached", "run_tui"]
