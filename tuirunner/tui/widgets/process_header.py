"""A pane's header, on one line: ``1 web.1 running  :5000  up 5m  pid 4242   Restart Stop Env``.

One widget, rendered as one line of text: the title (number, name, state badge, ``INPUT`` in
input mode), the details that fit, and on the right the buttons, which are clickable words.
It gives up its parts from the least useful as the pane narrows: first the buttons, then the
details from the end (the pid first, then the uptime, the resources or port, the restart count,
and only then the state words — ``ready``, ``waiting for …``, ``blocked: …``), and last of all
the name and state, which stay. Colours come from the theme (component classes, app.tcss).
"""

from __future__ import annotations

import re

from rich.style import Style
from rich.text import Text
from textual import events
from textual.message import Message
from textual.reactive import reactive

from tuirunner.tui.widgets.kept_lines import KeptLines

KINDS = ("pending", "starting", "running", "stopping", "restarting", "stopped", "exited", "crashed")
BUTTONS = ("restart", "toggle", "env")
BUTTON_GAP = 1  # between two buttons; each also has a space either side
DETAIL_GAP = 2  # between two details


class ProcessHeader(KeptLines):
    """The title, the details that fit and the buttons of a process's pane."""

    COMPONENT_CLASSES = {
        "process-header--number",
        "process-header--name",
        "process-header--input",
        "process-header--muted",
        "process-header--port",
        "process-header--button",
        "process-header--button-hover",
        "process-header--button-disabled",
        "process-header--error",
        "process-header--attention",
        "process-header--alert",
        *(f"process-header--{kind}" for kind in KINDS),
    }
    DEFAULT_CSS = """
    ProcessHeader {
        height: 1;
        padding: 0 1;
    }
    ProcessHeader > .process-header--error {
        color: $text-error;
        text-style: bold;
    }
    ProcessHeader > .process-header--attention {
        color: $text-accent;
    }
    ProcessHeader > .process-header--alert {
        color: $text-error;
        text-style: bold;
    }
    """

    number: reactive[int] = reactive(0)
    process_name: reactive[str] = reactive("")
    label: reactive[str] = reactive("")  # the state in words: "running", "crashed: exit 3"
    kind: reactive[str] = reactive("pending")  # its colour: one of KINDS
    input_mode: reactive[bool] = reactive(False)
    items: reactive[tuple[tuple[str, str], ...]] = reactive(tuple)  # (text, component class)
    toggle_label: reactive[str] = reactive("Stop")
    toggle_disabled: reactive[bool] = reactive(False)
    hover: reactive[str | None] = reactive(None)  # the button under the mouse
    attention: reactive[str] = reactive("")  # "", "output" or "alert": see pane_tools.py

    class Pressed(Message):
        """A button of the header was clicked: *action* is restart, toggle or env."""

        def __init__(self, action: str) -> None:
            super().__init__()
            self.action = action

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._buttons: list[tuple[int, int, str]] = []  # (start, end, action) as drawn
        self._styles_seen: dict[tuple[str, bool], Style] = {}  # until the styles change

    # --- what it shows ---------------------------------------------------------------------

    def show_quitting(self) -> None:
        """The run is being stopped: the theme's warning colour behind the header. Set on the
        header itself, not by a class: a class has Textual match every rule against each of
        the header's component classes (~13 ms a header on a 2-core machine)."""
        self.styles.background = self.app.theme_variables.get("warning-muted", "darkorange")
        self._styles_seen = {}  # the badges' full styles have the background in them

    def _style(self, name: str, partial: bool = True) -> Style:
        # Kept until Textual restyles the header: its own cache of these goes at every refresh,
        # and finding a component's style again took a header's render ~0.5 ms (a zoom renders
        # every header shown).
        style = self._styles_seen.get((name, partial))
        if style is None:
            style = self.get_component_rich_style(f"process-header--{name}", partial=partial)
            self._styles_seen[name, partial] = style
        return style

    def notify_style_update(self) -> None:
        self._styles_seen = {}
        super().notify_style_update()

    def title(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        if self.attention:  # something happened here that the user has not seen
            mark = "● " if self.attention == "output" else "▲ "
            text.append(
                mark,
                style=self._style(self.attention if self.attention == "alert" else "attention"),
            )
        if 0 < self.number <= 9:
            text.append(f"{self.number} ", style=self._style("number"))
        text.append(self.process_name, style=self._style("name"))
        text.append(" ")
        # Badges set their own background, and "color: auto" needs it: full styles.
        text.append(f" {self.label} ", style=self._style(self.kind, partial=False))
        if self.input_mode:
            text.append(" ")
            text.append(" INPUT ", style=self._style("input", partial=False))
        return text

    def button_words(self) -> list[tuple[str, str]]:
        return [("restart", "Restart"), ("toggle", self.toggle_label), ("env", "Env")]

    def buttons_width(self) -> int:
        words = self.button_words()
        return sum(len(word) + 2 for _, word in words) + BUTTON_GAP * (len(words) - 1)

    def details_width(self) -> int:
        """The width of every detail shown, with the gap before them."""
        return sum(len(part) + DETAIL_GAP for part, _ in self.items)

    def fits_buttons(self, width: int | None = None, title: Text | None = None) -> bool:
        """Whether the buttons fit beside everything else: they are the first to go."""
        width = self.content_size.width if width is None else width
        title = self.title() if title is None else title
        needed = title.cell_len + self.details_width() + DETAIL_GAP + self.buttons_width()
        return width >= needed

    def render(self) -> Text:
        width = self.content_size.width
        text = self.title()
        buttons = self.fits_buttons(width, text)
        room = width - (self.buttons_width() + DETAIL_GAP if buttons else 0)
        # The state words (a policy's "waiting for …", "not ready yet: …") come first, after
        # the error mark if there is one: cut them rather than leave them out.
        words = 1 if self.items and self.items[0][1] == "error" else 0
        for n, (part, component) in enumerate(self.items):
            if text.cell_len + DETAIL_GAP + len(part) > room:
                if n == words and room - text.cell_len - DETAIL_GAP > 8:
                    part = part[: room - text.cell_len - DETAIL_GAP - 1] + "…"
                else:
                    break
            text.append(" " * DETAIL_GAP)
            text.append(part, style=self._style(component) if component else "")
        self._buttons = []
        if buttons:
            text.append(" " * (width - text.cell_len - self.buttons_width()))
            for n, (action, word) in enumerate(self.button_words()):
                if n:
                    text.append(" " * BUTTON_GAP)
                if action == "toggle" and self.toggle_disabled:
                    style = self._style("button-disabled")
                elif action == self.hover:
                    style = self._style("button-hover", partial=False)
                else:
                    style = self._style("button")
                start = text.cell_len
                text.append(f" {word} ", style=style)
                self._buttons.append((start, text.cell_len, action))
        return text

    def plain(self) -> str:
        """What it says, as plain text (the parts that fit; a long gap made two spaces)."""
        return re.sub(" {3,}", "  ", self.render().plain.strip())

    # --- the buttons -------------------------------------------------------------------------

    def button_at(self, x: int) -> str | None:
        """The action of the button at column *x* of its content, if any."""
        for start, end, action in self._buttons:
            if start <= x < end:
                return action
        return None

    def button_offset(self, action: str) -> tuple[int, int]:
        """Where to click for *action*: an offset from the widget's top left corner."""
        for start, end, name in self._buttons:
            if name == action:
                return (self.styles.padding.left + (start + end) // 2, 0)
        raise LookupError(f"the {action} button is not shown")

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self.hover = self.button_at(event.x - self.styles.padding.left)

    def on_leave(self, event: events.Leave) -> None:
        self.hover = None

    def on_click(self, event: events.Click) -> None:
        action = self.button_at(event.x - self.styles.padding.left)
        if action is not None and not (action == "toggle" and self.toggle_disabled):
            event.stop()
            self.post_message(self.Pressed(action))
