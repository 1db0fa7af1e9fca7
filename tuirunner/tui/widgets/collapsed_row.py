"""One line above the tiled panes for the oneshots that completed (``release``): their panes
give their space back to the others, and come back when they run again or on focus (their
number key, or a click on their name here)."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget


class CollapsedRow(Widget):
    """``4 release.1 completed   5 collectstatic.1 completed``; click a name to show its pane."""

    DEFAULT_CSS = """
    CollapsedRow {
        height: 1;
        display: none;
        padding: 0 1;
        background: $panel;
        color: $foreground-muted;
    }
    """

    entries: reactive[tuple[tuple[int, str, str], ...]] = reactive(tuple)  # number, name, label

    class Picked(Message):
        """A name was clicked: show its pane."""

        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._spans: list[tuple[int, int, str]] = []

    def watch_entries(self, entries: tuple[tuple[int, str, str], ...]) -> None:
        self.display = bool(entries)

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        self._spans = []
        for number, name, label in self.entries:
            if text:
                text.append("   ")
            start = text.cell_len
            if number <= 9:
                text.append(f"{number} ")
            text.append(name, style="bold")
            text.append(f" {label}")
            self._spans.append((start, text.cell_len, name))
        return text

    def plain(self) -> str:
        return self.render().plain

    def on_click(self, event: events.Click) -> None:
        x = event.x - self.styles.padding.left
        for start, end, name in self._spans:
            if start <= x < end:
                self.post_message(self.Picked(name))
                break
