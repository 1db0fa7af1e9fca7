"""A pane per process: a header, the output view, a hint, a search bar.

The header gives up its parts from the least useful as the pane narrows: first the buttons,
then the details from the end (the pid first, then the uptime, the port, the restart count),
and last of all the name and state, which stay. Colours come from the theme (component
classes, see app.tcss).
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Button, Input, Static

from tuirunner.client import ProcessView
from tuirunner.events import State
from tuirunner.tui.widgets.output_view import OutputView

KINDS = ("pending", "starting", "running", "stopping", "restarting", "stopped", "exited", "crashed")
BUTTONS_WIDTH = 22  # "Restart  Stop  Env" and their padding


class ProcessTitle(Widget):
    """``1 web.1 running`` (and ``INPUT`` in input mode): number, name and state badge."""

    COMPONENT_CLASSES = {
        "process-title--number",
        "process-title--name",
        "process-title--input",
        *(f"process-title--{kind}" for kind in KINDS),
    }
    DEFAULT_CSS = """
    ProcessTitle {
        width: auto;
        max-width: 100%;
        height: 1;
        padding: 0 0 0 1;
    }
    """

    number: reactive[int] = reactive(0, layout=True)
    process_name: reactive[str] = reactive("", layout=True)
    label: reactive[str] = reactive("", layout=True)
    kind: reactive[str] = reactive("pending")
    input_mode: reactive[bool] = reactive(False, layout=True)

    def render(self) -> Text:
        def style(name: str):
            return self.get_component_rich_style(name, partial=True)

        text = Text(no_wrap=True, overflow="ellipsis")
        if 0 < self.number <= 9:
            text.append(f"{self.number} ", style=style("process-title--number"))
        text.append(self.process_name, style=style("process-title--name"))
        text.append(" ")
        # Badges set their own background, and "color: auto" needs it: full styles.
        badge = self.get_component_rich_style
        text.append(f" {self.label} ", style=badge(f"process-title--{self.kind}"))
        if self.input_mode:
            text.append(" ")
            text.append(" INPUT ", style=badge("process-title--input"))
        return text


class ProcessDetails(Widget):
    """The details that fit, most useful first: ``↻ 2  :5000  up 5m  pid 4242``."""

    COMPONENT_CLASSES = {"process-details--muted", "process-details--port"}
    DEFAULT_CSS = """
    ProcessDetails {
        width: 1fr;
        height: 1;
        padding: 0 1 0 2;
    }
    """

    items: reactive[tuple[tuple[str, str], ...]] = reactive(tuple)

    @property
    def full_width(self) -> int:
        """Its width with every item shown (and its padding)."""
        if not self.items:
            return 0
        return sum(len(part) + 2 for part, _ in self.items) + 1

    def render(self) -> Text:
        width = self.content_size.width
        text = Text(no_wrap=True)
        for part, component in self.items:
            gap = 2 if text else 0
            if text.cell_len + gap + len(part) > width:
                break
            text.append(" " * gap)
            style = self.get_component_rich_style(component, partial=True) if component else ""
            text.append(part, style=style)
        return text


class ProcessPane(Vertical):
    """Everything about one process instance."""

    ALLOW_MAXIMIZE = True
    BLANK = True  # its children cover it: repainting it is a blank strip, not a render

    kind: reactive[str] = reactive("pending")  # of state: see ProcessInfo.label
    input_mode: reactive[bool] = reactive(False)
    hint: reactive[str] = reactive("")  # why it crashed, when we can tell
    unseen: reactive[int] = reactive(0)  # lines that arrived while scrolled up
    narrow: reactive[bool] = reactive(False)  # no room for the buttons

    class Requested(Message):
        """A control of the pane was used: *action* is restart, toggle or env."""

        def __init__(self, pane: ProcessPane, action: str) -> None:
            super().__init__()
            self.pane = pane
            self.action = action

    def __init__(self, process: ProcessView, number: int) -> None:
        super().__init__(id=f"pane-{number}", classes="pane")
        self.process = process
        self.number = number
        self.title = ProcessTitle(classes="title")
        self.details = ProcessDetails(classes="details")
        self.view = OutputView(process, classes="output")
        self.toggle_button = Button("Stop", id="toggle", compact=True)
        self.buttons = Horizontal(
            Button("Restart", id="restart", compact=True),
            self.toggle_button,
            Button("Env", id="env", compact=True),
            classes="pane-buttons",
        )
        self.hint_bar = Static(classes="hint")
        self.unseen_bar = Static(classes="unseen")
        self.search_input = Input(
            placeholder="search (enter: next, ↑: previous, esc: close)",
            compact=True,
            classes="search-input",
        )
        self.match_label = Static(classes="match-count")
        self.search_bar = Horizontal(self.search_input, self.match_label, classes="search-bar")

    def compose(self) -> ComposeResult:
        with Horizontal(classes="pane-header"):
            yield self.title
            yield self.details
            yield self.buttons
        yield self.view
        yield self.hint_bar
        yield self.unseen_bar
        yield self.search_bar

    def on_mount(self) -> None:
        for button in self.query(Button):
            button.can_focus = False  # Tab moves between panes; the keys do the same as buttons
        self.title.number = self.number
        self.title.process_name = self.process.name
        self.show(self.app.uptime_text(self.process))  # type: ignore[attr-defined]

    # --- the header ------------------------------------------------------------------------------

    def show(self, uptime: str | None = None) -> None:
        """Show the process as it is now (the app calls this when something of it changed)."""
        proc = self.process
        label, kind = proc.label()
        self.kind = kind
        self.title.label = label
        self.title.kind = kind
        items: list[tuple[str, str]] = []  # the most useful first
        if proc.restart_count:
            items.append((f"↻ {proc.restart_count}", ""))
        items.append((f":{proc.port}", "process-details--port"))
        if uptime:
            items.append((uptime, "process-details--muted"))
        if proc.state.alive and proc.pid is not None:
            pid = self.app.format_pid(proc.pid)  # type: ignore[attr-defined]
            items.append((pid, "process-details--muted"))
        self.details.items = tuple(items)
        self.toggle_button.label = "Stop" if proc.state.alive else "Start"
        self.toggle_button.disabled = proc.state in (State.STOPPING, State.RESTARTING)
        self._fit()

    def header_text(self) -> str:
        """What the header says, as plain text (the parts that fit)."""
        parts = [self.title.render().plain, self.details.render().plain]
        if not self.narrow:
            parts.append("Restart  " + str(self.toggle_button.label) + "  Env")
        return "  ".join(p for p in parts if p)

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """The buttons go first: keep them only if everything else fits beside them."""
        width = self.size.width
        if width:
            needed = self.title.render().cell_len + 1 + self.details.full_width + BUTTONS_WIDTH
            self.narrow = width < needed

    def watch_input_mode(self, value: bool) -> None:
        self.set_class(value, "-input")
        self.title.input_mode = value
        self.view.input_mode = value

    def watch_narrow(self, value: bool) -> None:
        # Not a CSS class: changing a class restyles the whole pane, which is slow.
        self.buttons.display = not value

    def watch_hint(self, text: str) -> None:
        self.hint_bar.update(Text(text))
        self.hint_bar.set_class(bool(text), "-visible")

    def watch_unseen(self, n: int) -> None:
        if n:
            self.unseen_bar.update(Text(f"↓ {n} new line{'s' if n != 1 else ''} — End to follow"))
        self.unseen_bar.set_class(bool(n), "-visible")

    # --- controls ----------------------------------------------------------------------------

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.Requested(self, event.button.id or ""))

    @on(OutputView.FollowChanged)
    def _follow_changed(self, event: OutputView.FollowChanged) -> None:
        event.stop()
        self.unseen = self.view.unseen

    def on_click(self, event) -> None:
        if event.widget is self.unseen_bar:
            self.view.action_follow()

    # --- search ------------------------------------------------------------------------------

    def open_search(self) -> None:
        self.search_bar.add_class("-visible")
        self.search_input.focus()
        if self.search_input.value:
            self._run_search(self.search_input.value)

    def close_search(self) -> None:
        self.search_bar.remove_class("-visible")
        self.view.set_search(None)
        self.match_label.update("")
        self.view.focus()

    @property
    def searching(self) -> bool:
        return self.search_bar.has_class("-visible")

    def _run_search(self, query: str) -> None:
        self.view.set_search(query)
        self._update_match_label()

    def _update_match_label(self) -> None:
        search = self.view.search
        if search is None:
            self.match_label.update("")
        elif not search.matches:
            self.match_label.update("no match")
            self.match_label.add_class("-none")
        else:
            self.match_label.update(f"{search.current + 1}/{len(search.matches)}")
            self.match_label.remove_class("-none")

    @on(Input.Changed, ".search-input")
    def _search_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._run_search(event.value)

    @on(Input.Submitted, ".search-input")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.search_step(1)

    def search_step(self, step: int) -> None:
        if self.view.search is None or self.view.search.query != self.search_input.value:
            self._run_search(self.search_input.value)
        else:
            self.view.move_match(step)
        self._update_match_label()

    def on_key(self, event) -> None:
        if self.search_input.has_focus:
            if event.key in ("up", "shift+enter"):
                event.stop()
                self.search_step(-1)
            elif event.key == "down":
                event.stop()
                self.search_step(1)
            elif event.key == "escape":
                event.stop()
                self.close_search()
