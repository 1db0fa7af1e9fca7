"""A pane per process: a title bar with state and controls, the output view, a search bar."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Static

from tuirunner.client import ProcessView
from tuirunner.events import ProcessInfo, State
from tuirunner.tui.widgets.output_view import OutputView

STATE_KINDS = ("pending", "starting", "running", "stopping", "restarting", "stopped")
STATE_CLASSES = {f"-{kind}" for kind in (*STATE_KINDS, "exited", "crashed")}
STATE_COLOURS = {  # the dot in the process list
    "-pending": "grey50",
    "-starting": "yellow",
    "-running": "green",
    "-stopping": "yellow",
    "-restarting": "magenta",
    "-stopped": "grey50",
    "-exited": "dodger_blue1",
    "-crashed": "red",
}
STATE_BADGES = {  # the label in a pane's title bar: readable on any header colour
    "-pending": "black on grey62",
    "-starting": "black on yellow",
    "-running": "black on green3",
    "-stopping": "black on yellow",
    "-restarting": "black on orchid",
    "-stopped": "white on grey37",
    "-exited": "white on dodger_blue3",
    "-crashed": "bold white on red3",
}


def state_label(proc: ProcessInfo) -> tuple[str, str]:
    """('running', '-running'), ('exited 0', '-exited'), ('crashed: exit 3', '-crashed') …"""
    label, kind = proc.label()
    return label, f"-{kind}"


class ProcessPane(Vertical):
    """Everything about one process instance."""

    ALLOW_MAXIMIZE = True

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
        self.view = OutputView(process, classes="output")
        self.title_bar = Static(classes="title")
        self.toggle_button = Button("Stop", id="toggle", compact=True)
        self.hint = Static(classes="hint")
        self.unseen_label = Static(classes="unseen")
        self.search_input = Input(
            placeholder="search (enter: next, ↑: previous, esc: close)",
            compact=True,
            classes="search-input",
        )
        self.match_label = Static(classes="match-count")
        self.search_bar = Horizontal(self.search_input, self.match_label, classes="search-bar")

    def compose(self) -> ComposeResult:
        with Horizontal(classes="pane-header"):
            yield self.title_bar
            yield Button("Restart", id="restart", compact=True)
            yield self.toggle_button
            yield Button("Env", id="env", compact=True)
        yield self.view
        yield self.hint
        yield self.unseen_label
        yield self.search_bar

    def on_mount(self) -> None:
        for button in self.query(Button):
            button.can_focus = False  # Tab moves between panes; the keys do the same as buttons
        self.refresh_header()

    def on_resize(self) -> None:
        self.call_after_refresh(self.refresh_header)  # the title fits its new width

    # --- header ------------------------------------------------------------------------------

    def describe(self, now: float, width: int | None = None) -> Text:
        """The title line, as Text (never markup: names and commands are data).

        When *width* is short, the least useful fields are left out rather than cut.
        """
        proc = self.process
        label, cls = state_label(proc)
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{self.number} " if self.number <= 9 else "  ", style="dim")
        text.append(proc.name, style="bold")
        text.append(" ")
        text.append(f" {label} ", style=STATE_BADGES[cls])
        if self.view.input_mode:
            text.append(" ")
            text.append(" INPUT ", style="bold black on yellow")
        optional: list[tuple[str, str]] = []
        if proc.state.alive and proc.pid is not None:
            optional.append((self.app.format_pid(proc.pid), ""))  # type: ignore[attr-defined]
        if proc.restart_count:
            optional.append((f"↻ {proc.restart_count}", ""))
        optional.append((proc.resources() or f":{proc.port}", "cyan"))
        uptime = proc.uptime(now)
        if uptime is not None and proc.state.alive:
            optional.append((self.app.format_uptime(uptime), "dim"))  # type: ignore[attr-defined]
        for part, style in optional:
            if width is not None and text.cell_len + 2 + len(part) > width:
                break
            text.append("  ")
            text.append(part, style=style)
        detail = proc.detail(now)
        if detail:  # last, cut with an ellipsis rather than left out
            text.append("  ")
            text.append(detail, style="italic")
        return text

    def refresh_header(self) -> None:
        proc = self.process
        width = self.title_bar.size.width or None
        self.title_bar.update(self.describe(self.app.clock(), width))  # type: ignore[attr-defined]
        _, cls = state_label(proc)
        if not self.has_class(cls):
            self.remove_class(*STATE_CLASSES)
            self.add_class(cls)
        self.toggle_button.label = "Stop" if proc.active else "Start"
        self.toggle_button.disabled = proc.state in (State.STOPPING, State.RESTARTING)

    def set_hint(self, text: str | None) -> None:
        self.hint.update(Text(text or ""))
        self.hint.set_class(bool(text), "-visible")

    def refresh_unseen(self) -> None:
        n = self.view.unseen
        if n:
            self.unseen_label.update(Text(f"↓ {n} new line{'s' if n != 1 else ''} — End to follow"))
        self.unseen_label.set_class(bool(n), "-visible")

    # --- controls ----------------------------------------------------------------------------

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.Requested(self, event.button.id or ""))

    @on(OutputView.FollowChanged)
    def _follow_changed(self, event: OutputView.FollowChanged) -> None:
        event.stop()
        self.refresh_unseen()

    def on_click(self, event) -> None:
        if event.widget is self.unseen_label:
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
            self.match_label.update(Text("no match", style="red"))
        else:
            self.match_label.update(Text(f"{search.current + 1}/{len(search.matches)}"))

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
