"""Searching an output view: every match in the whole scrollback, the current one in view."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rich.text import Text
from textual.scroll_view import ScrollView

from tuirunner.output import OutputBuffer
from tuirunner.tui.widgets.output_lines import plain_line


@dataclass
class Search:
    query: str
    matches: list[tuple[int, int]] = field(default_factory=list)  # (absolute line, start)
    current: int = -1

    @property
    def current_match(self) -> tuple[int, int] | None:
        if 0 <= self.current < len(self.matches):
            return self.matches[self.current]
        return None


class Searchable(ScrollView):
    """The search part of :class:`~tuirunner.tui.widgets.output_view.OutputView`."""

    buffer: OutputBuffer
    search: Search | None

    if TYPE_CHECKING:  # the other parts of the view

        def _invalidate(self) -> None: ...
        def _set_follow(self, follow: bool) -> None: ...
        def _line_shown(self, index: int) -> bool: ...
        def _row_of(self, index: int, column: int = 0) -> int: ...

    def set_search(self, query: str | None) -> Search | None:
        """Search the whole scrollback (not only what is visible); go to the most recent match."""
        if not query:
            self.search = None
            self._invalidate()
            self.refresh()
            return None
        needle = query.lower()
        matches = []
        first = self.buffer.first_index
        for offset, line in enumerate(self.buffer.snapshot()):
            if not self._line_shown(first + offset):
                continue
            plain = plain_line(line).lower()
            start = plain.find(needle)
            while start != -1:
                matches.append((first + offset, start))
                start = plain.find(needle, start + len(needle))
        self.search = Search(query, matches, len(matches) - 1)
        self._invalidate()
        self._show_current()
        return self.search

    def move_match(self, step: int) -> None:
        search = self.search
        if search is None:
            return
        if search.matches:
            search.current = (search.current + step) % len(search.matches)
        self._invalidate()
        self._show_current()

    def action_next_match(self) -> None:
        self.move_match(1)

    def action_previous_match(self) -> None:
        self.move_match(-1)

    def _show_current(self) -> None:
        match = self.search.current_match if self.search else None
        if match is not None:
            row = self._row_of(match[0], match[1])
            height = max(1, self.size.height)
            self._set_follow(False)
            x = max(0, match[1] - self.size.width // 2) if match[1] >= self.size.width else 0
            self.scroll_to(
                x=x, y=max(0, row - height // 2), animate=False, immediate=True, force=True
            )
        self.refresh()

    # --- input mode and sizing ---------------------------------------------------------------

    def _highlight_matches(self, text: Text, index: int) -> None:
        """Mark the matches in line *index*, the current one apart."""
        search = self.search
        if search is None or not search.query:
            return
        plain = text.plain.lower()
        query = search.query.lower()
        current = search.current_match
        match = self.get_component_rich_style("output-view--match", partial=True)
        current_match = self.get_component_rich_style("output-view--current-match", partial=True)
        start = plain.find(query)
        while start != -1:
            style = current_match if current == (index, start) else match
            text.stylize(style, start, start + len(query))
            start = plain.find(query, start + len(query))
