"""``tuirunner env`` output: a Rich table in a terminal, aligned plain text otherwise.

Names, values, sources, notes and warnings are data from env files and the shell: their control
characters are spelled out (``\\x1b``, ``\\x07``, ``\\n``), so that a value cannot retitle the
terminal, switch it to the alternate screen or turn on mouse reporting.
"""

from __future__ import annotations

import sys

from tuirunner.environment import Environment
from tuirunner.options import FilterMode
from tuirunner.output import visible_controls as shown


def render_env(
    environment: Environment,
    process: str | None,
    mode: FilterMode = FilterMode.ALL,
    reveal: bool = False,
    terminal: bool = False,
) -> None:
    rows = environment.rows(mode)
    title = shown(f"Environment of {process}" if process else "Environment (no process)")
    if terminal:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        console = Console()
        table = Table(title=title, title_justify="left", expand=False)
        table.add_column("name", style="bold", no_wrap=True)
        table.add_column("value", overflow="fold")
        table.add_column("source", style="cyan", no_wrap=True)
        table.add_column("notes", style="dim", overflow="fold")
        for var in rows:
            value = Text(shown(var.shown_value(reveal)))  # Text, not markup: values are data
            if var.secret and not reveal:
                value.stylize("yellow")
            table.add_row(
                Text(shown(var.name)),
                value,
                Text(shown(str(var.source))),
                Text(shown("; ".join(var.notes(reveal)))),
            )
        console.print(table)
        if environment.warnings:
            console.print(Text("Warnings:", style="bold yellow"))
            for w in environment.warnings:
                console.print(Text(f"  {w}"))
        if not reveal and any(v.secret for v in rows):
            console.print(Text("Secret values are masked; --reveal shows them.", style="dim"))
        return
    out = sys.stdout
    out.write(f"# {title}\n")
    width = max((len(shown(v.name)) for v in rows), default=0)
    for var in rows:
        notes = "; ".join(var.notes(reveal))
        comment = shown(f"  # {var.source}" + (f"; {notes}" if notes else ""))
        value = shown(var.shown_value(reveal))
        out.write(f"{shown(var.name):<{width}} = {value}{comment}\n")
    for w in environment.warnings:
        out.write(f"# warning: {w}\n")
