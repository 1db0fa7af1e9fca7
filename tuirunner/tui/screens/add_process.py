"""The small screen that adds a process to the run (``a``): a name and a shell command."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class AddProcess(ModalScreen[tuple[str, str] | None]):
    """Dismissed with (name, command), or None (Esc)."""

    DEFAULT_CSS = """
    AddProcess { align: center middle; }
    AddProcess > Vertical {
        width: 70; height: auto; padding: 1 2;
        border: round $accent; background: $surface;
    }
    AddProcess Label.error { color: $error; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="add.cancel")]

    def __init__(self, taken: set[str]) -> None:
        super().__init__()
        self.taken = taken  # the names of the run's types and groups

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Add a process to the run (gone with the run)")
            yield Input(placeholder="name, e.g. shell", id="add-name")
            yield Input(placeholder="command, e.g. python manage.py shell", id="add-command")
            yield Label("", id="add-error", classes="error")
            yield Label("Enter adds and starts it, Esc cancels", classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        name = self.query_one("#add-name", Input).value.strip()
        command = self.query_one("#add-command", Input).value.strip()
        error = self.query_one("#add-error", Label)
        if event.input.id == "add-name" and not command:
            self.query_one("#add-command", Input).focus()
            return
        if not name:
            error.update("a name is needed")
            self.query_one("#add-name", Input).focus()
        elif name in self.taken:
            error.update(f"{name} is already a process or group of this run")
            self.query_one("#add-name", Input).focus()
        elif not command:
            error.update("a command is needed")
        else:
            self.dismiss((name, command))

    def action_cancel(self) -> None:
        self.dismiss(None)
