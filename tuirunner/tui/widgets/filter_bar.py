"""The filters of a pane and of the merged view: ``f`` hides the lines matching a text or a
``/regex/``, ``g`` shows only those; the bar under the output says what is filtered and how many
lines it hides."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Static

from tuirunner.tui.widgets.kept_lines import Bar
from tuirunner.tui.widgets.output_arranged import Arranged
from tuirunner.tui.widgets.output_layout import LineFilter, Matcher
from tuirunner.tui.widgets.search_bar import SearchTools

KINDS = {
    "hide": "hide lines matching (text, or /regex/; enter: keep, esc: cancel)",
    "only": "show only lines matching (text, or /regex/; enter: keep, esc: cancel)",
}


class FilterInput(Input):
    """What is typed filters as it is typed; Enter keeps it, Esc puts the last one back."""

    BINDINGS = [
        Binding("enter", "done", "Keep filter"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, pane: FilterTools) -> None:
        super().__init__(compact=True, classes="filter-input")
        self.pane = pane
        self.kind = "hide"
        self.before = LineFilter()

    def action_done(self) -> None:
        self.pane.close_filter(keep=True)

    def action_cancel(self) -> None:
        self.pane.close_filter(keep=False)


class FilterTools(SearchTools):
    """The search bar, filter bar and filter status of the widget or screen that holds an
    output view (a mixin)."""

    filter_bar: Horizontal | None = None
    filter_input: FilterInput | None = None
    filter_label: Static | None = None
    filter_status: Static | None = None

    async def open_filter(self, kind: str) -> None:
        """Show the filter bar for *kind* ("hide" or "only") and focus it."""
        if self.filter_bar is None:
            self.filter_input = FilterInput(self)
            self.filter_label = Static(classes="match-count")
            self.filter_bar = Horizontal(
                self.filter_input, self.filter_label, classes="search-bar filter-bar"
            )
            await self.mount(self.filter_bar, **self._bar_place())
        assert self.filter_input is not None
        current = self.view.line_filter
        matcher = current.hide if kind == "hide" else current.only
        self.filter_input.kind = kind
        self.filter_input.before = current
        self.filter_input.placeholder = KINDS[kind]
        with self.filter_input.prevent(Input.Changed):
            self.filter_input.value = matcher.text if matcher is not None else ""
        self.filter_bar.display = True
        self.screen.set_focus(self.filter_input)

    def close_filter(self, keep: bool) -> None:
        if self.filter_bar is not None:
            self.filter_bar.display = False
        if not keep and self.filter_input is not None:
            self.view.set_filter(self.filter_input.before)
        self.view.focus()

    @property
    def filtering(self) -> bool:
        bar = self.filter_bar
        return bar is not None and bar.is_mounted and bar.display

    def clear_filters(self) -> bool:
        """Show every line again; whether there was a filter."""
        if self.filtering:
            self.close_filter(keep=True)
        if not self.view.line_filter:
            return False
        self.view.set_filter(LineFilter())
        return True

    @on(Input.Changed, ".filter-input")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        assert self.filter_input is not None and self.filter_label is not None
        try:
            matcher = Matcher.parse(event.value)
        except ValueError as exc:
            self.filter_label.update(Text(str(exc)))
            self.filter_label.add_class("-none")
            return
        self.filter_label.remove_class("-none")
        current = self.view.line_filter
        if self.filter_input.kind == "hide":
            self.view.set_filter(LineFilter(hide=matcher, only=current.only))
        else:
            self.view.set_filter(LineFilter(hide=current.hide, only=matcher))

    @on(Arranged.Arranged)
    def _arranged(self, event: Arranged.Arranged) -> None:
        event.stop()
        self.show_filter_status()

    def show_filter_status(self) -> None:
        """The bar under the output says what is filtered and how many lines it hides."""
        view = self.view
        text = ""
        if view.line_filter:
            hidden = view.hidden_lines
            text = (
                f"{view.line_filter.describe()} · {hidden:,} line{'s' if hidden != 1 else ''}"
                " hidden — F shows all"
            )
        if self.filter_label is not None and self.filtering:
            self.filter_label.update(f"{view.hidden_lines:,} hidden")
        if self.filter_status is None:
            if not text:
                return
            self.filter_status = Bar(classes="unseen filter-status")
            self.mount(self.filter_status, after=self.view)
        self.filter_status.update(Text(text))
        self.filter_status.set_class(bool(text), "-visible")
