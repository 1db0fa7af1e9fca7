"""The output view: a Line-API scrolling widget over a process's bounded output buffer.

It follows the output (or, scrolled up, counts what arrived), sends what is typed in input
mode, and tells the process its size. Painting its rows is output_rows.py's part, searching
output_search.py's; a line's look is output_lines.py's.
"""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message

from tuirunner.client import ProcessView
from tuirunner.output import OutputBuffer
from tuirunner.tui.keys import key_to_bytes
from tuirunner.tui.widgets.output_arranged import ARRANGED_CSS
from tuirunner.tui.widgets.output_lines import line_to_text, plain_line
from tuirunner.tui.widgets.output_rows import PaintedRows
from tuirunner.tui.widgets.output_search import Search

# While a screenful or more arrives per frame, nobody can read it: repaint less often and leave
# the time to the work that matters (reading, and the other panes).
FLOOD_INTERVAL = 0.2


class OutputView(PaintedRows, can_focus=True):
    """Scrollable, searchable, selectable view of one process's output."""

    COMPONENT_CLASSES = {"output-view--match", "output-view--current-match"} | (
        PaintedRows.ARRANGED_CLASSES
    )
    DEFAULT_CSS = (
        ARRANGED_CSS
        + """
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
    )
    ALLOW_SELECT = True
    ALLOW_MAXIMIZE = False
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
        self.input_mode = False  # keys go to this view's process
        self.app_in_input_mode = False  # keys go to a process (this one or another): set above
        self.search: Search | None = None
        self._init_rows()
        self._first = self.buffer.first_index
        self._total = self.buffer.total
        self._syncing = False
        self._last_sync = 0.0

    # --- feeding ----------------------------------------------------------------------------

    def due(self, now: float) -> bool:
        """Whether to repaint now: always, except at most every FLOOD_INTERVAL in a flood."""
        return not self._flooding or now - self._last_sync >= FLOOD_INTERVAL

    def sync(self, now: float = 0.0, *, paint: bool = True) -> None:
        """Catch up with the buffer: called at most once per frame, only when it changed.
        *paint* False: leave the painting to Textual's next frame (a new layout paints the
        whole screen: painting the rows now, where the view was, would be wasted)."""
        buf = self.buffer
        dropped = buf.first_index - self._first
        added = buf.total - self._total
        # (Not when catching up: what piled up while hidden is no flood.)
        self._flooding = paint and added > max(self.size.height, 1)
        self._last_sync = now
        self._first, self._total = buf.first_index, buf.total
        self._syncing = True
        try:
            dropped = self._update_rows(dropped)  # rows, when filtered or wrapped
            if not self.follow:
                if dropped > 0:
                    # Keep the same lines in view while old ones fall off the top.
                    self.scroll_to(
                        y=max(0, self.scroll_y - dropped), animate=False, immediate=True, force=True
                    )
                if added > 0:
                    self.unseen += added
                    self.post_message(self.FollowChanged(self))
            self._set_virtual_size(self._content_size())
            if self.follow:
                self._pin_to_end()
        finally:
            self._syncing = False
        if paint:
            self._repaint_changed_rows()
        else:
            self.refresh()

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
            self.virtual_size = size  # the layout shows or hides the scrollbar (see below)

    def watch_show_horizontal_scrollbar(self) -> None:
        """The scrollbar takes a row (or gives it back): a view that follows shows the last
        line above it. Textual decides this in its layout, after the line that made it."""
        if self.follow:
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
            # Reading from the end again: [ goes to the newest traceback, E opens the one shown.
            self.current_block = self.pointed_line = None
        self.post_message(self.FollowChanged(self))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if not self._syncing:
            self._direct.forget()  # Textual paints the rows scrolled to (direct_rows.py)
            follow = round(new_value) >= self.max_scroll_y
            if not follow and not self.follow and round(new_value) != round(old_value):
                self.post_message(self.FollowChanged(self))  # where it is has changed
            self._set_follow(follow)

    def position(self) -> tuple[int, int, int]:
        """The lines shown, as (first, last, of how many), counted from 1."""
        if self._rowmap is not None:
            return self._mapped_position()
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
        if self.app_in_input_mode and not self.input_mode:
            self.post_message(self.InputClicked(self))

    def on_hide(self) -> None:
        self._forget_painted()

    def on_resize(self, event: events.Resize) -> None:
        width, height = self.size
        self._arranged_resize()
        if width >= 10 and height >= 2:  # a hidden pane keeps the size it last had
            self.post_message(self.Resized(self, width, height))
        if self.follow:
            self.call_after_refresh(self.action_follow)


__all__ = ["FLOOD_INTERVAL", "OutputView", "Search", "line_to_text", "plain_line"]
