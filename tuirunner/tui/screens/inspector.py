"""The environment inspector: every variable a process receives, where it came from, what it
overrides — with secrets masked unless revealed one at a time."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, RadioButton, RadioSet, Static, Tab, Tabs

from tuirunner.environment import EnvChange, Environment, EnvVar
from tuirunner.options import FilterMode
from tuirunner.output import visible_controls
from tuirunner.tui.screens.env_table import EnvTable, shorten_source
from tuirunner.tui.widgets.key_bar import KeyBar

if TYPE_CHECKING:
    from tuirunner.client import Client, ProcessView
    from tuirunner.tui.app import TuirunnerApp

# The first is where the inspector opens: what the project sets (env files, settings,
# tuirunner's PORT and PS), not the ~50 variables of the shell; `m` moves to the next.
MODES = [
    (FilterMode.SET, "not from the shell"),
    (FilterMode.ALL, "all variables"),
    (FilterMode.FILES, "from env files"),
    (FilterMode.CHANGED, "differs from the shell"),
]


class EnvInspector(EnvTable):
    CSS_PATH = Path(__file__).with_name("inspector.tcss")
    COMPONENT_CLASSES = {
        "env-inspector--process",  # the process's name in the title
        "env-inspector--muted",
        "env-inspector--secret",  # a masked value
        "env-inspector--revealed",  # a secret value shown
        "env-inspector--from-file",  # a source that is an env file
        "env-inspector--pending",  # a variable a restart would change
        "env-inspector--warning",
    }
    BINDINGS = [
        Binding("escape", "close", "Close", id="inspector.close"),
        Binding("e", "close", "Close", show=False),
        Binding("v", "reveal", "Reveal value", id="inspector.reveal"),
        Binding("c", "copy_value", "Copy value", id="inspector.copy"),
        Binding("slash", "filter", "Filter", id="inspector.filter"),
        Binding("m", "next_mode", "Show: set/all/files/changed", id="inspector.mode"),
        Binding("right_square_bracket", "process(1)", "Next process", id="inspector.next"),
        Binding("left_square_bracket", "process(-1)", "Previous process", show=False),
        Binding("u", "app.restart_stale", "Restart stale", id="inspector.restart_stale"),
    ]

    def __init__(self, process_name: str) -> None:
        super().__init__()
        self.process_name = process_name
        self.mode = MODES[0][0]
        self.query_text = ""
        self.revealed: str | None = None  # one variable at a time; never remembered
        self._revealed_value = ""  # its real value, asked of the keeper
        self._previous: tuple[str, Environment] | None = None
        self._vars: dict[str, EnvVar] = {}  # row key → variable, for every row shown

    @property
    def tapp(self) -> TuirunnerApp:
        return self.app  # type: ignore[return-value]

    @property
    def client(self) -> Client:
        return self.tapp.client

    # --- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="inspector"):
            yield Static(id="env-title")
            yield Tabs(
                *(Tab(p.name, id=self._tab_id(p.name)) for p in self.client),
                id="env-processes",
            )
            with Horizontal(id="env-controls"):
                yield Input(
                    placeholder="filter by name, source or value…", id="env-filter", compact=True
                )
                with RadioSet(id="env-mode"):
                    for i, (_, label) in enumerate(MODES):
                        yield RadioButton(label, value=i == 0, compact=True)
            yield Static(id="env-change")
            yield DataTable(id="env-table", cursor_type="row", zebra_stripes=True)
            yield Static(id="env-value")  # a revealed value, whole (wrapped)
            yield Static(id="env-warnings")
        yield KeyBar()

    @staticmethod
    def _tab_id(name: str) -> str:
        return "env-tab-" + name.replace(".", "-")

    def on_mount(self) -> None:
        self.query_one(Tabs).active = self._tab_id(self.process_name)
        self.refresh_data()
        self.query_one(DataTable).focus()

    def on_resize(self) -> None:
        self.refresh_data()

    # --- data --------------------------------------------------------------------------------

    @property
    def process(self) -> ProcessView:
        return self.client.get(self.process_name)

    def _version(self) -> int | None:
        """The environment version shown: the one the process got, else the current one."""
        proc = self.process
        return proc.env_version if self.client.started_environment(proc) else None

    def environment(self) -> tuple[Environment, str]:
        """What the process received (if it was started), else what it would get now."""
        proc = self.process
        started = self.client.started_environment(proc)
        if started is not None:
            if proc.state.alive:
                how = f"{proc.name} is running with this environment"
            else:
                how = f"{proc.name} last ran with this environment"
            return started, how
        return (
            self.client.environment_for(proc),
            f"{proc.name} has not started; this is what it will get",
        )

    def pending(self) -> EnvChange:
        """What a restart would change for this process (env files edited since it started)."""
        started = self.client.started_environment(self.process)
        if started is None:
            return EnvChange((), (), ())
        return started.diff(self.client.environment_for(self.process))

    def refresh_data(self) -> None:
        environment, how = self.environment()
        pending = self.pending()
        upcoming = self.client.environment_for(self.process)
        rows = environment.rows(self.mode, self.query_text)
        masked = sum(1 for v in rows if v.secret)
        style = self._style
        title = Text.assemble(
            ("Environment of ", "bold"),
            (self.process_name, style("env-inspector--process")),
            f" — {how}. {len(rows)} variable(s) shown",
            (
                f", {masked} secret value(s) masked (v reveals one)" if masked else "",
                style("env-inspector--muted"),
            ),
        )
        self.query_one("#env-title", Static).update(title)
        self._fill_table(rows, pending, upcoming)
        self._show_change(pending)
        self._show_warnings(upcoming)
        if self.is_mounted:
            self._show_value(self.revealed, self._revealed_value)

    def _show_change(self, pending: EnvChange) -> None:
        widget = self.query_one("#env-change", Static)
        stale = self.client.stale_processes()
        if not pending and not stale:
            widget.remove_class("-visible")
            return
        text = Text()
        if pending:
            text.append(f"Env files changed since {self.process_name} started: ", style="bold")
            text.append(pending.summary())
            text.append(". ")
        if stale:
            names = ", ".join(p.name for p in stale)
            text.append(
                f"Running with the old environment: {names} — press u to restart them.",
                style="bold",
            )
        widget.update(text)
        widget.add_class("-visible")

    def _show_warnings(self, environment: Environment) -> None:
        widget = self.query_one("#env-warnings", Static)
        warnings = environment.warnings
        if not warnings:
            widget.update(
                Text(
                    "No warnings: every env file parsed, every variable of .env.example is set.",
                    style=self._style("env-inspector--muted"),
                )
            )
            widget.remove_class("-warn")
            return
        text = Text(
            f"⚠ {len(warnings)} warning(s)\n",
            style=self._style("env-inspector--warning"),
        )
        for w in warnings:
            text.append(f"  {w}\n")
        text.rstrip()
        widget.update(text)
        widget.add_class("-warn")

    # --- interaction ---------------------------------------------------------------------------

    def _set_revealed(self, name: str | None, value: str = "") -> None:
        """Reveal *name* (or nothing), re-masking what was revealed: only these cells change."""
        table = self.query_one(DataTable)
        previous, self.revealed = self.revealed, name
        self._revealed_value = value
        for key in {previous, name} - {None}:
            if key in self._vars:
                table.update_cell(key, "value", self._value_cell(self._vars[key]))
        self._show_value(name, value)

    def _show_value(self, name: str | None, value: str = "") -> None:
        """Under the table, the revealed value whole, wrapped: the cell cuts a long one."""
        widget = self.query_one("#env-value", Static)
        if name is None:
            widget.update("")
            widget.remove_class("-visible")
            return
        text = Text.assemble((f"{name}=", "bold"), visible_controls(value))
        widget.update(text)
        widget.add_class("-visible")

    @on(DataTable.RowHighlighted)
    def _row_moved(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value if event.row_key is not None else None
        if self.revealed is not None and key != self.revealed:
            self._set_revealed(None)  # revealing never outlives the row

    @on(Input.Changed, "#env-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.query_text = event.value
        self.revealed = None
        self.refresh_data()

    @on(Input.Submitted, "#env-filter")
    def _filter_submitted(self) -> None:
        self.query_one(DataTable).focus()

    @on(RadioSet.Changed, "#env-mode")
    def _mode_changed(self, event: RadioSet.Changed) -> None:
        self.mode = MODES[event.index][0]
        self.revealed = None
        self.refresh_data()

    @on(Tabs.TabActivated, "#env-processes")
    def _tab_activated(self, event: Tabs.TabActivated) -> None:
        name = next(p.name for p in self.client if self._tab_id(p.name) == event.tab.id)
        if name == self.process_name:
            return
        self._previous = (self.process_name, self.environment()[0])
        self.process_name = name
        self.revealed = None
        self.refresh_data()

    def _selected(self) -> EnvVar | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self._vars.get(key) if key is not None else None

    async def _real_value(self, var: EnvVar) -> str | None:
        """The value unmasked: secret values are only in the keeper, asked for one by one."""
        if not var.secret:
            return var.value
        try:
            return await self.client.reveal(self.process_name, var.name, self._version())
        except Exception as exc:
            self.notify(f"Cannot reveal {var.name}: {exc}", severity="error", markup=False)
            return None

    async def action_reveal(self) -> None:
        var = self._selected()
        if var is None:
            return
        if self.revealed == var.name:
            self._set_revealed(None)
            return
        value = await self._real_value(var)
        if value is not None and self._selected() is var:  # still on that row
            self._set_revealed(var.name, value)

    async def action_copy_value(self) -> None:
        var = self._selected()
        if var is None:
            return
        value = await self._real_value(var)
        if value is None:
            return
        self.app.copy_to_clipboard(value)
        self.notify(f"Copied the value of {var.name}", markup=False, timeout=3)

    def action_filter(self) -> None:
        self.query_one("#env-filter", Input).focus()

    def action_next_mode(self) -> None:
        radios = list(self.query(RadioButton))
        index = [m for m, _ in MODES].index(self.mode)
        radios[(index + 1) % len(radios)].value = True

    def action_process(self, step: int) -> None:
        names = [p.name for p in self.client]
        index = (names.index(self.process_name) + step) % len(names)
        self.query_one(Tabs).active = self._tab_id(names[index])

    def action_close(self) -> None:
        """Esc in the filter box closes the filter (cleared, back to the table); elsewhere
        it closes the inspector."""
        box = self.query_one("#env-filter", Input)
        if self.focused is box:
            box.value = ""
            self.query_one(DataTable).focus()
            return
        self.revealed = None
        self.dismiss()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "restart_stale":
            return bool(self.client.stale_processes())
        return True


__all__ = ["MODES", "EnvInspector", "shorten_source"]
