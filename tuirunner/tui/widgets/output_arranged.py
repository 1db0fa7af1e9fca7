"""An output view's filters, wrapping, traceback blocks and links (any view built on
:class:`~tuirunner.tui.widgets.output_view.OutputView`, a pane's or another).

Filtered or wrapped, the view paints through a :class:`~.output_layout.RowMap` (rows to lines);
otherwise row *r* is line ``first_index + r`` as before. Tracebacks are found by the core's
:class:`~tuirunner.tracebacks.TracebackScanner` as lines arrive, and painted as blocks.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rich.style import Style
from rich.text import Text
from textual import events
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.selection import Selection
from textual.strip import Strip

from tuirunner.output import OutputBuffer
from tuirunner.tracebacks import Block, Frame, TracebackScanner, frame_in_line
from tuirunner.tui.widgets.output_layout import LineFilter, RowMap
from tuirunner.tui.widgets.output_lines import plain_line

URL = re.compile(r"\bhttps?://[^\s<>\"'`]+[^\s<>\"'`.,;:!?)\]}]")

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


def url_at(plain: str, column: int) -> str | None:
    """The URL of *plain* that covers *column*, if any."""
    for match in URL.finditer(plain):
        if match.start() <= column < match.end():
            return match.group()
    return None


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
    tracebacks: TracebackScanner | None = None
    current_block: Block | None = None
    pointed_line: int | None = None  # the line last clicked
    _hover_link: tuple[int, int, int] | None = None  # (line, start, end) of the URL under the mouse
    wrap_choice: bool | None = None  # the user's (w); None: wrap when narrower than narrow_wrap
    narrow_wrap = 0

    if TYPE_CHECKING:  # the other parts of the view
        follow: bool
        _width: int
        _cache: object
        _rows: dict

        def _invalidate(self) -> None: ...
        def _set_follow(self, follow: bool) -> None: ...
        def _set_virtual_size(self, size: Size) -> None: ...
        def _line_strip(self, index: int, ordinal: int, rich_style: Style) -> Strip | None: ...
        def action_follow(self) -> None: ...

    class Arranged(Message):
        """Its filter or wrap changed, or, filtered, how many lines it hides."""

        def __init__(self, view: Arranged) -> None:
            super().__init__()
            self.view = view

    class LinkClicked(Message):
        """A URL in the output was clicked."""

        def __init__(self, view: Arranged, url: str) -> None:
            super().__init__()
            self.view = view
            self.url = url

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

    def _new_rowmap(self) -> None:
        width = self.scrollable_content_region.width
        scanner = self.tracebacks
        some = (
            not self.wrap and self.wraps_tracebacks and scanner is not None and bool(scanner.blocks)
        )
        wrap_width = width if (self.wrap or some) and width > 0 else None
        if self.line_filter or wrap_width:
            only = (lambda i: scanner.block_at(i) is not None) if some and scanner else None
            self._rowmap = RowMap(self.line_filter, wrap_width, only)
            self._rowmap.update(self.buffer)
        else:
            self._rowmap = None

    def set_filter(self, line_filter: LineFilter) -> None:
        self.line_filter = line_filter
        self._rearrange()

    def set_wrap(self, wrap: bool) -> None:
        if wrap != self.wrap:
            self.wrap = wrap
            self._rearrange()

    def _arranged_resize(self) -> None:
        rowmap = self._rowmap
        width = self.scrollable_content_region.width
        if (rowmap is not None and rowmap.wrap and rowmap.wrap != width) or (
            rowmap is None and self.wraps_tracebacks and self.tracebacks and self.tracebacks.blocks
        ):
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

    # --- tracebacks ----------------------------------------------------------------------------

    def _scan_tracebacks(self) -> None:
        if self.tracebacks is None:
            self.tracebacks = TracebackScanner()
        if self.tracebacks.catch_up(self.buffer):
            self._invalidate()  # lines already painted may be in the new block
            if not self.wrap and self.wraps_tracebacks:
                self._new_rowmap()  # its lines wrap

    def jump_block(self, step: int) -> Block | None:
        """Show the next (*step* 1) or previous (-1) traceback from the one shown, or from the
        top line; None if there is none that way."""
        self._scan_tracebacks()
        assert self.tracebacks is not None
        if self.current_block is not None and self.current_block in self.tracebacks.blocks:
            here = self.current_block.start
        else:
            here = self._top_line() - (1 if step > 0 else 0)
            if step < 0 and self.follow:
                here = self.buffer.total + 1
        block = self.tracebacks.next_block(here, step)
        if block is None:
            return None
        self.current_block = block
        self.pointed_line = None
        self._set_follow(False)
        self.scroll_to(
            y=max(0, self._row_of(block.start) - 1), animate=False, immediate=True, force=True
        )
        self._invalidate()
        self.refresh()
        return block

    def frame_to_open(self, app_root: str) -> Frame | None:
        """The frame under the line last clicked, else the shown block's last frame in the
        project's code."""
        self._scan_tracebacks()
        assert self.tracebacks is not None
        pointed = self.pointed_line
        if pointed is not None:
            block = self.tracebacks.block_at(pointed)
            frame = block.frame_at(pointed) if block is not None else None
            if frame is not None:
                return frame
            found = frame_in_line(plain_line(self.buffer.line(pointed) or ""))
            if found is not None:
                return Frame(pointed, *found)
        block = self.current_block
        if block is None or block not in self.tracebacks.blocks:
            blocks = self.tracebacks.blocks
            top = self._top_line()
            shown = [b for b in blocks if b.end >= top and b.start < top + self.size.height]
            block = shown[-1] if shown else (blocks[-1] if blocks else None)
        return block.project_frame(app_root) if block is not None else None

    def _decorate(self, text: Text, index: int) -> None:
        """Mark a line of a traceback block, and the URLs in it."""
        scanner = self.tracebacks
        if scanner is not None and scanner.blocks:
            block = scanner.block_at(index)
            if block is not None:
                name = (
                    "output-view--current-traceback"
                    if block is self.current_block
                    else "output-view--traceback"
                )
                text.stylize_before(self.get_component_rich_style(name, partial=True))
        hover = self._hover_link
        if hover is not None and hover[0] == index:  # the link under the mouse
            style = self.get_component_rich_style("output-view--link", partial=True)
            text.stylize(style, hover[1], hover[2])

    # --- clicks --------------------------------------------------------------------------------

    def _link_at(self, index: int, column: int) -> tuple[int, int, int] | None:
        plain = plain_line(self.buffer.line(index) or "")
        if "://" not in plain:
            return None
        for match in URL.finditer(plain):
            if match.start() <= column < match.end():
                return index, match.start(), match.end()
        return None

    def _set_hover_link(self, link: tuple[int, int, int] | None) -> None:
        if link != self._hover_link:
            self._hover_link = link
            self._invalidate()
            self.refresh()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        where = self._line_at(event)
        self._set_hover_link(self._link_at(*where) if where is not None else None)

    def on_leave(self, event: events.Leave) -> None:
        self._set_hover_link(None)

    def _line_at(self, event: events.MouseEvent) -> tuple[int, int] | None:
        """(line index, cell in the line) under the mouse."""
        offset = event.get_content_offset(self)
        if offset is None:
            return None
        row = round(self.scroll_y) + offset.y
        if self._rowmap is None:
            index = self.buffer.first_index + row
            return (index, round(self.scroll_x) + offset.x) if index <= self.buffer.total else None
        if row >= self._rowmap.count:
            return None
        index, start, _ = self._rowmap.row(row, self.buffer.total)
        x = start if start >= 0 else round(self.scroll_x)
        return index, x + offset.x

    def on_click(self, event: events.Click) -> None:
        where = self._line_at(event)
        if where is None:
            return
        index, column = where
        self.pointed_line = index
        plain = plain_line(self.buffer.line(index) or "")
        url = url_at(plain, column)
        if url is not None:
            self.post_message(self.LinkClicked(self, url))
