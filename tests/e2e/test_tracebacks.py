"""End to end: the Django demo's /boom/ view raises; in the terminal UI the traceback is a
block that ``[`` jumps to and ``E`` opens in the editor (a stub that records its arguments)."""

from __future__ import annotations

import re
import stat
import urllib.error
import urllib.request

import pytest

from tests.e2e.test_demo import READY, ROOT, Demo, no_leftovers
from tests.helpers import wait_for
from tests.tmux import Tmux, needs_tmux, tuirunner_command

pytest.importorskip("django", reason="the demo needs: pip install -e '.[demo]'")
pytestmark = pytest.mark.slow


@pytest.fixture
def demo(tmp_path):
    d = Demo(tmp_path)
    yield d
    d.cleanup()


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@needs_tmux
def test_a_view_that_raises_gives_a_traceback_block_jumped_to_and_opened(demo, tmp_path):
    record = tmp_path / "editor-args.txt"
    editor = tmp_path / "stub-editor"
    editor.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {record}\n')
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    env = {**demo.shell_env(), "EDITOR": str(editor)}
    with Tmux(tuirunner_command(*demo.args()), ROOT, width=200, height=50, env=env) as term:
        term.wait_for(READY, timeout=60)
        assert get(demo.web + "boom/") == 500
        term.wait_for("ValueError: boom: this view raises on purpose", timeout=30)
        wait_for(
            lambda: re.search(r"web\.1\s+running\s+✖ error \d\d:\d\d:\d\d", term.screen()),
            15,
            message="web.1's header to say it logged an error",
        )
        for _ in range(40):  # push the traceback out of sight
            assert get(demo.web) == 200
        wait_for(
            lambda: "Internal Server Error: /boom/" not in term.screen(),
            30,
            message="the traceback scrolled out of web.1's pane",
        )
        term.send("1", "[")  # web's pane; the previous traceback
        term.wait_for("Internal Server Error: /boom/", timeout=15)
        # It stopped following to show it (the bar under the output may come a frame later).
        term.wait_for("End to follow", timeout=15)
        term.send("E")
        # The stub's redirect creates the file before it writes: wait for its two lines.
        wait_for(
            lambda: record.exists() and len(record.read_text().splitlines()) == 2,
            30,
            message="the editor to run",
        )
        line, path = record.read_text().splitlines()
        assert path == str(ROOT / "example" / "greetings" / "views.py")
        source = (ROOT / "example" / "greetings" / "views.py").read_text().splitlines()
        assert "raise ValueError" in source[int(line.lstrip("+")) - 1]
        term.wait_for("Internal Server Error: /boom/", timeout=15)  # the UI is back
        term.send("q")
        assert term.exit_status(timeout=60) == 0
    no_leftovers(demo)
