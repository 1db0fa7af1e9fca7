"""A pane per process: a header, the output view, a hint, and a search bar when asked for.

A pane is few widgets (Textual's cost at start-up and on a restyle is per widget): the header is
one (see process_header.py), and the search bar is made the first time it is opened.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Input, Static

from tuirunner.client import ProcessView
from tuirunner.events import State
from tuirunner.tui.widgets.output_view import OutputView
from tuirunner.tui.widgets.pane_tools import PaneTools
from tuirunner.tui.widgets.process_header import ProcessHeader


class SearchInput(Input):
    """The search box: what is typed is searched as it is typed; its keys move between the
    matches and close it."""

    BINDINGS = [
        Binding("enter", "step(1)", "Next match"),
        Binding("down", "step(1)", "Next match", show=False),
        Binding("up,shift+enter", "step(-1)", "Previous match"),
        Binding("escape", "close", "Close search"),
    ]

    def __init__(self, pane: ProcessPane) -> None:
        super().__init__(
            placeholder="search (enter: next, ↑: previous, esc: close)",
            compact=True,
            classes="search-input",
        )
        self.pane = pane

    def action_step(self, step: int) -> None:
        self.pane.search_step(step)

    def action_close(self) -> None:
        self.pane.close_search()


@dataclass(frozen=True)
class PaneStatus:
    """What the header shows beside the process's own state, worked out by the app: the pid
    and uptime as shown (None: not shown), and the wall-clock time its details are for."""

    pid: str | None
    uptime: str | None
    now: float


class ProcessPane(PaneTools, Vertical):
    """Everything about one process instance."""

    ALLOW_MAXIMIZE = True
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

    def __init__(self, process: ProcessView, number: int, status: PaneStatus) -> None:
        super().__init__(id=f"pane-{number}", classes="pane")
        self.process = process
        self.status = status
        self.number = number
        self.header = ProcessHeader(classes="pane-header")
        self.header.number = number
        self.header.process_name = process.name
        self.view = OutputView(process, classes="output")
        self.hint_bar = Static(classes="hint")
        self.unseen_bar = Static(classes="unseen")
        self.search_bar: Horizontal | None = None  # made when first opened
        self._was_following = True  # when the search opened: it follows again once closed
        self.search_input: SearchInput | None = None
        self.match_label: Static | None = None

    def compose(self) -> ComposeResult:
        yield self.header
        yield self.view
        yield self.hint_bar
        yield self.unseen_bar

    def on_mount(self) -> None:
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

    # --- search ------------------------------------------------------------------------------

    async def open_search(self) -> None:
        """Show the search bar (made the first time) and focus it. Awaited by the key's action,
        so that the keys typed right after ``/`` go into it, not to the app's bindings."""
        if self.search_bar is None:
            self.search_input = SearchInput(self)
            self.match_label = Static(classes="match-count")
            self.search_bar = Horizontal(self.search_input, self.match_label, classes="search-bar")
            await self.mount(self.search_bar)
        assert self.search_input is not None
        if not self.search_bar.display or not self.searching:
            self._was_following = self.view.follow
        self.search_bar.display = True
        self.screen.set_focus(self.search_input)  # now: focus() would wait for a later turn
        if self.search_input.value:
            self._run_search(self.search_input.value)

    def close_search(self) -> None:
        if self.search_bar is not None:
            self.search_bar.display = False
        self.view.set_search(None)
        if self.match_label is not None:
            self.match_label.update("")
        self.view.focus()
        if self._was_following:  # the search scrolled, not the user: follow again
            self.view.action_follow()

    @property
    def searching(self) -> bool:
        bar = self.search_bar
        return bar is not None and bar.is_mounted and bar.display

    def _run_search(self, query: str) -> None:
        self.view.set_search(query)
        self._update_match_label()

    def _update_match_label(self) -> None:
        search = self.view.search
        if self.match_label is None:
            return
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

    def search_step(self, step: int) -> None:
        query = self.search_input.value if self.search_input is not None else ""
        if self.view.search is None or self.view.search.query != query:
            self._run_search(query)
        else:
            self.view.move_match(step)
        self._update_match_label()
