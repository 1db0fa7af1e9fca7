"""Opening what the output points at: a traceback's file in the editor, a URL or the focused
process's address in the browser (a part of the app; see output_actions.py)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import TYPE_CHECKING

from textual import on
from textual.app import App, SuspendNotSupported

from tuirunner.tui.widgets.output_marks import Marked

if TYPE_CHECKING:
    from tuirunner.client import Client, ProcessView
    from tuirunner.settings import Settings
    from tuirunner.tui.widgets.output_view import OutputView


class Opening(App[int]):
    """The editor and the browser, for :class:`~tuirunner.tui.app.TuirunnerApp`."""

    client: Client
    current: str

    if TYPE_CHECKING:  # the other parts of the app

        def ui_settings(self) -> Settings: ...
        def focused_view(self) -> OutputView: ...

    def action_open_editor(self) -> None:
        view = self.focused_view()
        root = self.client.app_root
        frame = view.frame_to_open(root)
        if frame is None:
            self.notify(
                "No traceback to open: ] and [ jump to one; click a File line to choose it",
                timeout=4,
            )
            return
        path = frame.path if os.path.isabs(frame.path) else os.path.join(root, frame.path)
        from tuirunner.editor import editor_command  # here: a key press needs it

        argv = editor_command(self.ui_settings().editor, os.environ, path, frame.line)
        if argv is None:
            self.notify(
                'No editor: set $VISUAL or $EDITOR, or editor = "code -g {file}:{line}" in the '
                "settings",
                severity="warning",
                markup=False,
            )
            return
        self.run_editor(argv, root)

    def run_editor(self, argv: list[str], cwd: str) -> None:
        """Run the editor, the UI suspended while it runs (a terminal editor takes it)."""
        try:
            try:
                with self.suspend():
                    subprocess.run(argv, cwd=cwd, check=False)
            except SuspendNotSupported:
                subprocess.run(argv, cwd=cwd, check=False, stdin=subprocess.DEVNULL, timeout=30)
        except (OSError, subprocess.SubprocessError) as exc:
            self.notify(f"Cannot run {argv[0]}: {exc}", severity="error", markup=False)

    # --- links and the browser -----------------------------------------------------------------

    def process_address(self, proc: ProcessView) -> str:
        """Its http ready check's URL, else http://127.0.0.1:PORT/ of the port it listens on."""
        from tuirunner.settings.model import ReadyKind

        check = self.ui_settings().process(proc.name).ready
        if check is not None and check.kind is ReadyKind.HTTP:
            try:
                return check.url(self.client.environment_for(proc).as_dict())
            except (ValueError, KeyError):
                pass
        port = proc.port
        if proc.ports and port not in proc.ports:
            port = proc.ports[0]
        return f"http://127.0.0.1:{port}/"

    def action_open_address(self) -> None:
        self.open_link(self.process_address(self.client.get(self.current)))

    @on(Marked.LinkClicked)
    def _link_clicked(self, event: Marked.LinkClicked) -> None:
        self.open_link(event.url)

    def open_link(self, url: str) -> None:
        """Open *url* in the browser, or say why not (and copy it)."""
        if _console_only():
            self.copy_to_clipboard(url)
            self.notify(
                f"No browser here (no display): {url} copied to the clipboard", markup=False
            )
            return
        self.run_worker(self._open_in_browser(url), exclusive=False)

    async def _open_in_browser(self, url: str) -> None:
        import webbrowser  # here: ~0.1 MB that most runs never need

        try:
            opened = await asyncio.to_thread(webbrowser.open, url)
        except webbrowser.Error:
            opened = False
        if opened:
            self.notify(f"Opened {url}", timeout=3, markup=False)
        else:
            self.copy_to_clipboard(url)
            self.notify(f"No browser found: {url} copied to the clipboard", markup=False)


def _console_only() -> bool:
    """No graphical session to show a browser in (a text browser would take the terminal)."""
    if sys.platform == "darwin" or os.environ.get("BROWSER"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
