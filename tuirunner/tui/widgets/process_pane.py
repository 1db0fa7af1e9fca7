"""A pane per process: a header, the output view, a hint, and a search bar when asked for.

A pane is few widgets (Textual's cost at start-up and on a restyle is per widget): the header is
one (see process_header.py), and the search bar is made the first time it is opened.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive

from tuirunner.client import ProcessView
from tuirunner.events import State
from tuirunner.tui.widgets.kept_lines import Bar
from tuirunner.tui.widgets.laid_out import LaidOutOnce
from tuirunner.tui.widgets.output_view import OutputView
from tuirunner.tui.widgets.pane_tools import PaneTools
from tuirunner.tui.widgets.process_header import ProcessHeader


@dataclass(frozen=True)
class PaneStatus:
    """What the header shows beside the process's own state, worked out by the app: the pid
    and uptime as shown (None: not shown), and the wall-clock time its details are for."""

    pid: str | None
    uptime: str | None
    now: float


class ProcessPane(LaidOutOnce, PaneTools, Vertical):
    """Everything about one process instance."""

    BLANK = True  # its children cover it: repainting it is a blank strip, not a render

    kind: reactive[str] = reactive("pending")  # of state: see ProcessInfo.label
    input_mode: reactive[bool] = reactive(False)
    hint: reactive[str] = reactive("")  # why it crashed, when we can tell
    unseen: reactive[int] = reactive(0)  # lines that arrived while scrolled up (see the bar)

    class Requested(Message):
        """A control of the pane was used: *action* is restart, toggle or env."""

        def __init__(self, pane: ProcessPane, action: str) -> None:
            super().__init__()
            self.pane = pane
            self.action = action

    def __init__(
        self, process: ProcessView, number: int, status: PaneStatus, id: str | None = None
    ) -> None:
        super().__init__(id=id, classes="pane")
        self.process = process
        self.status = status
        self.number = number
        self.header = ProcessHeader(classes="pane-header")
        self.header.number = number
        self.header.process_name = process.name
        self.view = OutputView(process, classes="output")
        self.hint_bar = Bar(classes="hint")
        self.unseen_bar = Bar(classes="unseen")

    def compose(self) -> ComposeResult:
        yield self.header
        yield self.view
        yield self.hint_bar
        yield self.unseen_bar

    def on_mount(self) -> None:
        if getattr(self.app, "quitting", False):
            self.header.show_quitting()
        self.show(self.status)
        self._show_position()

    # --- the header ------------------------------------------------------------------------------

    def show(self, status: PaneStatus) -> None:
        """Show the process as it is now, with *status* (the app calls this when something of
        it changed)."""
        self.status = status
        proc = self.process
        label, kind = proc.label()
        self.kind = kind
        header = self.header
        header.label = label
        header.kind = kind
        items: list[tuple[str, str]] = []  # the most useful first
        if proc.restart_count:
            items.append((f"↻ {proc.restart_count}", ""))
        # Once sampled: "3% 41 MB :1025", the ports it listens on rather than the PORT it got.
        items.append((proc.resources() or f":{proc.port}", "port"))
        if status.uptime:
            items.append((status.uptime, "muted"))
        if status.pid:
            items.append((status.pid, "muted"))
        detail = proc.detail(status.now)
        if detail:  # what its policy does (ready, waiting for …, next try in …): state words go
            items.insert(0, (detail, ""))  # first, so a narrow header gives up the rest before
        header.items = tuple(self.tool_items(items))
        header.toggle_label = "Stop" if proc.active else "Start"
        header.toggle_disabled = proc.state in (State.STOPPING, State.RESTARTING)

    def header_text(self) -> str:
        """What the header says, as plain text (the parts that fit)."""
        return self.header.plain()

    @property
    def narrow(self) -> bool:
        """No room for the buttons."""
        return not self.header.fits_buttons()

    def watch_input_mode(self, value: bool) -> None:
        self.set_class(value, "-input")
        self.header.input_mode = value
        self.view.input_mode = value

    def watch_hint(self, text: str) -> None:
        self.hint_bar.update(Text(text))
        self.hint_bar.set_class(bool(text), "-visible")

    def _show_position(self) -> None:
        """The bar under the output says whether it follows the output or, scrolled up, where
        it is (there is no vertical scrollbar) and how many lines came since."""
        view = self.view
        if view.follow:
            self.unseen_bar.update(Text("following"))
            self.unseen_bar.set_class(True, "-visible")
            self.unseen_bar.set_class(True, "-following")
            return
        self.unseen_bar.set_class(False, "-following")
        first, last, count = view.position()
        text = f"lines {first:,}–{last:,} of {count:,}"
        if self.unseen:
            text += f" · ↓ {self.unseen:,} new line{'s' if self.unseen != 1 else ''}"
        self.unseen_bar.update(Text(text + " — End to follow"))
        self.unseen_bar.set_class(True, "-visible")

    # --- controls ----------------------------------------------------------------------------

    @on(ProcessHeader.Pressed)
    def _button(self, event: ProcessHeader.Pressed) -> None:
        event.stop()
        self.post_message(self.Requested(self, event.action))

    @on(OutputView.FollowChanged)
    def _follow_changed(self, event: OutputView.FollowChanged) -> None:
        event.stop()
        self.unseen = self.view.unseen
        self._show_position()

    def on_click(self, event) -> None:
        if event.widget is self.unseen_bar:
            self.view.action_follow()
