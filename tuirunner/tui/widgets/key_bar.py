"""The keys that mean something now, on one line at the bottom of a screen.

It does what Textual's Footer does for this app, rendered as one line of text: the Footer makes
a widget per key and rebuilds them all whenever focus moves or a binding changes, which costs
more than anything else at start-up and on every focus change (a number key, input mode).
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.screen import Screen

from tuirunner.tui.widgets.kept_lines import KeptLines

PALETTE = "palette"
# The keys a user must find first: when the line is too short for every key, the others go
# (from the end) and these stay.
ESSENTIAL = frozenset({"detach", "quit", "leave_input_mode"})


class KeyBar(KeptLines):
    """``r Restart  s Stop/Start … q Quit`` and, on the right, ``^p palette``; click a key to
    press it."""

    COMPONENT_CLASSES = {"key-bar--key", "key-bar--description"}
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        background: $footer-background;
        color: $footer-foreground;
    }
    KeyBar > .key-bar--key {
        color: $footer-key-foreground;
        background: $footer-key-background;
        text-style: bold;
    }
    KeyBar > .key-bar--description {
        color: $footer-description-foreground;
        background: $footer-description-background;
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self._spans: list[tuple[int, int, str]] = []  # (start, end, key) of what was drawn
        self._drawn: tuple | None = None  # the keys the line was drawn for

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen) -> None:
        # Focus moving between panes (5, 3, …) changes no key: drawing the same line again
        # was a sixth of a number key's time in list mode.
        if tuple(self._keys()) != self._drawn:
            self.refresh()

    def keys(self) -> list[tuple[str, str, str]]:
        """(key, shown as, description) of each binding to show, in order, once per action."""
        return [(key, display, description) for key, display, description, _ in self._keys()]

    def _keys(self) -> list[tuple[str, str, str, bool]]:
        shown: list[tuple[str, str, str, bool]] = []
        actions: set[str] = set()
        for key, active in self.screen.active_bindings.items():
            binding = active.binding
            if not binding.show or not active.enabled or binding.action in actions:
                continue
            actions.add(binding.action)
            essential = binding.id in ESSENTIAL or binding.action in ESSENTIAL
            shown.append((key, self.app.get_key_display(binding), binding.description, essential))
        return shown

    def fitting_keys(self, width: int, keys: list) -> list[tuple[str, str, str]]:
        """Of *keys* (:meth:`_keys`), those shown in *width* cells: all when they fit, else the
        others are left out from the end until they do, and the essential ones (Detach, Quit)
        always stay."""
        keys = list(keys)

        def needed() -> int:
            return sum(len(display) + len(description) + 3 for _, display, description, _ in keys)

        while needed() > width:
            droppable = [n for n, entry in enumerate(keys) if not entry[3]]
            if not droppable:
                break
            del keys[droppable[-1]]
        return [(key, display, description) for key, display, description, _ in keys]

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-bar--key")
        description_style = self.get_component_rich_style("key-bar--description")
        text = Text(no_wrap=True, overflow="ellipsis")
        self._spans = []
        keys = self._keys()
        self._drawn = tuple(keys)
        for key, display, description in self.fitting_keys(self.size.width, keys):
            start = text.cell_len
            text.append(f" {display} ", style=key_style)
            text.append(f"{description} ", style=description_style)
            self._spans.append((start, text.cell_len, key))
        if self.app.ENABLE_COMMAND_PALETTE:
            palette = self.app.get_key_display(Binding(self.app.COMMAND_PALETTE_BINDING, ""))
            right = Text.assemble((f" {palette} ", key_style), (f"{PALETTE} ", description_style))
            gap = self.size.width - text.cell_len - right.cell_len
            if gap > 0:
                text.append(" " * gap)
                start, key = text.cell_len, self.app.COMMAND_PALETTE_BINDING
                self._spans.append((start, start + right.cell_len, key))
                text.append_text(right)
        return text

    def on_click(self, event: events.Click) -> None:
        for start, end, key in self._spans:
            if start <= event.x < end:
                self.app.simulate_key(key)
                break
