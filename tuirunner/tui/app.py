"""The Textual app: a pane per process, a client of the keeper like every front end.

The app drives the keeper through a :class:`~tuirunner.client.Client` (commands out, events in)
and never touches a process itself. ``q`` stops everything (``down``); ``d`` detaches, leaving
the processes running for a later ``tuirunner attach``.

Idle means idle: nothing runs on a timer. Output marks its pane dirty and schedules one repaint
(at most 30 a second, 5 for a pane flooded with more than a screenful per frame), which sends
only the rows whose look changed; an uptime is shown in minutes and repainted when its minute
changes; the keyboard thread sleeps while no key is pressed (driver.py); panes are created only
when shown (a hundred processes make a list and one pane, not a hundred panes).

The app is made of parts, one concern each: panes.py (the panes and their layout),
keeper_events.py (the keeper's events), repaint.py (when to repaint), actions.py (what keys,
buttons and the palette do), signals.py (SIGTERM, SIGHUP, SIGINT).
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import time
from pathlib import Path
from weakref import WeakSet

from textual import events
from textual.app import App
from textual.binding import Binding
from textual.driver import Driver
from textual.reactive import reactive
from textual.timer import Timer

from tuirunner import heap
from tuirunner.client import Client, Disconnected
from tuirunner.protocol import STOPPED_BY
from tuirunner.tiling import MAX_TILED, choose_grid
from tuirunner.tui.actions import Actions
from tuirunner.tui.commands import ProcessCommands
from tuirunner.tui.firstframe import FirstFrame
from tuirunner.tui.keeper_events import KeeperEvents
from tuirunner.tui.output_actions import OutputActions
from tuirunner.tui.output_commands import OutputCommands
from tuirunner.tui.panes import PaneLayout
from tuirunner.tui.preferences import Preferences
from tuirunner.tui.reading import Reading
from tuirunner.tui.repaint import Repainting
from tuirunner.tui.reshaping import Reshaping
from tuirunner.tui.signals import SignalHandling
from tuirunner.tui.widgets.process_list import ProcessList
from tuirunner.tui.widgets.process_pane import ProcessPane

SWITCH_INTERVAL = 0.0002  # seconds: how long the thread that writes a frame waits for the GIL


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


class TuirunnerApp(
    Reading, OutputActions, Actions, KeeperEvents, Reshaping, Repainting, SignalHandling, PaneLayout
):
    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "tuirunner"
    COMMANDS = App.COMMANDS | {ProcessCommands, OutputCommands}
    BINDINGS = [
        Binding("r", "restart", "Restart", id="restart"),
        Binding("s", "toggle", "Stop/Start", id="toggle"),
        Binding("R", "restart_all", "Restart all", id="restart_all"),
        Binding("z", "zoom", "Zoom", id="zoom"),
        Binding("slash", "search", "Search", id="search"),
        Binding("i", "input_mode", "Input", id="input_mode"),
        Binding("e", "env", "Env", id="env"),
        Binding("c", "copy", "Copy", id="copy"),
        Binding("m", "merged", "Merged", id="merged"),
        Binding("t", "toggle_time", "Times", id="toggle_time"),
        Binding("ctrl+s", "save", "Save", id="save", show=False),
        Binding("d", "detach", "Detach", id="detach"),
        Binding("q", "quit", "Quit", id="quit"),
        Binding("ctrl+c", "quit", "Quit", show=False),
        Binding("escape", "escape", "Back", show=False),
        Binding("escape", "leave_input_mode", "Leave input mode", id="leave_input_mode"),
        Binding("u", "restart_stale", "Restart stale", id="restart_stale"),
        Binding("a", "add_process", "Add a process", id="add_process", show=False),
        Binding("x", "remove_process", "Remove", id="remove_process", show=False),
        Binding("M", "migrate", "Migrate", id="migrate"),
        Binding("K", "stop_stray", "Stop stray", id="stop_stray"),
        *(Binding(str(n), f"select({n})", f"Pane {n}", show=False) for n in range(1, 10)),
    ]

    # State that decides which keys mean something (the footer follows it).
    input_target: reactive[str | None] = reactive(None, bindings=True)
    quitting: reactive[bool] = reactive(False, bindings=True)
    list_mode: reactive[bool] = reactive(False)

    def __init__(
        self,
        client: Client,
        handle_signals: bool = True,
        preferences: Preferences | None = None,
        first_frame: FirstFrame | None = None,
        tune_memory: bool = False,
    ) -> None:
        super().__init__()
        self.client = client
        self.first_frame = first_frame  # drawn before the app was imported (its driver asks)
        # The process is the app's (run_tui): after the first frame, the start's objects are
        # frozen out of the garbage collector's walks (heap.py), and thawed when a pane goes.
        self.tune_memory = tune_memory
        self._refreeze: Timer | None = None
        self._thawed: WeakSet[ProcessPane] = WeakSet()
        self._refreeze_tries = 0
        self.handle_signals = handle_signals
        self.preferences = preferences if preferences is not None else Preferences.load()
        self.process_list = ProcessList(list(client), id="process-list")
        self._pane_ids = set()
        self.current = client.processes[0].name  # the process keys act on
        self.exit_code = 0
        self.outcome: str | None = None  # "down", "detached" or "lost" (the keeper died)
        self._panes: dict[str, ProcessPane] = {}
        self._dirty: set[str] = set()
        self._retyped: WeakSet[events.Key] = WeakSet()  # keys sent on to an input (Actions)
        self._unsubscribe = client.subscribe(self._on_client_event)
        self._init_reading()

    # --- hooks tests may override (what the headers show of time and pids) --------------------

    def format_pid(self, pid: int) -> str:
        return f"pid {pid}"

    def clock(self) -> float:
        """Wall-clock now, for uptimes."""
        return time.time()

    def format_uptime(self, seconds: float) -> str:
        return format_uptime(seconds)

    # --- running -------------------------------------------------------------------------------

    def get_driver_class(self) -> type[Driver]:
        """Ours (an input thread that sleeps while no key is pressed), unless TEXTUAL_DRIVER
        names another."""
        from textual import constants

        if constants.DRIVER is not None or sys.platform == "win32":
            if self.first_frame is not None:
                self.first_frame.hand_over()  # that driver switches screens as it does
            return super().get_driver_class()
        from tuirunner.tui.driver import QuietDriver

        return QuietDriver

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown):
            self._be_eager()  # what the user did shows at once (repaint.py)
        await super().on_event(event)

    async def on_mount(self) -> None:
        self._be_eager()
        if self.preferences.theme in self.available_themes:
            self.theme = self.preferences.theme
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self._loop = asyncio.get_running_loop()
        self._layout()
        self.current_pane.view.focus()
        if self.handle_signals:
            self._install_signal_handlers()
        await self.client.start()
        self._system_history()
        for proc in self.client:  # what happened before we were connected
            self._show(proc)
            self._dirty.add(proc.name)
            if proc.crashed:
                self._hint(proc)
        self._paint_dirty()  # the first frame shows it: no waiting for the repaint timer
        # The collector was off while the UI started (see commands.cmd_start).
        self.call_after_refresh(heap.collect_after_start if self.tune_memory else gc.enable)
        self.set_timer(heap.AFTER_START, heap.give_back)
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
        self._stop_timers()
        self._restore_signal_handlers()
        self.client.close()


def run_tui(client: Client, first_frame: FirstFrame | None = None) -> int:
    """The terminal UI of a run: one we just started (``client.launched``: we own it), or one
    going on (``tuirunner attach``); *first_frame*: on the screen already (firstframe.py)."""
    app = TuirunnerApp(client, first_frame=first_frame, tune_memory=True)
    # Textual writes each frame from a thread of its own, which waits for the GIL while the
    # loop goes on with the frame's aftermath: up to the switch interval (5 ms by default) of
    # a key press's latency. Idle, no thread contends for the GIL, so this costs nothing then.
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        app.run()
    finally:
        gc.enable()  # if the app ended before its first frame (see on_mount)
        if first_frame is not None:
            first_frame.abandon()  # if the app failed before its driver took the screen
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
    bye = client.bye or "down"
    if app.outcome == "down" and bye.startswith(STOPPED_BY):
        # Someone else stopped the run (``tuirunner down`` from another terminal): say who.
        print(f"tuirunner: {bye}", file=sys.stderr)
    client.wait_keeper(5)  # the guard exits once everything is gone
    if bye != "down" and not bye.startswith(STOPPED_BY):  # its guard died, or a signal
        print(f"tuirunner: {client.run_ended()}", file=sys.stderr)
        return 1
    return app.return_code or 0


def _where(client: Client) -> str:
    return "" if client.app_root == os.getcwd() else f" -d {client.app_root}"


__all__ = ["MAX_TILED", "TuirunnerApp", "choose_grid", "format_uptime", "run_tui"]
