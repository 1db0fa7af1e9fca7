"""Reading the output: filters, wrapping, tracebacks (jump, open in the editor, the header's
error time), links and the browser, and attention marks (a part of the app).

Keys: ``f`` hide lines matching, ``g`` show only lines matching, ``F`` show all lines again,
``w`` wrap long lines, ``[`` / ``]`` previous / next traceback, ``E`` open the traceback's file
in the editor, ``o`` open the focused process's address in the browser.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on
from textual.app import App
from textual.binding import Binding
from textual.widgets import OptionList

from tuirunner.events import OutputEnded, ProcessOutput, RunnerLine, State, StateChanged
from tuirunner.tracebacks import TracebackScanner, at_prompt
from tuirunner.tui.output_open import Opening
from tuirunner.tui.repaint import FLUSH_INTERVAL
from tuirunner.tui.widgets.output_view import OutputView
from tuirunner.tui.widgets.process_pane import ProcessPane

if TYPE_CHECKING:
    from tuirunner.client import Client, ProcessView
    from tuirunner.settings import Settings
    from tuirunner.tui.preferences import Preferences
    from tuirunner.tui.widgets.filter_bar import FilterTools
    from tuirunner.tui.widgets.process_list import ProcessList

WATCH_INTERVAL = 0.1  # seconds: new output is looked at (tracebacks, prompts) this often at most
STARTED = (State.STARTING, State.RUNNING)  # a run under way (from its start, ready or not)
# ...and, after a quiet spell, with the repaint the output asked for (FLUSH_INTERVAL after it):
# the window wakes up once for a line, not twice.


class OutputActions(Opening, App[int]):
    """The output-reading actions of :class:`~tuirunner.tui.app.TuirunnerApp`."""

    BINDINGS = [
        Binding("w", "wrap", "Wrap", id="wrap", show=False),
        Binding("f", "filter('hide')", "Hide lines", id="filter_hide", show=False),
        Binding("g", "filter('only')", "Only lines", id="filter_only", show=False),
        Binding("F", "clear_filters", "All lines", id="clear_filters", show=False),
        Binding("left_square_bracket", "traceback(-1)", "Previous traceback", show=False),
        Binding("right_square_bracket", "traceback(1)", "Next traceback", show=False),
        Binding("E", "open_editor", "Edit", id="open_editor", show=False),
        Binding("o", "open_address", "Open", id="open_address", show=False),
    ]

    client: Client
    current: str
    quitting: bool
    preferences: Preferences
    process_list: ProcessList
    _panes: dict[str, ProcessPane]
    _settings: Settings | None = None

    if TYPE_CHECKING:  # the other parts of the app

        @property
        def current_pane(self) -> ProcessPane: ...
        def _shown(self, pane: ProcessPane) -> bool: ...
        def _show(self, proc: ProcessView) -> None: ...
        def clock(self) -> float: ...

    # --- state kept per process ----------------------------------------------------------------

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # By process name: traceback scanners, error times, attention levels.
        self._output_watch: tuple[dict[str, TracebackScanner], dict[str, float], dict[str, str]]
        self._output_watch = ({}, {}, {})
        self._attending = False  # what came before the UI showed is not new: see on_mount
        self._to_watch: set[str] = set()  # processes with output not looked at yet
        self._watch_timer: asyncio.TimerHandle | None = None
        self._watched_at = float("-inf")  # loop time of the last look

    def on_mount(self) -> None:
        """After the app's own on_mount (which connects and shows what happened before). What
        came before is not new (no attention), but a traceback in it since the last reload
        still marks its pane (``attach``): at the time its line came."""
        scanners, _, _ = self._output_state()
        for proc in self.client:
            scanner = scanners.setdefault(proc.name, TracebackScanner())
            found = scanner.catch_up(proc.buffer)
            if found and scanner.error_since_reload:
                self._set_error(proc, proc.buffer.time(found[-1].start) or self.clock())
        self._attending = True

    def on_unmount(self) -> None:
        if self._watch_timer is not None:
            self._watch_timer.cancel()

    def _output_state(self) -> tuple[dict, dict, dict]:
        """(traceback scanners, error times, attention levels) by process name."""
        return self._output_watch

    def _new_pane(self, proc: ProcessView) -> ProcessPane:
        pane = super()._new_pane(proc)  # type: ignore[misc]
        _, errors, attention = self._output_state()
        pane.error_at = self._error_text(errors.get(proc.name))
        pane.view.remember_wrap(self.preferences.wrap.get(proc.type))
        if attention.get(proc.name):
            pane.attention = attention[proc.name]
            pane.header.attention = attention[proc.name]
        return pane

    def ui_settings(self) -> Settings:
        """The project's settings as the keeper read them (read again here; none if broken)."""
        if self._settings is None:
            # Imported here: the settings (their schema, checks) are needed once, if at all.
            from tuirunner.settings import Settings, load_settings

            try:
                procfile = getattr(self.client, "procfile", None) or None
                self._settings = load_settings(Path(self.client.app_root), procfile)
            except Exception:  # the keeper reported it already; the UI keeps its defaults
                self._settings = Settings()
        return self._settings

    def focused_view(self) -> OutputView:
        """The output view keys act on: the focused one, else the current pane's."""
        focused = self.focused
        if isinstance(focused, OutputView):
            return focused
        return self.current_pane.view

    # --- the keeper's events ---------------------------------------------------------------

    def _on_client_event(self, event: object) -> None:
        super()._on_client_event(event)  # type: ignore[misc]
        if isinstance(event, ProcessOutput | RunnerLine | OutputEnded):
            # Looked at with the repaint, or WATCH_INTERVAL after the last look, with whatever
            # else came: a flood of reads costs a set insertion each, and a scan of the new
            # lines a few times a second.
            self._to_watch.add(event.process.name)
            if self._watch_timer is None:
                loop = asyncio.get_running_loop()
                at = max(loop.time() + FLUSH_INTERVAL, self._watched_at + WATCH_INTERVAL)
                self._watch_timer = loop.call_at(at, self._watch_pending)
        elif isinstance(event, StateChanged):
            self._watch_state(event)

    def _watch_pending(self) -> None:
        self._watch_timer = None
        self._watched_at = asyncio.get_running_loop().time()
        names, self._to_watch = self._to_watch, set()
        for name in names:
            try:
                proc = self.client.get(name)
            except KeyError:  # removed meanwhile
                continue
            self._watch_output(proc)

    def _watch_output(self, proc: ProcessView) -> None:
        scanners, errors, _ = self._output_state()
        scanner = scanners.get(proc.name)
        if scanner is None:
            scanner = scanners[proc.name] = TracebackScanner()
        found = scanner.catch_up(proc.buffer)
        level = "output"
        if found:
            self._set_error(proc, self.clock())
            level = "alert"
        elif proc.name in errors and not scanner.error_since_reload:
            self._set_error(proc, None)  # it reloaded: the error is over
        if at_prompt(proc.buffer.partial):
            level = "alert"
        self._raise_attention(proc, level, seen_if_shown=level == "output")

    def _watch_state(self, event: StateChanged) -> None:
        proc = event.process
        if event.new in STARTED and event.old not in STARTED:  # a new run: its errors are new
            self._set_error(proc, None)
        if proc.crashed and not self.quitting:
            # A shown pane says it crashed in its header already.
            self._raise_attention(proc, "alert", seen_if_shown=True)
            self._crash_notice(proc)

    def _set_error(self, proc: ProcessView, when: float | None) -> None:
        _, errors, _ = self._output_state()
        if errors.get(proc.name) == when:
            return
        if when is None:
            errors.pop(proc.name, None)
        else:
            errors[proc.name] = when
        pane = self._panes.get(proc.name)
        if pane is not None:
            pane.error_at = self._error_text(when)
            self._show(proc)

    def _error_text(self, when: float | None) -> str | None:
        return None if when is None else self.format_clock(when)

    def format_clock(self, when: float) -> str:
        """A wall-clock time as the headers show it (tests may override)."""
        return time.strftime("%H:%M:%S", time.localtime(when))

    # --- attention -----------------------------------------------------------------------------

    def pane_visible(self, name: str) -> bool:
        """Whether process *name*'s pane is on the screen (not hidden: under a zoom, the other
        panes are)."""
        pane = self._panes.get(name)
        return pane is not None and self._shown(pane) and len(self.screen_stack) == 1

    def looked_at(self, name: str) -> bool:
        """Whether the user looks at process *name*'s pane now (shown, and keys act on it)."""
        return name == self.current and self.pane_visible(name)

    def _raise_attention(self, proc: ProcessView, level: str, seen_if_shown: bool) -> None:
        """Mark *proc* (unless looked at): new lines and crashes only when its pane is not on
        the screen (a tiled pane shows both), a traceback or a prompt also when unfocused."""
        _, _, attention = self._output_state()
        old = attention.get(proc.name, "")
        if not self._attending or self.looked_at(proc.name) or old == "alert" or old == level:
            return
        if seen_if_shown and self.pane_visible(proc.name):
            return
        self._set_attention(proc.name, level)

    def _set_attention(self, name: str, level: str) -> None:
        _, _, attention = self._output_state()
        if attention.get(name, "") == level:
            return
        attention[name] = level
        pane = self._panes.get(name)
        if pane is not None:
            pane.set_attention(level)
        self.process_list.attention[name] = level
        self.process_list.refresh_process(self.client.get(name))

    def attention(self, name: str) -> str:
        return self._output_state()[2].get(name, "")

    def on_descendant_focus(self, event) -> None:
        node = event.widget
        while node is not None and not isinstance(node, ProcessPane):
            node = node.parent
        if isinstance(node, ProcessPane):
            self._set_attention(node.process.name, "")

    @on(OptionList.OptionHighlighted, "#process-list")
    def _list_looked_at(self, event: OptionList.OptionHighlighted) -> None:
        self._set_attention(self.client.processes[event.option_index].name, "")

    def _crash_notice(self, proc: ProcessView) -> None:
        from tuirunner.settings.model import CrashNotice

        how = self.ui_settings().notify_on_crash
        if how is CrashNotice.OFF:
            return
        if how is CrashNotice.DESKTOP and _desktop_notify(f"{proc.name} crashed", proc.command):
            return
        self.bell()

    # --- filters and wrap ----------------------------------------------------------------------

    def output_tools(self) -> FilterTools:
        """What the filter keys act on: the current pane (the merged view when it is shown)."""
        return self.current_pane

    async def action_filter(self, kind: str) -> None:
        tools = self.output_tools()
        self.screen.set_focus(tools.view)
        await tools.open_filter(kind)

    def action_clear_filters(self) -> None:
        if not self.output_tools().clear_filters():
            self.notify("No filter to clear: f hides lines, g shows only some", timeout=3)

    def action_wrap(self) -> None:
        """Wrap the focused view's long lines, or not; remembered per process type (and for
        the merged view), with the theme."""
        view = self.focused_view()
        wrap = not view.wrap
        view.wrap_choice = wrap
        view.set_wrap(wrap)
        self.preferences.wrap[view.process.type] = wrap
        self.preferences.save()

    # --- tracebacks ----------------------------------------------------------------------------

    def action_traceback(self, step: int) -> None:
        view = self.focused_view()
        block = view.jump_block(step)
        if block is None:
            where = "after" if step > 0 else "before"
            self.notify(f"No traceback {where} this one", timeout=3)


def _desktop_notify(title: str, body: str) -> bool:
    if sys.platform == "darwin" and shutil.which("osascript"):
        script = f"display notification {_quote(body)} with title {_quote(title)}"
        argv = ["osascript", "-e", script]
    elif shutil.which("notify-send"):
        argv = ["notify-send", "--app-name=tuirunner", title, body]
    else:
        return False
    try:
        subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return False
    return True


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
