"""The merged view (``m``): every process's output in one stream, in the order it came, as
plain mode prints it (``web.1  | …`` in the process's colour; state changes as ``system``).

A row of the processes' names on top shows which are shown: a number key or a click shows or
hides one, ``o`` and a number (or a double click) shows only that one, ``a`` all of them. The
output follows, scrolls, searches (``/``: the bar says which process matched), filters (``f``,
``g``, ``F``), wraps (``w``), jumps between tracebacks (``[``, ``]``), copies (``c``), shows
times (``t``) and saves (``ctrl+s``) as a pane's does (the app's keys, see reading.py's
MERGED_ACTIONS). ``m`` or Esc goes back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen

from tuirunner.printer import COLOURS
from tuirunner.tui.widgets.filter_bar import FilterTools
from tuirunner.tui.widgets.kept_lines import Bar
from tuirunner.tui.widgets.key_bar import KeyBar
from tuirunner.tui.widgets.line_models import MergedLines
from tuirunner.tui.widgets.merged_view import MergedView
from tuirunner.tui.widgets.output_view import OutputView

if TYPE_CHECKING:
    from tuirunner.tui.app import TuirunnerApp
    from tuirunner.tui.widgets.output_search import Search

_SGR_TO_RICH = {
    "31": "red",
    "32": "green",
    "33": "yellow",
    "34": "blue",
    "35": "magenta",
    "36": "cyan",
}


def colour_style(code: str) -> str:
    """The Rich style of one of printer.COLOURS (``1;36`` is bright cyan)."""
    bold, _, base = code.rpartition(";")
    name = _SGR_TO_RICH.get(base, "")
    return f"bold bright_{name}" if bold else name


class SourceBar(Bar):
    """``1 web.1  2 worker.1  …``: the processes, the hidden ones dimmed and struck out."""

    def __init__(self, model: MergedLines, **kwargs) -> None:
        super().__init__(**kwargs)
        self.model = model
        self._spans: list[tuple[int, int, int]] = []  # (start, end, source) as drawn

    def show(self) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        self._spans = []
        model = self.model
        for i, name in enumerate(model.names[:-1]):  # not "system": it is the runner's own
            start = text.cell_len
            key = f"{i + 1} " if i < 9 else ""
            style = colour_style(COLOURS[i % len(COLOURS)])
            if i in model.hidden:
                style = "dim strike"
            text.append(key, style="dim")
            text.append(name, style=style)
            self._spans.append((start, text.cell_len, i))
            text.append("  ")
        hidden = len(model.hidden)
        if hidden:
            text.append(f"({hidden} hidden: a shows all)", style="dim")
        self.update(text, layout=False)  # one row, whatever it says: no relayout

    def on_click(self, event: events.Click) -> None:
        for start, end, source in self._spans:
            if start <= event.x < end:
                screen = self.screen
                assert isinstance(screen, MergedScreen)
                if event.chain >= 2:
                    screen.show_only(source)
                else:
                    screen.toggle_source(source)
                break


class MergedScreen(FilterTools, Screen):
    DEFAULT_CSS = """
    MergedScreen #merged-sources { height: 1; width: 1fr; padding: 0 1; background: $panel; }
    MergedScreen #merged-output { height: 1fr; }
    MergedScreen #merged-position {
        height: 1; width: 1fr; padding: 0 1; background: $accent-muted;
    }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="merged.back"),
        Binding("m", "close", "Panes", id="merged.close"),
        Binding("slash", "search", "Search", id="merged.search"),
        Binding("t", "app.toggle_time", "Times", id="merged.time"),
        Binding("c", "copy", "Copy", id="merged.copy"),
        Binding("ctrl+s", "save", "Save", id="merged.save"),
        Binding("a", "show_all", "All", id="merged.all"),
        Binding("o", "only", "Only…", id="merged.only"),
        Binding("q", "app.quit", "Quit", show=False),
        *(
            Binding(str(n), f"toggle_source({n - 1})", f"Toggle {n}", show=False)
            for n in range(1, 10)
        ),
    ]

    def __init__(self, model: MergedLines) -> None:
        super().__init__(id="merged")
        self.model = model
        self.sources = SourceBar(model, id="merged-sources")
        self.view = MergedView(model, id="merged-output", classes="output")
        self.position_bar = Bar(id="merged-position")
        self._only_next = False

    @property
    def tui(self) -> TuirunnerApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield self.sources
        yield self.view
        yield self.position_bar
        yield KeyBar()

    def on_mount(self) -> None:
        self.sources.show()
        self.view.focus()
        self.view.sync()
        self.show_position()

    # --- keeping up ----------------------------------------------------------------------------

    def sync(self, now: float) -> None:
        self.view.sync(now)
        if self.searching:
            self._update_match_label()

    @on(OutputView.FollowChanged)
    def _follow_changed(self, event: OutputView.FollowChanged) -> None:
        event.stop()
        self.show_position()

    @on(OutputView.Resized)
    def _resized(self, event: OutputView.Resized) -> None:
        event.stop()  # no process's terminal has this size

    def show_position(self) -> None:
        """Following, or where it is scrolled to (and what came since)."""
        view = self.view
        if view.follow:
            text = "following — lines of every process as they come"
        else:
            first, last, count = view.position()
            text = f"scrolled: lines {first:,}–{last:,} of {count:,}"
            if view.unseen:
                text += f" · ↓ {view.unseen:,} new"
            text += " — End to follow"
        self.position_bar.update(Text(text), layout=False)

    def on_click(self, event: events.Click) -> None:
        if event.widget is self.position_bar and not self.view.follow:
            self.view.action_follow()

    # --- which processes ----------------------------------------------------------------------

    def _hide(self, hidden: set[int]) -> None:
        self.model.set_hidden(hidden)
        self.tui.merged_hidden = {self.model.names[i] for i in hidden}
        self.view.reset()
        self.sources.show()

    def action_toggle_source(self, source: int) -> None:
        if self._only_next:
            self.show_only(source)
            return
        self.toggle_source(source)

    def toggle_source(self, source: int) -> None:
        if source >= len(self.model.names) - 1:
            return
        self._hide(self.model.hidden ^ {source})

    def show_only(self, source: int) -> None:
        self._only_next = False
        count = len(self.model.names) - 1
        if source >= count:
            return
        self._hide({i for i in range(count) if i != source})

    def action_show_all(self) -> None:
        self._hide(set())

    def action_only(self) -> None:
        self._only_next = True
        self.notify("Show only: press the process's number", timeout=3, markup=False)

    # --- search, copy, save -------------------------------------------------------------------

    async def action_search(self) -> None:
        await self.open_search()

    def close_search(self) -> None:
        super().close_search()
        self.show_position()

    def _match_place(self, search: Search) -> str:
        return self.model.source_name(search.matches[search.current][0]) or ""

    def _bar_place(self) -> dict:
        return {"before": self.position_bar}

    def action_copy(self) -> None:
        text = self.get_selected_text()
        what = "selection"
        if not text:
            text = self.view.visible_text()
            what = "visible lines of the merged view"
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied the {what} to the clipboard", markup=False, timeout=3)

    def action_save(self) -> None:
        self.tui.save_output(self.view, "merged")

    # --- leaving ------------------------------------------------------------------------------

    def action_back(self) -> None:
        if self.searching:
            self.close_search()
        elif self.filtering:
            self.close_filter(keep=True)
        elif self.get_selected_text():
            self.clear_selection()
        else:
            self.action_close()

    def action_close(self) -> None:
        self.tui.close_merged()
