"""A line of child output as the output view shows it: colours kept, nothing else.

Child output is never parsed as markup: ``[bold]`` in a log line is shown as it is.
"""

from __future__ import annotations

import re

from rich.ansi import AnsiDecoder
from rich.cells import cell_len
from rich.text import Text

from tuirunner.output import ANSI_ESCAPE, collapse_cr, strip_ansi

# C0 controls other than TAB and ESC, DEL, and C1 controls: never send them to the terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1a\x1c-\x1f\x7f-\x9f]")
_SGR = re.compile(r"\x1b\[[0-9;:]*m")


def _keep_sgr(match: re.Match[str]) -> str:
    return match.group() if _SGR.fullmatch(match.group()) else ""


def cells(plain: str) -> int:
    """The cells *plain* takes on screen. Printable ASCII takes one a character, counted
    without rich's ``cell_len``, whose cache of the last 4,096 strings measured would keep
    that many lines of a flood alive (~0.8 MB that the window's memory grew by)."""
    return len(plain) if plain.isascii() and plain.isprintable() else cell_len(plain)


def line_to_text(raw: str) -> Text:
    """A buffer line as styled text: ANSI colours decoded, controls removed, tabs expanded.

    Only colour (SGR) sequences survive: a child must not be able to reset, retitle or move
    the cursor of the user's terminal through the app.
    """
    if "\r" in raw:
        raw = collapse_cr(raw)
    if "\x1b" in raw:
        raw = ANSI_ESCAPE.sub(_keep_sgr, raw)
    if _CONTROL.search(raw):
        raw = _CONTROL.sub("", raw)
    text = AnsiDecoder().decode_line(raw) if "\x1b" in raw else Text(raw)
    if "\t" in raw:
        text.expand_tabs()
    return text


def plain_line(raw: str) -> str:
    """What a line shows, as plain text (for search and copy)."""
    if "\r" in raw:
        raw = collapse_cr(raw)
    raw = strip_ansi(raw)
    if _CONTROL.search(raw):
        raw = _CONTROL.sub("", raw)
    return raw.expandtabs() if "\t" in raw else raw
