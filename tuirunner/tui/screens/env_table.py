"""The inspector's table: a row per variable, its value masked or revealed, its source
shortened to fit, and notes on what it overrides and what a restart would change."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.screen import Screen
from textual.widgets import DataTable

from tuirunner.environment import EnvChange, Environment, EnvVar, SourceKind
from tuirunner.output import visible_controls

if TYPE_CHECKING:
    from tuirunner.options import FilterMode

SOURCE_WIDTH = (10, 32)  # the source column fits the longest source, within these bounds


def shorten_source(source: str, width: int) -> str:
    """``example/.env:13`` in *width* cells: the path is shortened from the left
    (``…/.env:13``), the line number never."""
    if len(source) <= width:
        return source
    path, colon, line = source.rpartition(":")
    if not colon or not line.isdigit():
        return "…" + source[-(width - 1) :] if width > 1 else "…"
    keep = width - len(line) - 2  # the ellipsis and the colon
    if keep <= 0:
        return f"…:{line}"
    return f"…{path[-keep:]}:{line}"


class EnvTable(Screen):
    """The table part of :class:`~tuirunner.tui.screens.inspector.EnvInspector`."""

    process_name: str
    mode: FilterMode
    query_text: str
    revealed: str | None
    _revealed_value: str
    _previous: tuple[str, Environment] | None
    _vars: dict[str, EnvVar]

    if TYPE_CHECKING:  # the rest of the inspector

        def environment(self) -> tuple[Environment, str]: ...
        def _selected(self) -> EnvVar | None: ...

    def _style(self, component: str):
        """A component's colours (from the theme), for the text of a cell."""
        return self.get_component_rich_style(component, partial=True)

    def _column_widths(self, sources: list[str]) -> tuple[int, int, int, int]:
        """name, value, source, notes: fill the width without a horizontal scrollbar."""
        width = max(self.size.width, 80) - 10  # cell padding and the scrollbar
        low, high = SOURCE_WIDTH
        name, source = 26, min(max([low, *map(len, sources)]), high)
        value = max(20, (width - name - source) * 45 // 100)
        return name, value, source, max(20, width - name - value - source)

    def _ensure_columns(self, table: DataTable, sources: list[str]) -> None:
        widths = self._column_widths(sources)
        if [c.width for c in table.columns.values()] == list(widths):
            return
        table.clear(columns=True)
        for label, width in zip(("name", "value", "source", "notes"), widths, strict=True):
            table.add_column(label, key=label, width=width)

    def _value_cell(self, var: EnvVar) -> Text:
        reveal = var.name == self.revealed
        if var.value == "":
            return Text("(empty)", style=self._style("env-inspector--muted"))
        shown = self._revealed_value if reveal else var.shown_value()
        value = Text(visible_controls(shown), no_wrap=True, overflow="ellipsis")
        if var.secret:
            kind = "revealed" if reveal else "secret"
            value.stylize(self._style(f"env-inspector--{kind}"))
        return value

    def _fill_table(self, rows: list[EnvVar], pending: EnvChange, upcoming: Environment) -> None:
        table = self.query_one(DataTable)
        selected = self._selected()
        table.clear()
        self._ensure_columns(table, [str(v.source) for v in (*rows, *upcoming.variables.values())])
        self._vars = {}
        differs_from_previous = set()
        if self._previous is not None:
            differs_from_previous = set(self._previous[1].diff(self.environment()[0]).names)
        for var in rows:
            notes = var.notes()
            if var.source.kind is SourceKind.RUNNER:
                notes.insert(0, f"set by tuirunner for {self.process_name}")
            if var.name in differs_from_previous:
                notes.insert(0, f"differs from {self._previous[0]}")  # type: ignore[index]
            if var.name in pending.changed:
                new = upcoming.variables[var.name]
                notes.insert(0, f"changed in {new.source}: a restart gives {new.shown_value()!r}")
            elif var.name in pending.removed:
                notes.insert(0, "removed from the env files: a restart drops it")
            name_style = "bold" if var.from_file else ""
            if var.name in pending.changed or var.name in pending.removed:
                name_style = "env-inspector--pending"
            self._add_row(table, var, name_style, notes)
        added = {v.name for v in upcoming.rows(self.mode, self.query_text)} & set(pending.added)
        for name in sorted(added):
            self._add_row(
                table,
                upcoming.variables[name],
                "env-inspector--pending",
                ["added to the env files: a restart sets it"],
            )
        if selected is not None and selected.name in self._vars:
            table.move_cursor(row=table.get_row_index(selected.name), animate=False)

    def _add_row(self, table: DataTable, var: EnvVar, name_style: str, notes: list[str]) -> None:
        self._vars[var.name] = var
        if name_style.startswith("env-inspector--"):
            name_style = self._style(name_style)
        source_width = table.columns["source"].width
        source_style = "env-inspector--from-file" if var.from_file else "env-inspector--muted"
        table.add_row(
            Text(visible_controls(var.name), style=name_style, no_wrap=True, overflow="ellipsis"),
            self._value_cell(var),
            Text(
                shorten_source(str(var.source), source_width),
                style=self._style(source_style),
            ),
            Text(visible_controls("; ".join(notes)), no_wrap=True, overflow="ellipsis"),
            key=var.name,
        )
