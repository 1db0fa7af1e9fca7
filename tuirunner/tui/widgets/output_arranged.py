"""An output view's filters and wrapping (any view built on
:class:`~tuirunner.tui.widgets.output_view.OutputView`, a pane's or another).

Filtered or wrapped, the view paints through a :class:`~.output_layout.RowMap` (rows to lines);
otherwise row *r* is line ``first_index + r`` as before. Traceback blocks and links are
output_marks.py's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.style import Style
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.selection import Selection
from textual.strip import Strip

from tuirunner.output import OutputBuffer
from tuirunner.tracebacks import TracebackScanner
from tuirunner.tui.widgets.output_layout import LineFilter, RowMap
from tuirunner.tui.widgets.output_lines import plain_line

ARRANGED_CSS = """
OutputView > .output-view--traceback {
    background: $error 12%;
}
OutputView > .output-view--current-traceback {
    background: $error 30%;
}
OutputView > .output-view--link {
    text-style: underline;
}
"""
NARROW = 80  # views narrower than this wrap tracebacks unless told otherwise (w)


class Arranged(ScrollView):
    """The filtering, wrapping, traceback and link part of the output view."""

    ARRANGED_CLASSES = {
        "output-view--traceback",
        "output-view--current-traceback",
        "output-view--link",
    }

    buffer: OutputBuffer
    _rowmap: RowMap | None = None
    line_filter: LineFilter = LineFilter()
    wrap: bool = False
    wrap_choice: bool | None = None  # the user's (w); None: wrap when narrower than narrow_wrap
    narrow_wrap = NARROW
    _lines_width = -1  # the view's width at the last resize

    if TYPE_CHECKING:  # the other parts of the view
        follow: bool
        _width: int
        _cache: object
        _rows: dict

        def _invalidate(self) -> None: ...
        def _forget_painted(self) -> None: ...
        def _set_follow(self, follow: bool) -> None: ...
        def _set_virtual_size(self, size: Size) -> None: ...
        def _line_strip(self, index: int, ordinal: int, rich_style: Style) -> Strip | None: ...
        def action_follow(self) -> None: ...
        def _scan_tracebacks(self) -> None: ...

        tracebacks: TracebackScanner | None

    class Arranged(Message):
        """Its filter or wrap changed, or, filtered, how many lines it hides."""

        def __init__(self, view: Arranged) -> None:
            super().__init__()
            self.view = view

    # --- rows ----------------------------------------------------------------------------------

    @property
    def hidden_lines(self) -> int:
        return self._rowmap.hidden if self._rowmap is not None and self.line_filter else 0

    def _wraps(self, index: int) -> bool:
        """Whether line *index* wraps (then it does not widen the view)."""
        rowmap = self._rowmap
        if rowmap is None or rowmap.wrap is None:
            return False
        return rowmap.wrap_only is None or rowmap.wrap_only(index)

    def _row_count(self) -> int:
        return len(self.buffer) if self._rowmap is None else self._rowmap.count

    def _update_rows(self, dropped: int) -> int:
        """Catch up the row map with the buffer; the rows dropped at the top."""
        self._scan_tracebacks()
        rowmap = self._rowmap
        if rowmap is None:
            return dropped
        hidden = rowmap.hidden
        dropped = rowmap.update(self.buffer)
        if rowmap.hidden != hidden:
            self.post_message(self.Arranged(self))
        return dropped

    def _content_size(self) -> Size:
        if self._rowmap is not None and self._rowmap.wrap and self._rowmap.wrap_only is None:
            return Size(self.size.width, self._rowmap.count)
        return Size(self._width, self._row_count())

    def _row_of(self, index: int, column: int = 0) -> int:
        """The row that shows cell *column* of line *index*."""
        rowmap = self._rowmap
        if rowmap is None:
            return index - self.buffer.first_index
        row = rowmap.row_of(index)
        wrapped = row < len(rowmap.start) and rowmap.start[row] >= 0
        return row + (column // rowmap.wrap if rowmap.wrap and wrapped else 0)

    def _line_shown(self, index: int) -> bool:
        rowmap = self._rowmap
        return rowmap is None or not self.line_filter or rowmap.shows(index, self.buffer.total)

    def _top_line(self) -> int:
        row = round(self.scroll_y)
        if self._rowmap is None:
            return self.buffer.first_index + row
        if row < self._rowmap.count:
            return self._rowmap.row(row, self.buffer.total)[0]
        return self.buffer.total

    def _rearrange(self) -> None:
        """Make the row map again (a new filter, wrap or width), keeping the top line."""
        top = self._top_line()
        self._new_rowmap()
        self._invalidate()
        self._set_virtual_size(self._content_size())
        if self.wrap:
            self.scroll_to(x=0, animate=False, immediate=True, force=True)
        if self.follow:
            self.call_after_refresh(self.action_follow)
        else:
            self.scroll_to(y=self._row_of(top), animate=False, immediate=True, force=True)
        self.refresh()
        self.post_message(self.Arranged(self))

    @property
    def wraps_tracebacks(self) -> bool:
        """Not told whether to wrap, and narrow: tracebacks wrap (the other lines do not)."""
        width = self.scrollable_content_region.width
        return self.wrap_choice is None and 10 <= width < self.narrow_wrap

    def _wanted_wrap(self) -> tuple[int | None, bool]:
        """(the width lines wrap at, or None; whether only tracebacks wrap)."""
        width = self.scrollable_content_region.width
        scanner = self.tracebacks
        some = (
            not self.wrap and self.wraps_tracebacks and scanner is not None and bool(scanner.blocks)
        )
        return (width if (self.wrap or some) and width > 0 else None), some

    def _new_rowmap(self) -> None:
        wrap_width, some = self._wanted_wrap()
        scanner = self.tracebacks
        if wrap_width:
            self._width = 0  # measured again as lines are painted (wrapped ones do not count)
        if self.line_filter or wrap_width:
            only = (lambda i: scanner.block_at(i) is not None) if some and scanner else None
            self._rowmap = RowMap(self.line_filter, wrap_width, only)
            self._rowmap.update(self.buffer)
        else:
            self._rowmap = None

    def set_filter(self, line_filter: LineFilter) -> None:
        self.line_filter = line_filter
        self._rearrange()

    def remember_wrap(self, choice: bool | None) -> None:
        """Take the user's remembered choice (w), before the view is shown (its first size
        arranges it)."""
        self.wrap_choice = choice
        self.wrap = bool(choice)

    def set_wrap(self, wrap: bool) -> None:
        if wrap != self.wrap:
            self.wrap = wrap
            self._rearrange()

    def _arranged_resize(self) -> None:
        # A line is rendered once, whatever the width, except a traceback's: its tint is as
        # wide as the view. So a zoom renders again only the tracebacks shown.
        width, scanner = self.scrollable_content_region.width, self.tracebacks
        if width != self._lines_width and scanner is not None and scanner.blocks:
            self._invalidate()
        else:
            self._forget_painted()  # where the rows are, the terminal shows something else
        self._lines_width = width
        rowmap = self._rowmap
        wrap_width, some = self._wanted_wrap()
        if rowmap is None:
            if wrap_width:
                self._rearrange()
        elif rowmap.wrap != wrap_width or (rowmap.wrap_only is not None) != some:
            self._rearrange()

    def _mapped_row_renderer(self, width: int, filtered: bool):
        """A function of y giving the row's strip, through the row map."""
        rowmap = self._rowmap
        assert rowmap is not None
        scroll_x, scroll_y = self.scroll_offset
        total = self.buffer.total
        filters = self.get_line_filters() if filtered else ()
        _, background = self.background_colors
        rich_style = self.rich_style
        cut = (scroll_x, width, background, rich_style, rowmap.version, *filters)
        shown = self._rows if filtered else {}
        count = rowmap.count

        def render_row(y: int) -> Strip:
            row = scroll_y + y
            if row >= count:
                strip = Strip.blank(width, rich_style)
            else:
                index, start, ordinal = rowmap.row(row, total)
                complete = index < total
                key = (index, start)
                seen = shown.get(key) if complete else None
                if seen is not None and seen[0] == (row, ordinal, cut):
                    return seen[1]
                strip = self._line_strip(index, ordinal, rich_style)
                if strip is None:
                    strip = Strip.blank(width, rich_style)
                else:
                    x = start if start >= 0 else scroll_x
                    strip = strip.crop_extend(x, x + width, rich_style).apply_offsets(x, ordinal)
                for line_filter in filters:
                    strip = strip.apply_filter(line_filter, background)
                if complete:
                    if len(shown) > 2048:
                        shown.clear()
                    shown[key] = ((row, ordinal, cut), strip)
                return strip
            for line_filter in filters:
                strip = strip.apply_filter(line_filter, background)
            return strip

        return render_row

    # --- what the rows are for selection and copy -----------------------------------------

    def _shown_lines(self) -> list[str]:
        buf = self.buffer
        if self._rowmap is None:
            return buf.snapshot()
        return [buf.line(i) or "" for i in self._rowmap.line_indices(buf.total)]

    def _mapped_selection(self, selection: Selection) -> tuple[str, str] | None:
        text = "\n".join(plain_line(line) for line in self._shown_lines())
        return selection.extract(text), "\n"

    def _mapped_visible_text(self) -> str:
        rowmap = self._rowmap
        assert rowmap is not None
        total = self.buffer.total
        top = round(self.scroll_y)
        indices: list[int] = []
        for row in range(top, min(top + self.size.height, rowmap.count)):
            index = rowmap.row(row, total)[0]
            if not indices or indices[-1] != index:
                indices.append(index)
        return "\n".join(plain_line(self.buffer.line(i) or "") for i in indices)

    def _mapped_position(self) -> tuple[int, int, int]:
        rowmap = self._rowmap
        assert rowmap is not None
        count = len(rowmap.line_indices(self.buffer.total))
        top = round(self.scroll_y)
        if not rowmap.count:
            return 0, 0, 0
        total = self.buffer.total
        first = rowmap.row(min(top, rowmap.count - 1), total)[2] + 1
        bottom = min(top + self.size.height, rowmap.count) - 1
        return first, rowmap.row(bottom, total)[2] + 1, count
