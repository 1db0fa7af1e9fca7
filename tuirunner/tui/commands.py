"""Command palette: every action, for every process ("Restart web.1", "Stop worker.2", …)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.markup import escape

if TYPE_CHECKING:
    from tuirunner.tui.app import TuirunnerApp


class ProcessCommands(Provider):
    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        app: TuirunnerApp = self.app  # type: ignore[assignment]
        commands: list[tuple[str, Callable[[], object], str]] = []
        for proc in app.client:
            name = proc.name
            commands += [
                (
                    f"Restart {name}",
                    partial(app.restart_process, name),
                    f"Stop {name} and start it again",
                ),
                (
                    f"Stop {name}" if proc.active else f"Start {name}",
                    partial(app.toggle_process, name),
                    proc.command,
                ),
                (
                    f"Environment of {name}",
                    partial(app.show_env, name),
                    "Every variable it receives, with its source",
                ),
                (f"Focus {name}", partial(app.focus_process, name), "Go to its pane"),
                (
                    f"Type into {name}",
                    partial(app.enter_input_mode, name),
                    "Input mode: keys go to the process (esc leaves)",
                ),
                (f"Search the output of {name}", partial(app.open_search, name), ""),
            ]
            if proc.added:
                commands.append(
                    (f"Remove {name}", partial(app.remove_process, name), "Stop it, take it out")
                )
        for group, members in app.client.groups.items():
            shown = ", ".join(members)
            commands += [
                (f"Restart {group}", partial(app.group_command, "restart", group), shown),
                (f"Start {group}", partial(app.group_command, "start", group), shown),
                (f"Stop {group}", partial(app.group_command, "stop", group), shown),
            ]
        stray = [p.name for p in app.client if p.stray_pid is not None]
        for name in stray:
            commands.append(
                (
                    f"Stop the stray holding {name}'s port",
                    partial(app.stop_stray, name),
                    "A process an earlier run here left behind",
                )
            )
        if app.migrations_pending():
            commands.append(
                ("Apply migrations", app.action_migrate, "Run the release process (migrate)")
            )
        commands += [
            ("Add a process", app.action_add_process, "A command beside the others (a)"),
            ("Restart all", app.action_restart_all, "Restart every process"),
            ("Stop all", app.stop_all, "Stop every process, keep tuirunner open"),
            ("Start all", app.start_all, "Start every process that is not running"),
            ("Zoom", app.action_zoom, "Show the focused pane full screen, or go back"),
            (
                "Merged view",
                app.action_merged,
                "Every process's output in one stream, in the order it came (m)",
            ),
            ("Show or hide times", app.action_toggle_time, "When each line came (t)"),
            (
                "Save output",
                app.action_save,
                "Write the focused pane's (or the merged view's) scrollback to a file (ctrl+s)",
            ),
            ("Copy", app.action_copy, "Copy the selection, or the visible lines"),
            ("Detach", app.action_detach, "Close the UI, leave the processes running"),
            ("Quit", app.action_quit, "Stop everything and exit"),
        ]
        return commands

    async def discover(self) -> Hits:
        for title, callback, help_text in self._commands():
            # Help texts quote Procfile commands: never let Textual read them as markup.
            yield DiscoveryHit(escape(title), callback, help=escape(help_text) or None)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, callback, help_text in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=escape(help_text) or None)
