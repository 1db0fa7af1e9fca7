"""Which rows an output view shows when it filters or wraps: a map from rows to lines.

Without a filter and without wrapping, row *r* is line ``first_index + r`` and no map exists
(the fast path). With either, :class:`RowMap` lists for each row the line it shows and the
first cell of the line it starts at (wrapped lines take several rows). It is kept up to date
incrementally: new lines are appended, lines that fell off the buffer are dropped.

A line is the buffer's line, whatever the rows: search, selection and copy work on lines (the
selection's coordinates are (cell in the line, ordinal of the line among those shown)).
"""

from __future__ import annotations

import itertools
import math
import re
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass

from tuirunner.output import OutputBuffer
from tuirunner.tui.widgets.output_lines import cells, plain_line


@dataclass(frozen=True)
class Matcher:
    """What a filter matches: a text (any case), or a regular expression written ``/…/``."""

    text: str
    pattern: re.Pattern[str] | None = None

    @classmethod
    def parse(cls, text: str) -> Matcher | None:
        """None for an empty text; ValueError (with a reason) for a bad regular expression."""
        if not text:
            return None
        if len(text) > 2 and text.startswith("/") and text.endswith("/"):
            try:
                return cls(text, re.compile(text[1:-1]))
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from None
        return cls(text)

    def matches(self, plain: str) -> bool:
        if self.pattern is not None:
            return self.pattern.search(plain) is not None
        return self.text.lower() in plain.lower()


@dataclass(frozen=True)
class LineFilter:
    """Lines matching *hide* are not shown; with *only*, just the lines matching it are."""

    hide: Matcher | None = None
    only: Matcher | None = None

    def __bool__(self) -> bool:
        return self.hide is not None or self.only is not None

    def shows(self, plain: str) -> bool:
        if self.only is not None and not self.only.matches(plain):
            return False
        return self.hide is None or not self.hide.matches(plain)

    def describe(self) -> str:
        parts = []
        if self.only is not None:
            parts.append(f"only {self.only.text!r}")
        if self.hide is not None:
            parts.append(f"hiding {self.hide.text!r}")
        return ", ".join(parts)


class RowMap:
    """The rows of a filtered or wrapped view (see the module docstring)."""

    def __init__(
        self,
        line_filter: LineFilter,
        wrap: int | None,
        wrap_only: Callable[[int], bool] | None = None,
    ) -> None:
        self.filter = line_filter
        self.wrap = wrap if wrap and wrap > 0 else None  # the width lines wrap at
        self.wrap_only = wrap_only  # which lines wrap (by index); None: all of them
        self.index: list[int] = []  # per row: the absolute index of its line
        # per row: the cell of its line it starts at, or -1: a line that does not wrap (it
        # scrolls horizontally)
        self.start: list[int] = []
        self.lines: list[int] = []  # the complete lines shown, by absolute index
        self.covered = 0  # complete lines looked at: those before this absolute index
        self.partial: list[int] = []  # the starts of the partial line's rows (none: not shown)
        self.hidden = 0  # lines of the buffer not shown
        self.version = 0  # changes whenever rows change meaning (a cache key)

    @property
    def count(self) -> int:
        return len(self.index) + len(self.partial)

    def _starts(self, plain: str, index: int) -> range:
        if self.wrap is None or (self.wrap_only is not None and not self.wrap_only(index)):
            return range(-1, 0)
        width = cells(plain)
        rows = max(1, math.ceil(width / self.wrap))
        return range(0, rows * self.wrap, self.wrap)

    def update(self, buffer: OutputBuffer) -> int:
        """Catch up with *buffer*; the number of rows dropped from the top."""
        first, total = buffer.first_index, buffer.total
        dropped = bisect_left(self.index, first)
        if dropped:
            del self.index[:dropped]
            del self.start[:dropped]
            del self.lines[: bisect_left(self.lines, first)]
            self.version += 1
        start = max(self.covered, first)
        if start < total:
            new = list(itertools.islice(reversed(buffer.lines), total - start))[::-1]
            for index, raw in enumerate(new, start):
                plain = plain_line(raw)
                if not self.filter.shows(plain):
                    continue
                self.lines.append(index)
                starts = self._starts(plain, index)
                self.index.extend(itertools.repeat(index, len(starts)))
                self.start.extend(starts)
        self.covered = total
        partial = buffer.line(total) if buffer.partial else None
        shown = partial is not None and self.filter.shows(plain_line(partial))
        self.partial = list(self._starts(plain_line(partial), total)) if shown and partial else []
        self.hidden = (total - first) - len(self.lines)
        if partial is not None and not shown:
            self.hidden += 1
        return dropped

    def row(self, row: int, total: int) -> tuple[int, int, int]:
        """(line index, first cell, ordinal of the line) of *row* (< count)."""
        if row < len(self.index):
            index = self.index[row]
            return index, self.start[row], bisect_left(self.lines, index)
        return total, self.partial[row - len(self.index)], len(self.lines)

    def row_of(self, index: int) -> int:
        """The first row of line *index*, or of the first line shown after it."""
        return bisect_left(self.index, index)

    def shows(self, index: int, total: int) -> bool:
        if index >= total:
            return bool(self.partial)
        position = bisect_left(self.lines, index)
        return position < len(self.lines) and self.lines[position] == index

    def line_indices(self, total: int) -> list[int]:
        """Every line shown, in order (the partial one last)."""
        return self.lines + ([total] if self.partial else [])
