"""Painting a following output view's rows straight to the terminal: only the rows whose look
changed are written, and a view as wide as the terminal has its rows moved up by the terminal
itself.

Textual has no notion of a terminal's scrolling: a view whose every row now shows the line below
the one it showed is a view whose every row changed, and a frame composes and sends all of them
(a merged view of 47 rows by 200 columns, 5 lines a second: most of the window's idle CPU; five
tiled panes getting a line a second each: a frame of the whole screen every second). So:

- a view that spans the terminal's width: a scrolling region (DECSTBM) over the view's rows,
  scrolled up (SU) by the lines that came, and only the new rows written;
- a view beside others (a pane of the grid): a scrolling region moves whole terminal rows, so
  the rows are written where they are, and only those that now look different (a row is known by
  its line and by the text written there: a pane still filling up, a repeated line, the blank
  rows below the output are not written again). Writing a row is a cursor move and the row's
  text, which the view renders once per line; Textual's compositor would cut, compare and compose
  every row of the screen it updates.

In one write:

    [sync start] save cursor, (region + scroll up, whole screen again), each row written (moved
    to and written as Textual writes it), restore cursor [sync end]

It is only right where the terminal shows what the view last painted here. So:

- the view is in full screen, on the screen shown, wholly visible, with nothing drawn over its
  rows (a notification, a tooltip, a menu), while the app runs and has the terminal (not once it
  shuts down, nor while it is suspended for an editor or by ctrl+z: Textual's own frames stop
  then too);
- what each row shows is known by a key (its line: complete lines never change) and by how the
  rows were cut and styled, for the rows painted here. Whatever else changes what the view shows
  (a refresh, a scroll by the user, new styles, a search) forgets them, and a new cut, size or
  place is seen as one: the next paint here sends every row. A frame of Textual's that paints
  the view in between paints the same lines (the view's state changes only through here).

Everything else (a selection, a view under a notification, wrapped or filtered rows, a flood)
is painted by Textual, and so is every view with ``TUIRUNNER_TERMINAL_SCROLL=0`` in the
environment (for a terminal that mishandles scrolling regions or cursor moves; README, "Reading
the output").

Textual's private parts read here (the driver, whether the terminal synchronises updates, the
compositor's visible widgets) are Textual 8's (pyproject pins < 9).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.color import Color
from textual.filter import LineFilter
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

if TYPE_CHECKING:
    from textual.app import App

ENABLED = os.environ.get("TUIRUNNER_TERMINAL_SCROLL", "1").lower() not in {
    "0",
    "no",
    "false",
    "off",
}
SAVE_CURSOR, RESTORE_CURSOR = "\x1b7", "\x1b8"
SYNC_START, SYNC_END = "\x1b[?2026h", "\x1b[?2026l"


def shift_of(before: Sequence[Hashable | None], after: Sequence[Hashable | None]) -> int:
    """How many rows *after* is *before* moved up by: the smallest *k* > 0 with
    ``after[0] == before[k]``, 0 if none (or if *after*'s first row is unknown). Rows that do
    not then match are painted anyway: this only decides what the terminal moves."""
    first = after[0] if after else None
    if first is None or len(before) != len(after):
        return 0
    for k in range(1, len(before)):
        if before[k] == first:
            return k
    return 0


def scroll_sequence(region: Region, lines: int) -> str:
    """Move *region*'s rows (whole terminal rows) up by *lines*; the rows below come blank."""
    top, bottom = region.y + 1, region.y + region.height  # 1-based, inclusive
    return f"\x1b[{top};{bottom}r\x1b[{lines}S\x1b[r"


def written_strip(
    text: Text,
    width: int,
    pad: Style,
    filters: Sequence[LineFilter],
    background: Color,
    console: Console,
) -> Strip:
    """A row to write here: *text* (no wider than *width*) padded with *pad* and filtered, as one
    strip (Textual's steps make a strip each: cut, extended, filtered)."""
    segments = Segment.adjust_line_length(list(text.render(console)), width, pad)
    for line_filter in filters:
        segments = line_filter.apply(segments, background)
    return Strip(segments, width)


def move_to(x: int, y: int) -> str:
    return f"\x1b[{y + 1};{x + 1}H"


# The paints of views waiting to be written, by id of their app, while a batch is open.
_pending: dict[int, list[str]] = {}


@contextlib.contextmanager
def painted_together(app: App) -> Iterator[None]:
    """The views painted here in the block go to the terminal in one write at its end: one
    frame, and one wake-up of Textual's writer thread (which each write has wait for the GIL),
    not one per pane."""
    if id(app) in _pending:  # (nested: the outer batch writes)
        yield
        return
    _pending[id(app)] = []
    try:
        yield
    finally:
        sequences = _pending.pop(id(app), [])
        if sequences:
            _write(app, sequences)


def _write(app: App, sequences: list[str]) -> None:
    driver = app._driver
    if driver is None:
        return
    sequence = "".join(sequences)
    if app._sync_available:
        sequence = SYNC_START + sequence + SYNC_END
    driver.write(sequence)
    driver.flush()


class DirectRows:
    """One view's rows as last painted here (see the module docstring)."""

    def __init__(self, view: Widget) -> None:
        self.view = view
        self.keys: list[Hashable | None] = []  # what each row shows; [] when unknown
        self.region: Region | None = None  # where, on the terminal
        self.cut: tuple = ()  # how the rows were cut and styled
        self.texts: list[str] = []  # what was written on each row, where nothing scrolls
        self.suspended = False  # the terminal is another program's (an editor, ctrl+z)
        self._told = False  # subscribed to the app's suspend and resume signals
        # (the compositor's map of visible widgets, the view's rows, region_now's answer)
        self._seen: tuple[dict, Region, Region | None] | None = None

    def forget(self) -> None:
        self.keys = []
        self.region = None
        self.cut = ()
        self.texts = []

    def region_now(self) -> Region | None:
        """The view's rows on the terminal, if they may be painted here now."""
        view = self.view
        app = view.app
        driver = app._driver
        if not ENABLED or driver is None or app.is_headless or driver.is_inline:
            return None
        if not app._running or app._closing or app._closed:
            return None  # shutting down: the terminal may have left the app's screen already
        if not self._told and view.is_running:
            self._told = True
            app.app_suspend_signal.subscribe(view, self._suspend, immediate=True)
            app.app_resume_signal.subscribe(view, self._resume, immediate=True)
        if self.suspended:
            return None
        screen = view.screen
        if screen is not app.screen or not screen.is_active:
            return None
        rows = view.scrollable_content_region
        if not rows:
            return None
        visible = screen._compositor.visible_widgets
        seen = self._seen
        if seen is not None and seen[0] is visible and seen[1] == rows:
            return seen[2]  # the same layout (the compositor makes a new map for a new one)
        found = self._unhidden(view, visible, rows)
        self._seen = (visible, rows, found)
        return found

    @staticmethod
    def _unhidden(view: Widget, visible: dict, rows: Region) -> Region | None:
        """*rows*, if the compositor's map of what is *visible* shows them all, under nothing
        else (every widget is looked at: once per layout, not once per paint)."""
        place = visible.get(view)
        if place is None:
            return None
        region, clip = place
        if clip.intersection(rows) != rows:
            return None  # not all shown
        ancestors = set(view.ancestors_with_self)
        for widget, (region, clip) in visible.items():
            if widget not in ancestors and region.intersection(clip).overlaps(rows):
                return None  # drawn over the view's rows
        return rows

    def _suspend(self, _app: object) -> None:
        self.suspended = True
        self.forget()

    def _resume(self, _app: object) -> None:
        self.suspended = False  # (Textual repaints the whole screen)

    def paint(
        self,
        region: Region,
        cut: tuple,
        keys: Sequence[Hashable | None],
        strip: Callable[[int], Strip],
        *,
        scroll: bool = True,
    ) -> None:
        """Show rows with *keys* on *region* (*strip* gives row y). *scroll*: the region spans
        the terminal's width, and the terminal moves the rows it already shows; otherwise each
        row is written where it is, if it looks different."""
        app = self.view.app
        known = self.keys if self.region == region and self.cut == cut else []
        console = app.console
        out = [SAVE_CURSOR]
        x, top = region.x, region.y
        painted = 0
        shift = 0
        if scroll:
            shift = shift_of(known, keys) if known else 0
            after = known[shift:] + [None] * shift if known else [None] * len(keys)
            if shift:
                out.append(scroll_sequence(region, shift))
            for y, key in enumerate(keys):
                if key is None or after[y] != key:
                    out.append(move_to(x, top + y))
                    out.append(strip(y).render(console))
                    painted += 1
            self.texts = []
        else:
            texts = self.texts if known and len(self.texts) == len(keys) else []
            # A line shown before looks the same on another row (nothing here depends on the
            # row: a selection is painted by Textual): after a line came, every row shows the
            # line the row below showed, and only the new one is rendered.
            written = dict(zip(known, texts, strict=True)) if texts else {}
            written.pop(None, None)  # (a line still being written changes)
            now: list[str] = []
            for y, key in enumerate(keys):
                text = written.get(key) if key is not None else None
                if text is None:
                    text = strip(y).render(console)
                now.append(text)
                if texts and texts[y] == text:
                    continue  # another line, or the one being written, that looks the same
                out.append(move_to(x, top + y))
                out.append(text)
                painted += 1
            self.texts = now
        self.keys = list(keys)
        self.region = region
        self.cut = cut
        if not shift and not painted:
            return
        out.append(RESTORE_CURSOR)
        sequence = "".join(out)
        pending = _pending.get(id(app))
        if pending is not None:  # in a batch (see painted_together)
            pending.append(sequence)
        else:
            _write(app, [sequence])
