"""The output view: a Line-API scrolling widget over a process's bounded output buffer.

Only visible lines are rendered. A line is turned from ANSI into styled text when it is first
shown, and the result is cached by its absolute line number (lines never change once complete).
Child output is never parsed as markup: ``[bold]`` in a log line is shown as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Self

from rich.ansi import AnsiDecoder
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.selection import Selection
from textual.strip import Strip

from tuirunner.client import ProcessView
from tuirunner.output import ANSI_ESCAPE, OutputBuffer, collapse_cr, strip_ansi
from tuirunner.tui.keys import key_to_bytes

# C0 controls other than TAB and ESC, DEL, and C1 controls: never send them to the terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1a\x1c-\x1f\x7f-\x9f]")
_SGR = re.compile(r"\x1b\[[0-9;:]*m")
# While a screenful or more arrives per frame, nobody can read it: repaint less often and leave
# the time to the work that matters (reading, and the other panes).
FLOOD_INTERVAL = 0.2
ROWS_KEPT = 2048  # rendered rows remembered per view (a few screenfuls)


def _keep_sgr(match: re.Match[str]) -> str:
    return match.group() if _SGR.fullmatch(match.group()) else ""


def line_to_text(raw: str) -> Text:
    """A buffer line as styled text: ANSI colours decoded, controls removed, tabs expanded.

    Only colour (SGR) sequences survive: a child must not be able to reset, retitle or move
    the cursor of the user's terminal through the app.
    """
    if "\r" in raw:
        raw = collapse_cr(raw)
    if "\x1b" in raw:
        raw = ANSI_ESCAPE.sub(_keep_sgr, raw)
    if _CONTROL.search(raw):
        raw = _CONTROL.sub("", raw)
    text = AnsiDecoder().decode_line(raw) if "\x1b" in raw else Text(raw)
    if "\t" in raw:
        text.expand_tabs()
    return text


def plain_line(raw: str) -> str:
    """What a line shows, as plain text (for search and copy)."""
    if "\r" in raw:
        raw = collapse_cr(raw)
    raw = strip_ansi(raw)
    if _CONTROL.search(raw):
        raw = _CONTROL.sub("", raw)
    return raw.expandtabs() if "\t" in raw else raw


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


class OutputView(ScrollView, can_focus=True):
    """Scrollable, searchable, selectable view of one process's output."""

    COMPONENT_CLASSES = {"output-view--match", "output-view--current-match"}
    DEFAULT_CSS = """
    OutputView > .output-view--match {
        background: $warning-muted;
        color: $text;
    }
    OutputView > .output-view--current-match {
        background: $warning;
        color: $background;
        text-style: bold;
    }
    """
    ALLOW_SELECT = True
    ALLOW_MAXIMIZE = False
    _painted: list[str] | None = None  # (a class default: Textual may refresh before __init__)
    BINDINGS = [
        Binding("end", "follow", "Follow", show=False),
        Binding("home", "scroll_home", "Top", show=False),
        Binding("left", "app.focus_pane(-1)", "Previous pane", show=False),
        Binding("right", "app.focus_pane(1)", "Next pane", show=False),
        Binding("shift+left", "scroll_left", "Scroll left", show=False),
        Binding("shift+right", "scroll_right", "Scroll right", show=False),
        Binding("n", "next_match", "Next match", show=False),
        Binding("N", "previous_match", "Previous match", show=False),
    ]

    class FollowChanged(Message):
        """It started or stopped following the output, or, while it does not, it scrolled or
        lines arrived."""

        def __init__(self, view: OutputView) -> None:
            super().__init__()
            self.view = view

    class InputClicked(Message):
        """The view was clicked while the app is in input mode."""

        def __init__(self, view: OutputView) -> None:
            super().__init__()
            self.view = view

    class LeaveInput(Message):
        """Esc in input mode: the user wants the keys back."""

        def __init__(self, view: OutputView) -> None:
            super().__init__()
            self.view = view

    class Typed(Message):
        """Input mode: *data* is for the process's terminal."""

        def __init__(self, view: OutputView, data: bytes) -> None:
            super().__init__()
            self.view = view
            self.data = data

    class Resized(Message):
        """The view's size changed: the process's terminal should have it too."""

        def __init__(self, view: OutputView, columns: int, rows: int) -> None:
            super().__init__()
            self.view = view
            self.columns = columns
            self.rows = rows

    def __init__(self, process: ProcessView, **kwargs) -> None:
        super().__init__(**kwargs)
        self.process = process
        self.buffer: OutputBuffer = process.buffer
        self.follow = True
        self.unseen = 0  # complete lines that arrived while not following
        self.input_mode = False
        self.search: Search | None = None
        self._cache: LRUCache[int, Strip] = LRUCache(512)  # a line's text, by absolute index
        # What a row last showed of a line: (how it was cut, the strip), by absolute index; a
        # plain dict (faster than an LRU cache on the repaint path), emptied when it grows.
        self._rows: dict[int, tuple[tuple, Strip]] = {}
        self._blank: tuple[tuple, Strip] | None = None  # a row below the output, for a cut
        self._first = self.buffer.first_index
        self._total = self.buffer.total
        self._width = 0
        self._syncing = False
        self._width_pending = False
        self._base_style: Style | None = None
        self._last_sync = 0.0
        self._flooding = False
        # What each row showed when sync last repainted (terminal sequences), or None: unknown
        # (any other refresh, a new size, new styles).
        self._painted: list[str] | None = None

    # --- feeding ----------------------------------------------------------------------------

    def due(self, now: float) -> bool:
        """Whether to repaint now: always, except at most every FLOOD_INTERVAL in a flood."""
        return not self._flooding or now - self._last_sync >= FLOOD_INTERVAL

    def sync(self, now: float = 0.0) -> None:
        """Catch up with the buffer: called at most once per frame, only when it changed."""
        buf = self.buffer
        dropped = buf.first_index - self._first
        added = buf.total - self._total
        self._flooding = added > max(self.size.height, 1)
        self._last_sync = now
        self._first, self._total = buf.first_index, buf.total
        self._syncing = True
        try:
            if not self.follow:
                if dropped > 0:
                    # Keep the same lines in view while old ones fall off the top.
                    self.scroll_to(
                        y=max(0, self.scroll_y - dropped), animate=False, immediate=True, force=True
                    )
                if added > 0:
                    self.unseen += added
                    self.post_message(self.FollowChanged(self))
            self._set_virtual_size(Size(self._width, len(buf)))
            if self.follow:
                self._pin_to_end()
        finally:
            self._syncing = False
        self._repaint_changed_rows()

    def _repaint_changed_rows(self) -> None:
        """Repaint the rows whose look changed, and only those: a pane that scrolls by a line
        moves every row, but a row that shows what it showed before (a blank row, a repeated
        line, a pane still filling up) need not be sent to the terminal again. In a flood every
        row changes: no comparing then."""
        width, height = self.scrollable_content_region.size
        painted = self._painted
        self._painted = None
        if not width or not height or self._flooding:
            self.refresh()
            return
        rows = self._row_renderer(width)
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

    def refresh(self, *regions: Region, **kwargs) -> Self:
        self._painted = None  # repainted for another reason: rows are compared again later
        return super().refresh(*regions, **kwargs)

    def on_hide(self) -> None:
        self._painted = None

    def _pin_to_end(self) -> None:
        """Show the last lines. Not through scroll_end: a scroll makes Textual reflow every
        visible widget of the screen, for a view whose size and place have not changed."""
        end = self.max_scroll_y
        if self.scroll_y != end or self.scroll_target_y != end:
            self.set_reactive(OutputView.scroll_y, end)
            self.set_reactive(OutputView.scroll_target_y, end)

    def _repin(self) -> None:
        if self.follow:
            self._pin_to_end()
            self.refresh()

    def _set_virtual_size(self, size: Size) -> None:
        """A new line changes the virtual size: let that cost a relayout of the whole screen
        only when it makes a scrollbar appear or go (an idle pane printing one line a second
        must not repaint everything)."""
        if size == self.virtual_size:
            return
        # The only scrollbar is the horizontal one (see app.tcss).
        if (size.width > self.size.width) == self.show_horizontal_scrollbar:
            wider = size.width != self.virtual_size.width
            self.set_reactive(OutputView.virtual_size, size)
            if wider and self.show_horizontal_scrollbar:
                self._scroll_update(size)
        else:
            self.virtual_size = size
            if self.follow:  # the scrollbar takes a row once laid out: pin to the end again
                self.call_after_refresh(self._repin)

    @property
    def allow_vertical_scroll(self) -> bool:
        """Scrollable with the wheel and keys, though it shows no vertical scrollbar."""
        return self.virtual_size.height > self.size.height

    def _set_follow(self, follow: bool) -> None:
        if follow == self.follow and (not follow or not self.unseen):
            return
        self.follow = follow
        if follow:
            self.unseen = 0
        self.post_message(self.FollowChanged(self))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if not self._syncing:
            follow = round(new_value) >= self.max_scroll_y
            if not follow and not self.follow and round(new_value) != round(old_value):
                self.post_message(self.FollowChanged(self))  # where it is has changed
            self._set_follow(follow)

    def position(self) -> tuple[int, int, int]:
        """The lines shown, as (first, last, of how many), counted from 1."""
        count = len(self.buffer)
        first = min(round(self.scroll_y) + 1, count)
        return first, min(first + self.size.height - 1, count), count

    def action_follow(self) -> None:
        self._set_follow(True)
        self._syncing = True
        try:
            self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
        finally:
            self._syncing = False

    # --- rendering ---------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base_style = None
        self._invalidate()

    def _invalidate(self) -> None:
        """Lines must be rendered again (new styles, search, selection)."""
        self._cache.clear()
        self._rows.clear()
        self._blank = None
        self._painted = None

    def render_lines(self, crop: Region) -> list[Strip]:
        """Every row of *crop*, as the very strip objects of the last repaint where the line is
        the same (a line keeps its strip when the view scrolls). Textual's styles cache makes a
        new strip for every row it renders; with ours, its filter and compositor caches (kept
        per strip) hit, and a pane that scrolls by one line costs little more than that line.
        The view has no border, padding or opacity of its own to apply."""
        styles = self.styles
        if styles.padding or styles.border or styles.opacity < 1 or styles.text_opacity < 1:
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

    def _row_renderer(self, width: int, filtered: bool = True):
        """A function of y giving the row's strip (what it needs is looked up once)."""
        scroll_x, scroll_y = self.scroll_offset
        buffer = self.buffer
        first, total = buffer.first_index, buffer.total
        filters = self.get_line_filters() if filtered else ()
        _, background = self.background_colors
        rich_style = self._base_style
        if rich_style is None:  # computing it is costly; it only changes with the styles
            rich_style = self._base_style = self.rich_style
        cut = (scroll_x, width, background, rich_style, *filters)
        shown = self._rows if filtered else {}

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
            complete = index < total  # a complete line does not change
            if complete:
                seen = shown.get(index)
                if seen is not None and seen[0] == (row, cut):
                    return seen[1]
            elif index > total or (index == total and not buffer.partial):
                return blank()  # below the output: the same strip for every such row
            strip = self._row_strip(row, rich_style)
            if strip is None:
                strip = Strip.blank(width, rich_style)
            else:
                strip = strip.crop_extend(scroll_x, scroll_x + width, rich_style)
                strip = strip.apply_offsets(scroll_x, row)
            for line_filter in filters:
                strip = strip.apply_filter(line_filter, background)
            if complete:
                if len(shown) > ROWS_KEPT:
                    shown.clear()
                shown[index] = ((row, cut), strip)
            return strip

        return render_row

    def _row_strip(self, row: int, rich_style: Style) -> Strip | None:
        buf = self.buffer
        index = buf.first_index + row
        partial = index == buf.total
        if not partial:
            cached = self._cache.get(index)
            if cached is not None:
                return cached
        raw = buf.line(index)
        if raw is None:
            return None
        text = line_to_text(raw)
        text.stylize_before(rich_style)  # the widget's colours, under the child's own
        self._highlight(text, index, row)
        strip = Strip(text.render(self.app.console), text.cell_len)
        if not partial:
            self._cache[index] = strip
        if strip.cell_length > self._width:
            self._width = strip.cell_length
            if not self._width_pending:
                self._width_pending = True
                self.call_after_refresh(self._grow_width)
        return strip

    def _grow_width(self) -> None:
        self._width_pending = False
        if self._width > self.virtual_size.width:
            self.virtual_size = Size(self._width, self.virtual_size.height)

    def _highlight(self, text: Text, index: int, row: int) -> None:
        search = self.search
        if search is not None and search.query:
            plain = text.plain.lower()
            query = search.query.lower()
            current = search.current_match
            match = self.get_component_rich_style("output-view--match", partial=True)
            current_match = self.get_component_rich_style(
                "output-view--current-match", partial=True
            )
            start = plain.find(query)
            while start != -1:
                style = current_match if current == (index, start) else match
                text.stylize(style, start, start + len(query))
                start = plain.find(query, start + len(query))
        selection = self.text_selection
        if selection is not None:
            span = selection.get_span(row)
            if span is not None:
                start, end = span
                if end == -1:
                    end = len(text)
                text.stylize(self.screen.get_component_rich_style("screen--selection"), start, end)

    # --- selection and copy ------------------------------------------------------------------

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        text = "\n".join(plain_line(line) for line in self.buffer.snapshot())
        return selection.extract(text), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self._invalidate()
        self.refresh()

    def visible_text(self) -> str:
        lines = self.buffer.snapshot()
        start = round(self.scroll_y)
        return "\n".join(plain_line(x) for x in lines[start : start + self.size.height])

    # --- search ------------------------------------------------------------------------------

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
            row = match[0] - self.buffer.first_index
            height = max(1, self.size.height)
            self._set_follow(False)
            x = max(0, match[1] - self.size.width // 2) if match[1] >= self.size.width else 0
            self.scroll_to(
                x=x, y=max(0, row - height // 2), animate=False, immediate=True, force=True
            )
        self.refresh()

    # --- input mode and sizing ---------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        if not self.input_mode:
            return
        event.stop()
        event.prevent_default()
        if event.key == "escape":
            self.post_message(self.LeaveInput(self))
            return
        data = key_to_bytes(event)
        if data:
            self.post_message(self.Typed(self, data))
            if not self.follow:
                self.action_follow()

    def on_paste(self, event: events.Paste) -> None:
        if self.input_mode:
            event.stop()
            self.post_message(self.Typed(self, event.text.encode()))

    def on_click(self, event: events.Click) -> None:
        if getattr(self.app, "input_target", None) is not None and not self.input_mode:
            self.post_message(self.InputClicked(self))

    def on_resize(self, event: events.Resize) -> None:
        width, height = self.size
        if width >= 10 and height >= 2:  # a hidden pane keeps the size it last had
            self.post_message(self.Resized(self, width, height))
        if self.follow:
            self.call_after_refresh(self.action_follow)
