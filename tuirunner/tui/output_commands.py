"""Command palette entries for reading the output (see output_actions.py)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.markup import escape

if TYPE_CHECKING:
    from tuirunner.tui.app import TuirunnerApp


class OutputCommands(Provider):
    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        app: TuirunnerApp = self.app  # type: ignore[assignment]
        name = app.current
        commands: list[tuple[str, Callable[[], object], str]] = [
            (
                f"Hide lines of {name} matching…",
                partial(app.action_filter, "hide"),
                "A text, or /regex/ (f)",
            ),
            (
                f"Show only lines of {name} matching…",
                partial(app.action_filter, "only"),
                "A text, or /regex/ (g)",
            ),
            (f"Show all lines of {name}", app.action_clear_filters, "Clear its filters (F)"),
            (f"Wrap long lines of {name}, or not", app.action_wrap, "Remembered per type (w)"),
            ("Next traceback", partial(app.action_traceback, 1), "]"),
            ("Previous traceback", partial(app.action_traceback, -1), "["),
            (
                "Open the traceback in the editor",
                app.action_open_editor,
                "$VISUAL, $EDITOR or the editor setting (E)",
            ),
        ]
        for proc in app.client:
            commands.append(
                (
                    f"Open {proc.name} in the browser",
                    partial(app.open_link, app.process_address(proc)),
                    app.process_address(proc) + " (o)",
                )
            )
        return commands

    async def discover(self) -> Hits:
        for title, callback, help_text in self._commands():
            yield DiscoveryHit(escape(title), callback, help=escape(help_text) or None)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, callback, help_text in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=escape(help_text) or None)
