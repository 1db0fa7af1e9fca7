"""A pane's "logged an error" time and its attention mark, and its filters (a part of
:class:`~tuirunner.tui.widgets.process_pane.ProcessPane`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuirunner.tui.widgets.filter_bar import FilterTools

if TYPE_CHECKING:
    from tuirunner.client import ProcessView
    from tuirunner.tui.widgets.process_header import ProcessHeader


class PaneTools(FilterTools):
    """Filters, the error time and the attention mark of a pane."""

    process: ProcessView
    header: ProcessHeader
    error_at: str | None = None  # when it logged a traceback since its (re)start: "14:02:11"
    attention: str = ""  # "", "output" (new lines) or "alert" (crash, traceback, prompt)

    # --- what the header adds ------------------------------------------------------------------

    def tool_items(self, items: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The header's details, with the time of the last error first."""
        if self.error_at is not None and self.process.state.alive:  # (else: "crashed")
            items.insert(0, (f"✖ error {self.error_at}", "error"))
        return items

    def set_attention(self, level: str) -> None:
        """Mark the pane's header: "" none, "output", "alert"."""
        if level != self.attention:
            self.attention = level
            self.header.attention = level
