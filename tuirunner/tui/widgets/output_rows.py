"""Painting an output view's rows: only the visible ones, each rendered once, and only the rows
whose look changed sent to the terminal; a view that spans the terminal's width has its rows
moved by the terminal and only its new rows written (direct_rows.py).

A line is turned from ANSI into styled text when it is first shown, and the result is cached
by its absolute line number (lines never change once complete).
"""

from __future__ import annotations

from typing import Self

from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.color import Color
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.selection import Selection
from textual.strip import Strip

from tuirunner.output import OutputBuffer
from tuirunner.tui.widgets.direct_rows import DirectRows, written_strip
from tuirunner.tui.widgets.output_arranged import Arranged
from tuirunner.tui.widgets.output_lines import cells, line_to_text, plain_line
from tuirunner.tui.widgets.output_marks import Marked
from tuirunner.tui.widgets.output_search import Searchable

ROWS_KEPT = 2048  # rendered rows remembered per view (a few screenfuls)


class PaintedRows(Arranged, Marked, Searchable, ScrollView):
    """The painting part of :class:`~tuirunner.tui.widgets.output_view.OutputView`."""

    buffer: OutputBuffer
    _painted: list[str] | None = None  # (a class default: Textual may refresh before __init__)
    _pass_selection: Selection | None = None  # the selection, as the current paint pass saw it
    _direct: DirectRows | None = None  # (a class default, as _painted)

    def _init_rows(self) -> None:
        self._cache: LRUCache[int, Strip] = LRUCache(512)  # a line's text, by absolute index
        # What a row last showed of a line: (how it was cut, the strip), by absolute index; a
        # plain dict (faster than an LRU cache on the repaint path), emptied when it grows.
        self._rows: dict[int, tuple[tuple, Strip]] = {}
        # A line as cut and filtered for a row, before the row's offsets: (how it was cut, strip).
        self._cut_lines: dict[int, tuple[tuple, Strip]] = {}
        self._blank: tuple[tuple, Strip] | None = None  # a row below the output, for a cut
        self._width = 0
        self._width_pending = False
        self._base: tuple[Style, Color] | None = None  # the view's style and background
        self._flooding = False
        # What each row showed when sync last repainted (terminal sequences), or None: unknown
        # (any other refresh, a new size, new styles).
        self._painted = None
        self._direct = DirectRows(self)
        self._pass_cut: tuple = ()

    def _repaint_changed_rows(self) -> None:
        """Repaint the rows whose look changed, and only those: a pane that scrolls by a line
        moves every row, but a row that shows what it showed before (a blank row, a repeated
        line, a pane still filling up) need not be sent to the terminal again. In a flood every
        row changes: no comparing then."""
        width, height = self.scrollable_content_region.size
        painted = self._painted
        self._painted = None
        if not width or not height or self._flooding:
            if self._flooding and self.follow:  # each frame, new lines: kept, the rows only
                self._forget_lines()  # grew the window (~15 MB in a 10M-line flood)
            self.refresh()
            return
        if self._paint_direct(width, height):
            return
        rows = self._row_renderer(width, compare=True)
        console = self.app.console
        now = [rows(y).render(console) for y in range(height)]
        repaint = super().refresh  # not ours: that would forget what the rows show
        if painted is None or len(painted) != height:
            repaint()
        else:
            y = 0
            while y < height:
                if now[y] == painted[y]:
                    y += 1
                    continue
                top = y
                while y < height and now[y] != painted[y]:
                    y += 1
                repaint(Region(0, top, width, y - top))
        self._painted = now

    def _paint_direct(self, width: int, height: int) -> bool:
        """Paint the rows straight to the terminal, if it may be (direct_rows.py)."""
        direct = self._direct
        if self._rowmap is not None or not self._plain_box():
            direct.forget()
            return False
        region = direct.region_now()
        if region is None or region.height != height or region.width != width:
            direct.forget()
            return False
        rows = self._row_renderer(width, direct=True)  # (no offsets: written, not composed)
        if self._pass_selection is not None:
            direct.forget()
            return False
        # A row's key: its line (complete lines never change), -1 below the output, None for
        # a line still being written (always painted).
        buffer = self.buffer
        first, total = buffer.first_index + self.scroll_offset.y, buffer.total
        partial = buffer.partial
        keys: list[int | None] = [
            first + y if first + y < total else (None if first + y == total and partial else -1)
            for y in range(height)
        ]
        # The terminal moves the rows of a view as wide as itself (scrolling regions are rows).
        direct.paint(region, self._pass_cut, keys, rows, scroll=width == self.screen.size.width)
        return True

    def _plain_box(self) -> bool:
        st = self.styles
        return not (st.padding or st.border or st.opacity < 1 or st.text_opacity < 1)

    def refresh(self, *regions: Region, **kwargs) -> Self:
        self._painted = None  # repainted for another reason: rows are compared again later
        if self._direct is not None and (regions or kwargs.get("repaint", True)):
            self._direct.forget()  # (Textual paints what the view shows now)
        return super().refresh(*regions, **kwargs)

    def _forget_painted(self) -> None:
        """What the rows show on the terminal is unknown (hidden, moved): painted in full next."""
        self._painted = None
        if self._direct is not None:
            self._direct.forget()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base = None
        self._invalidate()

    def _forget_lines(self) -> None:
        """Drop the rendered lines kept."""
        self._cache.clear()
        self._rows.clear()
        self._cut_lines.clear()

    def _invalidate(self) -> None:
        """Lines must be rendered again (new styles, search, selection)."""
        self._forget_lines()
        self._blank = None
        self._forget_painted()

    def render_lines(self, crop: Region) -> list[Strip]:
        """Every row of *crop*, as the very strip objects of the last repaint where the line is
        the same (a line keeps its strip when the view scrolls). Textual's styles cache makes a
        new strip for every row it renders; with ours, its filter and compositor caches (kept
        per strip) hit, and a pane that scrolls by one line costs little more than that line.
        The view has no border, padding or opacity of its own to apply."""
        if not self._plain_box():
            return super().render_lines(crop)
        width = self.size.width
        rows = self._row_renderer(width)
        strips = [rows(y) for y in crop.line_range]
        x1, x2 = crop.column_span
        if (x1, x2) != (0, width):
            strips = [strip.crop(x1, x2) for strip in strips]
        return strips

    def render_line(self, y: int) -> Strip:
        """The Line API's row *y* (before the app's line filters)."""
        return self._row_renderer(self.size.width, filtered=False)(y)

    def _row_renderer(self, width: int, filtered=True, direct=False, compare=False):
        """A function of y giving the row's strip (what it needs is looked up once); *direct*:
        for direct_rows.py, which writes them (Textual asks the view again for what is under
        the mouse); *compare*: only to compare how rows look (no offsets, none kept)."""
        # The selection, asked by every line painted (a walk up to the screen each): once a pass.
        # A pane being removed (its process left the run) may be painted once more, detached.
        self._pass_selection = self.text_selection if self.is_attached else None
        if self._rowmap is not None:  # filtered or wrapped (output_arranged.py)
            return self._mapped_row_renderer(width, filtered)
        scroll_x, scroll_y = self.scroll_offset
        buffer = self.buffer
        first, total = buffer.first_index, buffer.total
        filters = self.get_line_filters() if filtered else ()
        base = self._base
        if base is None:  # computing these is costly; they only change with the styles
            base = self._base = (self.rich_style, self.background_colors[1])
        rich_style, background = base
        # Following a flood, every row is a new line at every frame and nobody can select
        # any: the rows go without the offsets a selection needs (Textual's apply_offsets
        # restyles every segment, a new strip each: ~10 % of a flooded window's CPU).
        offsets = not (direct or compare or (self._flooding and self.follow))
        base_cut = (scroll_x, width, background, rich_style, *filters)  # a line's look
        cut = (offsets, *base_cut)  # a row's
        self._pass_cut = base_cut
        shown = self._rows if filtered and not compare else {}
        bases = self._cut_lines
        console = self.app.console

        def blank() -> Strip:
            if self._blank is None or self._blank[0] != cut:
                strip = Strip.blank(width, rich_style)
                for line_filter in filters:
                    strip = strip.apply_filter(line_filter, background)
                self._blank = (cut, strip)
            return self._blank[1]

        def render_row(y: int) -> Strip:
            row = scroll_y + y
            index = first + row
            at = (row if offsets else None, cut)  # a strip without offsets fits any row
            complete = index < total  # a complete line does not change
            if complete:
                seen = shown.get(index)
                if seen is not None and seen[0] == at:
                    return seen[1]
                cropped = bases.get(index) if filtered else None
                if cropped is not None and cropped[0] == base_cut:  # the line on another row
                    strip = cropped[1]
                    if offsets:
                        strip = strip.apply_offsets(scroll_x, row)  # (keeps the rendering)
                    shown[index] = (at, strip)
                    return strip
            elif index > total or (index == total and not buffer.partial):
                return blank()  # below the output: the same strip for every such row
            if direct and complete and not scroll_x:
                # Written once, not composed: one strip, not one per step (cut, filtered).
                text = self._line_text(index, row, rich_style)
                if text is not None and text.cell_len <= width:
                    strip = written_strip(text, width, rich_style, filters, background, console)
                    if len(shown) > ROWS_KEPT:
                        shown.clear()
                    shown[index] = (at, strip)
                    return strip
            strip = self._row_strip(row, rich_style)
            if strip is None:
                strip = Strip.blank(width, rich_style)
                for line_filter in filters:
                    strip = strip.apply_filter(line_filter, background)
            else:
                # Cut and filtered once per line (what the row adds is the selection's offsets).
                strip = strip.crop_extend(scroll_x, scroll_x + width, rich_style)
                for line_filter in filters:
                    strip = strip.apply_filter(line_filter, background)
                if complete and filtered:
                    strip.render(console)  # rendered once: the rows made from it share it
                    if len(bases) > ROWS_KEPT:
                        bases.clear()
                    bases[index] = (base_cut, strip)
                if offsets:
                    strip = strip.apply_offsets(scroll_x, row)
            if complete:
                if len(shown) > ROWS_KEPT:
                    shown.clear()
                shown[index] = (at, strip)
            return strip

        return render_row

    def _row_strip(self, row: int, rich_style: Style) -> Strip | None:
        return self._line_strip(self.buffer.first_index + row, row, rich_style)

    def _line_strip(self, index: int, ordinal: int, rich_style: Style) -> Strip | None:
        """Line *index*, the *ordinal*-th of those shown (its place for the selection)."""
        buf = self.buffer
        partial = index == buf.total
        if not partial:
            cached = self._cache.get(index)
            if cached is not None:
                return cached
        text = self._line_text(index, ordinal, rich_style)
        if text is None:
            return None
        strip = Strip(text.render(self.app.console), cells(text.plain))
        if not partial:
            self._cache[index] = strip
        if strip.cell_length > self._width and not self._wraps(index):
            self._width = strip.cell_length
            if not self._width_pending:
                self._width_pending = True
                self.call_after_refresh(self._grow_width)
        return strip

    def _line_text(self, index: int, ordinal: int, rich_style: Style) -> Text | None:
        """Line *index* styled as shown: its colours, marks and highlights."""
        raw = self.buffer.line(index)
        if raw is None:
            return None
        # A line model that knows its prefixes (line_models.py) styles them without decoding.
        styled = getattr(self.buffer, "styled", None)
        text = styled(raw) if styled is not None else line_to_text(raw)
        text.stylize_before(rich_style)  # the widget's colours, under the child's own
        self._decorate(text, index)
        self._highlight(text, index, ordinal)
        return text

    def _grow_width(self) -> None:
        self._width_pending = False
        if self._width > self.virtual_size.width:
            self.virtual_size = Size(self._width, self.virtual_size.height)

    def _highlight(self, text: Text, index: int, row: int) -> None:
        self._highlight_matches(text, index)
        selection = self._pass_selection
        if selection is not None:
            span = selection.get_span(row)
            if span is not None:
                start, end = span
                if end == -1:
                    end = len(text)
                text.stylize(self.screen.get_component_rich_style("screen--selection"), start, end)

    # --- selection and copy ------------------------------------------------------------------

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        if self._rowmap is not None:
            return self._mapped_selection(selection)
        text = "\n".join(plain_line(line) for line in self.buffer.snapshot())
        return selection.extract(text), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self._invalidate()
        self.refresh()

    def visible_text(self) -> str:
        if self._rowmap is not None:
            return self._mapped_visible_text()
        lines = self.buffer.snapshot()
        start = round(self.scroll_y)
        return "\n".join(plain_line(x) for x in lines[start : start + self.size.height])
