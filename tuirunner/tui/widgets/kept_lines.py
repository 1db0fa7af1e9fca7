"""A one-line widget that hands the compositor the same strips until it is refreshed.

Textual renders every widget in the bounding box of an update, even those whose rows the update
does not touch: a line of output in each pane re-renders every pane header, the bars under the
outputs (``following``) and the key bar (a styles-cache pass each, ~60 µs), a quarter of an
idle frame, for rows it then throws away.
A widget with this mixin keeps its last strips as long as Textual keeps its own cached lines
(until ``_set_dirty``: every refresh, reactive, hover, selection, a new size), and until new
styles (focus, theme) or another crop or line filter. It overrides a private method of Textual
8 (hence the ``textual<9`` bound).
"""

from __future__ import annotations

from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from tuirunner.tui.widgets.laid_out import LaidOutOnce


class KeptLines(LaidOutOnce, Widget):
    _kept: tuple[tuple, list[Strip]] | None = None

    def render_lines(self, crop: Region) -> list[Strip]:
        key = (crop, self.size, tuple(self.get_line_filters()))
        kept = self._kept
        if kept is not None and kept[0] == key:
            return kept[1]
        strips = super().render_lines(crop)
        self._kept = (key, strips)
        return strips

    def _set_dirty(self, *regions: Region) -> None:
        """Where Textual forgets its own cached lines (every refresh, a new size, reset styles):
        these go too."""
        self._kept = None
        super()._set_dirty(*regions)

    def notify_style_update(self) -> None:
        self._kept = None
        super().notify_style_update()


class Bar(KeptLines, Static):
    """A one-line Static under (or over) the output (``following``, a hint, a filter's count):
    in the bounding box of every frame that repaints output, and kept as the headers are."""
