"""The merged view's output widget: an :class:`OutputView` over :class:`MergedLines`, so that it
follows, scrolls, searches, selects and copies as a pane does."""

from __future__ import annotations

from tuirunner.tracebacks import Lines
from tuirunner.tui.widgets.line_models import MergedLines
from tuirunner.tui.widgets.output_view import OutputView


class _Merged:
    """What an output view asks of its process: a name and a buffer (no terminal to size)."""

    name = "merged"
    type = "merged view"  # its wrap choice is remembered under this (no process type has a space)

    def __init__(self, model: MergedLines) -> None:
        self.buffer = model


class MergedView(OutputView):
    def __init__(self, model: MergedLines, **kwargs) -> None:
        super().__init__(_Merged(model), **kwargs)  # type: ignore[arg-type]
        self.model = model
        self._version = model.version

    def sync(self, now: float = 0.0, *, paint: bool = True) -> None:
        self.model.catch_up()
        if self.model.version != self._version:  # rows changed places: render them again
            self._version = self.model.version
            if self._rowmap is not None:
                self._new_rowmap()
            self._invalidate()
            self.refresh()
        super().sync(now, paint=paint)

    def _scanned_lines(self) -> Lines:
        return self.model.source_rows  # type: ignore[return-value]  # as printed: no prefix

    def reset(self) -> None:
        """The model was merged again from scratch (a process shown or hidden)."""
        model = self.model
        self.tracebacks = None  # its blocks were rows of the old merge
        self.current_block = None
        self._first, self._total = model.first_index, model.total
        self._version = model.version
        if self.search is not None:
            self.set_search(self.search.query)
        if self._rowmap is not None:  # filtered or wrapped: rows of the new merge
            self._new_rowmap()
            self.post_message(self.Arranged(self))  # how many lines the filter hides now
        self._invalidate()
        self._set_virtual_size(self._content_size())
        if self.follow:
            self._pin_to_end()  # now: one repaint, not one here and one at the end
        else:
            self.scroll_to(y=min(self.scroll_y, self.max_scroll_y), animate=False, immediate=True)
        self.refresh()
