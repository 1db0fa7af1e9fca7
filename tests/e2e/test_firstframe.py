"""The first frame (tui/firstframe.py) in a real terminal (tmux), over a real keeper: drawn in
the alternate screen from what the keeper sends, left for the shell's screen if the app does not
come; and the whole launch: once a line is on the screen it stays, through the app's first
frame, and the shell's screen is back after the quit (pilot: tests/tui/test_firstframe.py)."""

import shlex
import subprocess
import sys
import textwrap
import time

import pytest

from tests.helpers import PYTHON, TUIRUNNER, assert_no_leftovers, clean_env
from tests.tmux import Tmux, needs_tmux, tuirunner_command
from tuirunner.tiling import pane_boxes

pytestmark = [pytest.mark.slow, needs_tmux]

PY = shlex.quote(PYTHON)

DRAW = textwrap.dedent(
    """
    import functools, os, shutil, sys, time
    from tuirunner.client import Client
    from tuirunner.tui.firstframe import FirstFrame

    root, go = sys.argv[1:]
    connect = functools.partial(Client.connect, root, env=True, early_env=True, skim=True)
    frame = FirstFrame(connect, shutil.get_terminal_size()).start()
    while not os.path.exists(go):
        time.sleep(0.05)
    client = frame.finish()
    frame.abandon()  # as after an error before the app's start
    print("handed over:", " ".join(p.name for p in client.processes))
    """
)


def procfile(tmp_path, mark: str) -> None:
    """Lines printed at once (by the shell), then processes marked for the leftover check."""
    sleep = f"exec {PY} -c 'import time; time.sleep(600)' {mark}"
    procfile = f"web: echo web up; {sleep}\nworker: echo working; {sleep}\n"
    (tmp_path / "Procfile").write_text(procfile)


def tuirunner(tmp_path, *args: str) -> None:
    subprocess.run([TUIRUNNER, *args], cwd=tmp_path, env=clean_env(), check=True, timeout=60)


def test_the_first_frame_shows_the_run_where_the_app_will_and_leaves_no_trace(tmp_path, mark):
    procfile(tmp_path, mark)
    (tmp_path / "draw.py").write_text(DRAW)
    tuirunner(tmp_path, "start", "--detach")
    try:
        go = tmp_path / "go"
        draw = shlex.join([sys.executable, "draw.py", str(tmp_path), str(go)])
        command = f"echo the shell was here; {draw}"
        with Tmux(command, tmp_path, width=100, height=20) as term:
            term.wait_for("web up")
            screen = term.wait_for("working").splitlines()  # (both lines stay, once drawn)
            assert "the shell was here" not in "\n".join(screen)  # the alternate screen
            _, (web, worker) = pane_boxes(2, 100, 19)
            assert screen[web.y].startswith(" 1 web.1  running")
            assert screen[web.y + 1].startswith("web up")
            assert screen[worker.y][worker.x :].startswith(" 2 worker.1  running")
            assert screen[worker.y + 1][worker.x :].startswith("working")
            go.touch()
            assert term.exit_status() == 0
            after = term.screen()
            assert "the shell was here" in after
            assert "handed over: web.1 worker.1" in after
            assert "web up" not in after  # the frame went with the alternate screen
    finally:
        tuirunner(tmp_path, "down")
    assert_no_leftovers(mark)


def test_a_line_once_shown_stays_through_the_app_start_and_the_shell_comes_back(tmp_path, mark):
    procfile(tmp_path, mark)
    command = f"echo the shell was here; {tuirunner_command()}"
    with Tmux(command, tmp_path, width=120, height=30) as term:
        screens = []
        deadline = time.monotonic() + 60
        while "Quit" not in (screens[-1] if screens else ""):  # the app's footer
            screens.append(term.screen())  # as fast as tmux answers
            assert time.monotonic() < deadline, "the app did not start"
        shown = [i for i, screen in enumerate(screens) if "web up" in screen]
        assert shown, screens[-1]
        # Every screen read since the line first showed has it: nothing blinked out.
        assert all("web up" in screen for screen in screens[shown[0] :])
        term.send("q")
        assert term.exit_status() == 0
        after = term.screen()
        assert after.splitlines()[0] == "the shell was here"
        assert "web up" not in after and "Quit" not in after
    assert_no_leftovers(mark)
