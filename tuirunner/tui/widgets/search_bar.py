"""The search bar of a pane and of the merged view: what is typed is searched as it is typed,
Enter / ↓ and ↑ move between the matches, Esc closes it, and a view that followed before the
search scrolled it follows again."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Input, Static

if TYPE_CHECKING:
    from tuirunner.tui.widgets.output_search import Search
    from tuirunner.tui.widgets.output_view import OutputView


class SearchInput(Input):
    """The search box: what is typed is searched as it is typed; its keys move between the
    matches and close it."""

    BINDINGS = [
        Binding("enter", "step(1)", "Next match"),
        Binding("down", "step(1)", "Next match", show=False),
        Binding("up,shift+enter", "step(-1)", "Previous match"),
        Binding("escape", "close", "Close search"),
    ]

    def __init__(self, host: SearchTools) -> None:
        super().__init__(
            placeholder="search (enter: next, ↑: previous, esc: close)",
            compact=True,
            classes="search-input",
        )
        self.host = host

    def action_step(self, step: int) -> None:
        self.host.search_step(step)

    def action_close(self) -> None:
        self.host.close_search()


class SearchTools(Widget):
    """The search bar of the widget or screen that holds an output view (a mixin)."""

    view: OutputView
    search_bar: Horizontal | None = None  # made when first opened
    search_input: SearchInput | None = None
    match_label: Static | None = None
    _was_following = True  # when the search opened: it follows again once closed

    def _bar_place(self) -> dict:
        """Where a bar opened under the output is mounted (keywords of ``mount``)."""
        return {}

    def _make_search_bar(self) -> Horizontal:
        self.search_input = SearchInput(self)
        self.match_label = Static(classes="match-count")
        self.search_bar = Horizontal(self.search_input, self.match_label, classes="search-bar")
        return self.search_bar

    async def open_search(self) -> None:
        """Show the search bar (made the first time) and focus it. Awaited by the key's action,
        so that the keys typed right after ``/`` go into it, not to the app's bindings."""
        if self.search_bar is None:
            await self.mount(self._make_search_bar(), **self._bar_place())
        assert self.search_bar is not None and self.search_input is not None
        if not self.search_bar.display or not self.searching:
            self._was_following = self.view.follow
        self.search_bar.display = True
        self.screen.set_focus(self.search_input)  # now: focus() would wait for a later turn
        if self.search_input.value:
            self._run_search(self.search_input.value)

    def close_search(self) -> None:
        if self.search_bar is not None:
            self.search_bar.display = False
        self.view.set_search(None)
        if self.match_label is not None:
            self.match_label.update("")
        self.view.focus()
        if self._was_following:  # the search scrolled, not the user: follow again
            self.view.action_follow()

    @property
    def searching(self) -> bool:
        bar = self.search_bar
        return bar is not None and bar.is_mounted and bar.display

    def _run_search(self, query: str) -> None:
        self.view.set_search(query)
        self._update_match_label()

    def _match_place(self, search: Search) -> str:
        """What the match count adds about the current match (the merged view: which
        process)."""
        return ""

    def _update_match_label(self) -> None:
        search = self.view.search
        label = self.match_label
        if label is None:
            return
        if search is None:
            label.update("")
        elif not search.matches:
            label.update("no match")
            label.add_class("-none")
        else:
            place = self._match_place(search)
            count = f"{search.current + 1}/{len(search.matches)}"
            label.update(Text(f"{count} · {place}" if place else count))
            label.remove_class("-none")

    @on(Input.Changed, ".search-input")
    def _search_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._run_search(event.value)

    def search_step(self, step: int) -> None:
        query = self.search_input.value if self.search_input is not None else ""
        if self.view.search is None or self.view.search.query != query:
            self._run_search(query)
        else:
            self.view.move_match(step)
        self._update_match_label()
