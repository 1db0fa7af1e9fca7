"""An output view's traceback blocks and links (a part of
:class:`~tuirunner.tui.widgets.output_view.OutputView`): blocks found by the core's
:class:`~tuirunner.tracebacks.TracebackScanner` as lines arrive, painted with a tint, jumped to
and opened; URLs underlined under the mouse and opened with a click.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rich.style import Style
from rich.text import Text
from textual import events
from textual.message import Message
from textual.scroll_view import ScrollView

from tuirunner.output import OutputBuffer
from tuirunner.tracebacks import Block, Frame, Lines, TracebackScanner, frame_in_line
from tuirunner.tui.widgets.output_lines import plain_line

if TYPE_CHECKING:
    from tuirunner.tui.widgets.output_layout import RowMap

URL = re.compile(r"\bhttps?://[^\s<>\"'`]+[^\s<>\"'`.,;:!?)\]}]")


def url_at(plain: str, column: int) -> str | None:
    """The URL of *plain* that covers *column*, if any."""
    for match in URL.finditer(plain):
        if match.start() <= column < match.end():
            return match.group()
    return None


class Marked(ScrollView):
    """Traceback blocks and links of the output view."""

    buffer: OutputBuffer
    tracebacks: TracebackScanner | None = None
    current_block: Block | None = None
    pointed_line: int | None = None  # the line last clicked
    _hover_link: tuple[int, int, int] | None = None  # (line, start, end) of the URL under the mouse

    if TYPE_CHECKING:  # the other parts of the view
        follow: bool
        wrap: bool
        _rowmap: RowMap | None

        @property
        def wraps_tracebacks(self) -> bool: ...
        def _invalidate(self) -> None: ...
        def _new_rowmap(self) -> None: ...
        def _set_follow(self, follow: bool) -> None: ...
        def _top_line(self) -> int: ...
        def _row_of(self, index: int, column: int = 0) -> int: ...

    class LinkClicked(Message):
        """A URL in the output was clicked."""

        def __init__(self, view: Marked, url: str) -> None:
            super().__init__()
            self.view = view
            self.url = url

    # --- tracebacks ----------------------------------------------------------------------------

    def _scanned_lines(self) -> Lines:
        """What the traceback scanner reads: the lines as shown (a view with prefixes gives
        them without)."""
        return self.buffer

    def _scan_tracebacks(self) -> None:
        if self.tracebacks is None:
            self.tracebacks = TracebackScanner()
        scanner = self.tracebacks
        last = scanner.blocks[-1].end if scanner.blocks else -1
        if scanner.catch_up(self._scanned_lines()):
            self._invalidate()  # lines already painted may be in the new block
            if not self.wrap and self.wraps_tracebacks:
                self._new_rowmap()  # its lines wrap
        elif scanner.blocks and scanner.blocks[-1].end != last:
            self._invalidate()  # the last block grew: lines painted before it did are in it

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
            # As printed: a view's time column or a merged row's `name |` prefix left out.
            printed = getattr(self.buffer, "printed", self.buffer.line)(pointed)
            found = frame_in_line(plain_line(printed or ""))
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
                # The whole row (and every row of a wrapped line), not only under the text.
                width = max(1, self.scrollable_content_region.width)
                length = text.cell_len
                if length % width or not length:
                    text.pad_right(width - length % width)
                # Blended here: a partial rich style would lose the colour's transparency.
                tint = self.background_colors[1] + self.get_component_styles(name).background
                text.stylize(Style(bgcolor=tint.rich_color))
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
