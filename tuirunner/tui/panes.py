"""The app's panes and their layout: which exist, which show, which one keys act on.

A pane is made the first time it is shown (a hundred processes make a list and one pane, not a
hundred panes). The layout tiles the panes when they fit, or shows the list and the current pane.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events, on
from textual.app import App, ComposeResult
from textual.containers import Container
from textual.geometry import Size
from textual.screen import Screen
from textual.widgets import OptionList

from tuirunner.client import ProcessView
from tuirunner.tiling import choose_grid
from tuirunner.tui.widgets.key_bar import KeyBar
from tuirunner.tui.widgets.process_pane import PaneStatus, ProcessPane

if TYPE_CHECKING:
    from tuirunner.client import Client
    from tuirunner.tui.widgets.process_list import ProcessList


class Blank(Container):
    """A container its children cover: Textual repaints it as one blank strip (``BLANK``)
    rather than rendering it, which an output update would do for every row under it."""

    BLANK = True


class MainScreen(Screen):
    BLANK = True
    # Esc leaves the innermost mode first (input mode, then search, then zoom: see
    # Actions.action_escape), not zoom before everything as Textual's default does.
    ESCAPE_TO_MINIMIZE = False


class PaneLayout(App[int]):
    """The panes of the app (a part of :class:`~tuirunner.tui.app.TuirunnerApp`)."""

    client: Client
    process_list: ProcessList
    current: str  # the process keys act on
    list_mode: bool
    input_target: str | None
    _panes: dict[str, ProcessPane]

    if TYPE_CHECKING:  # the other parts of the app

        def _mark_dirty(self, name: str) -> None: ...
        def pane_status(self, proc: ProcessView) -> PaneStatus: ...

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
        pane = ProcessPane(proc, proc.index + 1, self.pane_status(proc))
        pane.view.app_in_input_mode = self.input_target is not None
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

    def get_default_screen(self) -> Screen:
        return MainScreen(id="_default")

    def _grid(self, size: Size | None = None) -> tuple[int, int] | None:
        width, height = size or self.size
        return choose_grid(len(self.client.processes), width, height - 1)

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

    def action_zoom(self) -> None:
        if self.screen.maximized is not None:
            self.screen.minimize()
        else:
            pane = self.current_pane
            self.screen.maximize(pane, container=False)
            pane.view.focus()

    @on(OptionList.OptionHighlighted, "#process-list")
    def _list_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        name = self.client.processes[event.option_index].name
        if name != self.current:
            self.current = name
            self._layout()

    @on(OptionList.OptionSelected, "#process-list")
    def _list_selected(self, event: OptionList.OptionSelected) -> None:
        self.focus_process(self.client.processes[event.option_index].name)
