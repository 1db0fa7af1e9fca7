"""The run's first frame, drawn before Textual is imported.

Importing Textual and the UI, and the app's start, take ~170 ms of a ~240 ms launch
(bench/README.md), and the keeper is ready well before they end. So while they go on, a thread
connects to the keeper and draws what the UI is about to show, where it will show it
(:func:`tuirunner.tiling.pane_boxes`): each pane's number, name and state, and the lines its
process printed, in the terminal's alternate screen, as they come. The app's first frame
paints every cell over it, with the colours of its theme, the footer and the rest; its driver
does not switch to the alternate screen again (some terminals clear it then: driver.py).

Nothing here imports Textual (an import contract checks it). The thread hands the connection
over when the app is imported: nothing it read is lost, the app takes the same copy of the run.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.cells import cell_len, set_cell_size  # (Textual imports them anyway)

from tuirunner.output import strip_controls
from tuirunner.tiling import pane_boxes

if TYPE_CHECKING:
    from tuirunner.client import Client
    from tuirunner.mirror import ProcessView

ENTER = "\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J"  # the alternate screen, no cursor, cleared
LEAVE = "\x1b[?1049l\x1b[?25h"
BEGIN, END = "\x1b[?2026h", "\x1b[?2026l"  # a synchronized update (ignored where unknown)
RESET = "\x1b[0m"
PACE = 0.01  # seconds: at most one frame per this, while lines pour in
# The state's colours (app.tcss's, in the terminal's own palette): badge, and list bullet.
BADGES = {
    "starting": "30;43",
    "stopping": "30;43",
    "running": "30;42",
    "restarting": "30;46",
    "exited": "30;44",
    "crashed": "1;30;41",
}
BULLETS = {"starting": "33", "stopping": "33", "running": "32", "restarting": "36"}
BULLETS.update(exited="34", crashed="31")

Segments = list[tuple[str, str]]  # (text, SGR parameters)


class FirstFrame:
    """Connect with *connect* in a thread, and draw the run on the terminal (*fd*, *size*
    columns × rows) until :meth:`finish` takes the connection."""

    def __init__(
        self,
        connect: Callable[[], Client],
        size: tuple[int, int],
        fd: int = 1,
        colour: bool | None = None,
    ) -> None:
        self.connect = connect
        self.size = size
        self.fd = fd
        self.colour = "NO_COLOR" not in os.environ if colour is None else colour
        self.shown = False  # the alternate screen is ours
        self.handed_over = False  # the app's driver has taken the screen
        self._client: Client | None = None
        self._error: BaseException | None = None
        self._wake: tuple[int, int] | None = None  # the pipe that stops the thread
        self._screen = threading.Lock()  # held to draw, or to leave the screen
        self._abandoned = False
        self._thread = threading.Thread(target=self._run, name="first-frame", daemon=True)

    def start(self) -> FirstFrame:
        self._wake = os.pipe()
        self._thread.start()
        return self

    def finish(self) -> Client:
        """Stop drawing; the connection (raises what connecting raised)."""
        self._stop()
        if self._error is not None:
            raise self._error
        assert self._client is not None
        return self._client

    def hand_over(self) -> bool:
        """The app's driver starts: whether this frame is on the alternate screen already, and
        the driver the first to ask (it then does not switch to it again; after a suspend, it
        does)."""
        if not self.shown or self.handed_over:
            return False
        self.handed_over = True
        return True

    def abandon(self) -> None:
        """The app did not start (an error, ^C): leave the alternate screen if it was ours.
        The thread is not waited for (it may be connecting to a keeper that is slow to start:
        ^C must not wait for that); it draws nothing more."""
        with self._screen:
            self._abandoned = True
            if self.shown and not self.handed_over:
                self.shown = False
                with contextlib.suppress(OSError):
                    self._write(LEAVE)
        if self._wake is not None:
            os.write(self._wake[1], b"x")  # (a daemon thread: it does not hold the exit up)

    # --- the thread --------------------------------------------------------------------------

    def _stop(self) -> None:
        if self._wake is not None:
            os.write(self._wake[1], b"x")
            self._thread.join()
            for fd in self._wake:
                os.close(fd)
            self._wake = None

    def _run(self) -> None:
        assert self._wake is not None
        wake = self._wake[0]
        try:
            client = self.connect()
        except BaseException as exc:  # (re-raised by finish, in the main thread)
            self._error = exc
            return
        self._client = client
        drawn_at = 0.0
        changed = True
        while True:
            wait = None
            if changed:
                wait = drawn_at + PACE - time.monotonic()
                if wait <= 0:
                    try:
                        self._draw(client)
                    except Exception:  # the terminal went away, or a bug: the app draws on
                        return
                    drawn_at, changed, wait = time.monotonic(), False, None
            ready, _, _ = select.select([client.sock, wake], [], [], wait)
            if wake in ready:
                return
            if client.sock not in ready:
                continue  # (the time to draw what came)
            try:
                if not client.read_some():
                    return  # closed: the app finds it so
            except Exception as exc:  # as connecting would have failed (re-raised by finish)
                self._error = exc
                return
            changed = True

    def _draw(self, client: Client) -> None:
        text = render(client.processes, *self.size, colour=self.colour)
        with self._screen:
            if self._abandoned:
                return
            if not self.shown:
                text = ENTER + text
            self.shown = True
            self._write(BEGIN + text + END)

    def _write(self, text: str) -> None:
        data = text.encode("utf-8", "replace")
        while data:
            data = data[os.write(self.fd, data) :]


def render(processes: list[ProcessView], width: int, height: int, colour: bool = True) -> str:
    """The escape sequences that draw *processes* as the UI's first frame would lay them out
    in a *width* × *height* terminal (every cell of the panes and the list, nothing else)."""
    out: list[str] = []
    if not processes:
        return ""
    list_width, boxes = pane_boxes(len(processes), width, height - 1)  # (the footer)
    if width <= list_width:
        return ""  # too narrow for the list: nothing the app shows can be told
    if list_width:  # list mode: the list, and the first process's pane beside it
        for y in range(height - 1):
            row: Segments = []
            if y < len(processes):
                proc = processes[y]
                label, kind = proc.label()
                row = [("●", BULLETS.get(kind, "2")), (f" {proc.name} {label}", "")]
            out.append(_at(0, y, _fit(row, list_width - 1, colour) + "▕"))
        shown = [(0, processes[0])]
    else:
        shown = list(enumerate(processes))
    for (index, proc), box in zip(shown, boxes, strict=False):
        label, kind = proc.label()
        number = f"{index + 1} " if index < 9 else ""
        header = [(" ", ""), (number, "2"), (proc.name, "1"), (" ", "")]
        header.append((f" {label} ", BADGES.get(kind, "2")))
        out.append(_at(box.x, box.y, _fit(header, box.width, colour)))
        rows = box.height - 2  # (the header, and the line under the output)
        lines = proc.buffer.tail(rows) if rows > 0 else []
        for i in range(max(rows, 0)):
            text = strip_controls(lines[i]).expandtabs(8) if i < len(lines) else ""
            out.append(_at(box.x, box.y + 1 + i, _fit([(text, "")], box.width, colour)))
        if box.height > 1:  # the view follows the output, as the app's does at first
            following = _fit([(" following", "2")], box.width, colour)
            out.append(_at(box.x, box.y + box.height - 1, following))
    return "".join(out)


def _at(x: int, y: int, text: str) -> str:
    return f"\x1b[{y + 1};{x + 1}H{text}"


def _fit(segments: Segments, width: int, colour: bool) -> str:
    """*segments* in exactly *width* cells: cut, or padded with spaces."""
    out: list[str] = []
    left = width
    for text, style in segments:
        used = cell_len(text)
        if used > left:
            text, used = set_cell_size(text, left), left
        left -= used
        if not colour and style not in ("1", "2"):  # bold and dim are not colours
            style = ""
        out.append(f"\x1b[{style}m{text}{RESET}" if style and text else text)
    out.append(" " * left)
    return "".join(out)
