"""Reading the output: the time column (``t``), the merged view (``m``), saving a scrollback
to a file (``ctrl+s``), and the runner's own lines (state changes) the merged view shows as
``system``. A part of :class:`~tuirunner.tui.app.TuirunnerApp`."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import App

from tuirunner.events import StateChanged
from tuirunner.output import OutputBuffer
from tuirunner.printer import SYSTEM, describe_last_start, describe_state
from tuirunner.tui.widgets.line_models import MergedLines, TimedLines
from tuirunner.tui.widgets.output_lines import plain_line

if TYPE_CHECKING:
    from tuirunner.client import Client
    from tuirunner.tui.preferences import Preferences
    from tuirunner.tui.screens.merged import MergedScreen
    from tuirunner.tui.widgets.filter_bar import FilterTools
    from tuirunner.tui.widgets.output_view import OutputView
    from tuirunner.tui.widgets.process_pane import ProcessPane

SYSTEM_LINES = 2000  # state changes the merged view keeps
# The app's keys that act on the merged view too (it is a screen of its own: the others wait).
MERGED_ACTIONS = frozenset(
    [
        "toggle_time",
        "merged",
        "detach",
        "save",
        "filter",
        "clear_filters",
        "wrap",
        "traceback",
        "open_editor",
    ]
)


class Reading(App[int]):
    client: Client
    _panes: dict[str, ProcessPane]
    show_time = False
    merged_hidden: set[str]
    system_lines: OutputBuffer
    preferences: Preferences

    if TYPE_CHECKING:  # the other parts of the app

        @property
        def current_pane(self) -> ProcessPane: ...
        def _mark_dirty(self, name: str) -> None: ...
        def command(self, what: str, future) -> None: ...

    def _init_reading(self) -> None:
        self.merged_hidden = set()
        self.system_lines = OutputBuffer(SYSTEM_LINES)
        self.client.subscribe(self._reading_event)

    def _reading_event(self, event: object) -> None:
        if isinstance(event, StateChanged):
            line = describe_state(event.process, event.new)
            if line:
                self.system_lines.append_line(line)

    def _system_history(self) -> None:
        """What the processes did before we connected, as plain mode's history says it."""
        for proc in self.client:
            started = describe_last_start(proc)
            if started and proc.started_at is not None:
                self.system_lines.append_line(started, proc.started_at)
            if not proc.state.alive and proc.ended_at is not None:
                line = describe_state(proc, proc.state)
                if line:
                    self.system_lines.append_line(line, proc.ended_at)

    # --- the time column -----------------------------------------------------------------------

    def action_toggle_time(self) -> None:
        self.show_time = not self.show_time
        merged = self.merged_screen
        for pane in self._panes.values():  # under the merged view: repainted once shown
            self._apply_time(pane.view, repaint=merged is None)
        if merged is not None:
            merged.model.show_time = self.show_time
            if merged.view._rowmap is not None:  # wrapped or filtered: the rows' text changed
                merged.view._rearrange()
            merged.view._invalidate()
            merged.view.refresh()

    def _apply_time(self, view: OutputView, repaint: bool = True) -> None:
        buffer = view.process.buffer
        view.buffer = TimedLines(buffer) if self.show_time else buffer
        view._invalidate()
        if repaint:
            view.refresh()

    def _new_pane(self, proc):  # type: ignore[no-untyped-def]
        pane = super()._new_pane(proc)  # type: ignore[misc]
        if self.show_time:
            self._apply_time(pane.view)
        return pane

    # --- the merged view -----------------------------------------------------------------------

    @property
    def merged_screen(self) -> MergedScreen | None:
        merged = sys.modules.get("tuirunner.tui.screens.merged")  # not imported until opened
        screen = self.screen
        return screen if merged is not None and isinstance(screen, merged.MergedScreen) else None

    def merged_model(self) -> MergedLines:
        processes = list(self.client)
        model = MergedLines(
            [p.name for p in processes] + [SYSTEM],
            [p.buffer for p in processes] + [self.system_lines],
        )
        model.show_time = self.show_time
        hidden = {i for i, p in enumerate(processes) if p.name in self.merged_hidden}
        if hidden:
            model.set_hidden(hidden)
        return model

    def action_merged(self) -> None:
        from tuirunner.tui.screens.merged import MergedScreen

        if self.merged_screen is not None:
            self.close_merged()
            return
        screen = MergedScreen(self.merged_model())
        screen.view.remember_wrap(self.preferences.wrap.get(screen.view.process.type))
        self.push_screen(screen)
        self._show_resources(False)  # no header shows them under the merged view

    def close_merged(self) -> None:
        if self.merged_screen is not None:
            self.pop_screen()
            self._show_resources(True)
            for name, pane in self._panes.items():  # they did not repaint meanwhile
                if pane.is_mounted and pane.display:
                    pane.view.refresh()
                    self._mark_dirty(name)

    def _show_resources(self, shown: bool) -> None:
        """The keeper samples CPU, memory and ports only while a client shows them."""
        if self.client.resources:
            self.command("show resources", self.client.show_resources(shown))

    def _shown(self, pane: ProcessPane) -> bool:
        """A pane under the merged view does not repaint (it catches up when shown again)."""
        return pane.is_mounted and pane.display and self.merged_screen is None

    def _paint_dirty(self) -> None:
        super()._paint_dirty()  # type: ignore[misc]
        merged = self.merged_screen
        if merged is None:
            return
        now = time.monotonic()
        if merged.view.due(now):
            merged.sync(now)
        else:
            self._mark_dirty("")  # a flood: later

    def _on_client_event(self, event: object) -> None:
        super()._on_client_event(event)  # type: ignore[misc]
        if self.merged_screen is not None and isinstance(event, StateChanged):
            self._mark_dirty("")  # a system line

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in MERGED_ACTIONS and self.merged_screen is not None:
            return True
        return super().check_action(action, parameters)

    def output_tools(self) -> FilterTools:
        return self.merged_screen or super().output_tools()  # type: ignore[misc]

    # --- saving --------------------------------------------------------------------------------

    def action_save(self) -> None:
        merged = self.merged_screen
        if merged is not None:
            self.save_output(merged.view, "merged")
        else:
            pane = self.current_pane
            self.save_output(pane.view, pane.process.name)

    def save_output(self, view: OutputView, label: str) -> Path | None:
        """Write *view*'s whole scrollback (as shown: times if shown, no escape sequences) to
        ``tuirunner-LABEL-YYYYmmdd-HHMMSS.log`` in the app root, readable by the user only
        (output may hold secrets), and say where."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in label)
        path = Path(self.client.app_root) / f"tuirunner-{safe}-{stamp}.log"
        lines = [plain_line(line) for line in view.buffer.snapshot()]
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as f:
                f.write("\n".join(lines) + ("\n" if lines else ""))
        except OSError as exc:
            self.notify(f"Could not save the output: {exc}", severity="error", markup=False)
            return None
        saved = f"{len(lines):,} line" + ("" if len(lines) == 1 else "s")
        self.notify(f"Saved {saved} to {path}", timeout=8, markup=False)
        return path
