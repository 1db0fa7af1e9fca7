"""The app's panes and their layout: which exist, which show, which one keys act on.

A pane is made the first time it is shown (a hundred processes make a list and one pane, not a
hundred panes). The layout tiles the panes when they fit, or shows the list and the current pane.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual import events, on
from textual.app import App, ComposeResult, SystemCommand
from textual.containers import Container
from textual.geometry import Size
from textual.screen import Screen
from textual.widgets import OptionList

from tuirunner.client import ProcessView
from tuirunner.events import State
from tuirunner.tiling import choose_grid
from tuirunner.tui.widgets.collapsed_row import CollapsedRow
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
    # Zoom is the app's (PaneLayout.action_zoom), not Textual's maximize: never minimize here.
    ESCAPE_TO_MINIMIZE = False


class PaneLayout(App[int]):
    """The panes of the app (a part of :class:`~tuirunner.tui.app.TuirunnerApp`)."""

    client: Client
    process_list: ProcessList
    current: str  # the process keys act on
    list_mode: bool
    input_target: str | None
    _panes: dict[str, ProcessPane]
    _expanded: str | None = None  # a completed oneshot shown anyway (it was focused)
    _zoomed = False  # the current pane alone on the screen (z)
    _collapsed_shown: frozenset[str] | set[str] = frozenset()  # as last laid out
    _pane_ids: set[str]  # of the panes made so far (a removed one's too)
    _dirty: set[str]  # processes whose output is not painted yet (repaint.py)

    if TYPE_CHECKING:  # the other parts of the app

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
        number = proc.index + 1
        # "#pane-2" is the second process's pane, unless a removal moved it and another pane
        # has the id already (ids stay; the number shown is the key that selects it).
        pane_id = f"pane-{number}"
        if pane_id in self._pane_ids:
            pane_id = f"pane-{number}-{len(self._pane_ids)}"
        self._pane_ids.add(pane_id)
        pane = ProcessPane(proc, number, self.pane_status(proc), pane_id)
        pane.view.app_in_input_mode = self.input_target is not None
        self._panes[proc.name] = pane
        return pane

    def _renumber(self) -> None:
        """After a process came or went: each pane's number is the key that selects it."""
        for proc in self.client:
            pane = self._panes.get(proc.name)
            if pane is not None:
                pane.number = pane.header.number = proc.index + 1

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
        yield CollapsedRow(id="collapsed")
        collapsed = self._collapsed_names()
        with Blank(id="panes"):
            for proc in self.client:
                if (grid is not None and proc.name not in collapsed) or proc.name == self.current:
                    yield self._new_pane(proc)
        yield KeyBar()

    def get_default_screen(self) -> Screen:
        return MainScreen(id="_default")

    def _grid(self, size: Size | None = None) -> tuple[int, int] | None:
        width, height = size or self.size
        count = len(self.client.processes)
        grid = choose_grid(count, width, height - 1)
        collapsed = len(self._collapsed_names())
        if grid is None or not collapsed:
            return grid
        # Tiling the others, under the one-line row of the collapsed ones.
        return choose_grid(count - collapsed, width, height - 2)

    # --- completed oneshots ---------------------------------------------------------------------

    @staticmethod
    def collapsible(proc: ProcessView) -> bool:
        """A oneshot that completed (exit 0): its pane can give its space back."""
        return (
            proc.oneshot
            and proc.state is State.EXITED
            and proc.exit is not None
            and proc.exit.success
            and proc.next_start_at is None
        )

    def _collapsed_names(self) -> set[str]:
        """The completed oneshots shown as a line rather than a pane (all of them, never every
        process: one pane at least stays)."""
        names = {p.name for p in self.client if self.collapsible(p) and p.name != self._expanded}
        return names if len(names) < len(self.client.processes) else set()

    def relayout_if_collapsing_changed(self, proc: ProcessView) -> None:
        """After *proc*'s state changed: lay out again if the set of collapsed panes changed.
        Only a oneshot's state can change it: the other changes look at nothing more (looking
        at every process made the 2,000 state changes of a quit of 1,000 processes quadratic:
        1.7 s of the window's 3.4 s under cProfile)."""
        if self.is_mounted and proc.oneshot and self._collapsed_names() != self._collapsed_shown:
            self._layout()

    def on_resize(self, event: events.Resize) -> None:
        # The event's size: App.size may not have caught up with it yet.
        self._layout(event.size)

    def _layout(self, size: Size | None = None) -> None:
        """Tile the panes, or show the list and the current pane: the same layout, whatever
        size the terminal had before."""
        grid = self._grid(size)
        container = self.query_one("#panes")
        self.list_mode = grid is None
        self.process_list.display = self.list_mode and not self._zoomed
        collapsed = set() if grid is None else self._collapsed_names()
        self._collapsed_shown = collapsed
        row = self.query_one(CollapsedRow)
        row.entries = tuple(
            (p.index + 1, p.name, p.label()[0])
            for p in self.client
            if p.name in collapsed and not self._zoomed
        )
        if self.current in collapsed:  # it just completed: the keys go to a pane shown
            shown = [p.name for p in self.client if p.name not in collapsed]
            if shown:
                had_focus = self.current_pane.view.has_focus
                self.current = shown[0]
                if had_focus:
                    self.call_later(self.current_pane.view.focus)
        # The grid keeps its size through a zoom, the zoomed pane spanning all of it: a new grid
        # size refreshes every widget of every pane (Textual), and the panes shown again after
        # the zoom would all be rendered anew.
        columns, rows = (1, 1) if grid is None else grid
        container.styles.grid_size_columns = columns
        container.styles.grid_size_rows = rows
        if grid is None or self._zoomed:
            # display, not a CSS class: changing a class restyles the whole pane, which is slow
            for pane in self.panes:
                pane.display = pane.process.name == self.current
                pane.styles.column_span = 1
                pane.styles.row_span = 1
            current = self.current_pane
            current.display = True
            current.styles.column_span = columns
            current.styles.row_span = rows
            index = self.client.get(self.current).index
            if self.list_mode and self.process_list.highlighted != index:
                self.process_list.highlighted = index
        else:
            tiled = [p for p in self.client if p.name not in collapsed]
            spare = columns * rows - len(tiled)
            for proc in self.client:
                if proc.name in collapsed:
                    if proc.name in self._panes:
                        self._panes[proc.name].display = False
                    continue
                pane = self.pane(proc.name)
                pane.display = True
                pane.styles.column_span = 1 + spare if proc is tiled[-1] else 1
                pane.styles.row_span = 1
        # A pane shown again catches up with what it missed while hidden: now, and painted
        # by the frame of this layout, not by a flush that would paint it where it was.
        now = time.monotonic()
        for pane in self.panes:
            if self._shown(pane):
                self._dirty.discard(pane.process.name)
                pane.view.sync(now, paint=False)

    def watch_list_mode(self, list_mode: bool) -> None:
        self.process_list.can_focus = list_mode

    # --- which pane ----------------------------------------------------------------------------

    def on_descendant_focus(self, event) -> None:
        node = event.widget
        while node is not None and not isinstance(node, ProcessPane):
            node = node.parent
        if isinstance(node, ProcessPane):
            self.current = node.process.name
            if self._expanded is not None and self._expanded != self.current:
                self._expanded = None  # focus left it: it collapses again
                self._layout()

    def focus_process(self, name: str, focus_view: bool = True) -> None:
        pane = self.pane(name)
        self.current = name
        if self.collapsible(self.client.get(name)) and self._expanded != name:
            self._expanded = name  # shown while it has the focus
            self._layout()
        elif self.list_mode or self._zoomed:
            self._layout()
        if focus_view:
            if pane.view.is_mounted:
                # Now, not focus() (a later turn of the loop): keys typed right after, such as
                # "2/File" in one go, must find the focus where these keys put it ("/": in the
                # search bar), not have it taken back to the view afterwards.
                pane.view.screen.set_focus(pane.view)
            else:  # its pane was made just now (shown for the first time): once it is there
                self.call_after_refresh(pane.view.focus)

    def action_select(self, number: int) -> None:
        if 1 <= number <= len(self.client.processes):
            self.focus_process(self.client.processes[number - 1].name)

    def action_focus_pane(self, step: int) -> None:
        index = self.client.get(self.current).index
        count = len(self.client.processes)
        self.focus_process(self.client.processes[(index + step) % count].name)

    @property
    def zoomed_pane(self) -> ProcessPane | None:
        """The pane shown alone (z), or None."""
        return self.current_pane if self._zoomed else None

    def action_zoom(self) -> None:
        """The current pane alone on the screen (with the key bar), or the layout again. The
        other panes are hidden (display), not covered: Textual's maximize set a class on the
        screen, which restyled every widget of it (~60 ms a press with five panes)."""
        self._zoomed = not self._zoomed
        self._layout()
        if self._zoomed:
            self.current_pane.view.focus()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's own, but for Maximize and Minimize: the palette's zoom is ``Zoom`` (z). A
        Textual maximize would be a second zoom that this one, and Esc, know nothing of."""
        for command in super().get_system_commands(screen):
            if command.title not in ("Maximize", "Minimize"):
                yield command

    @on(CollapsedRow.Picked)
    def _collapsed_picked(self, event: CollapsedRow.Picked) -> None:
        self.focus_process(event.name)

    @on(OptionList.OptionHighlighted, "#process-list")
    def _list_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        name = self.client.processes[event.option_index].name
        if name != self.current:
            self.current = name
            self._layout()

    @on(OptionList.OptionSelected, "#process-list")
    def _list_selected(self, event: OptionList.OptionSelected) -> None:
        self.focus_process(self.client.processes[event.option_index].name)
