"""End to end: the real ``tuirunner`` command in a real terminal (tmux)."""

import re
import shlex
import sys
import time

import psutil
import pytest

from tests.helpers import (
    PYTHON,
    TUIRUNNER,
    archivers_mapped,
    assert_no_leftovers,
    bytecode_env,
    keepers_of,
    openssl_mapped,
    processes_with,
    run_cli,
)
from tests.helpers import wait_for as wait
from tests.tmux import Tmux, needs_tmux, tuirunner_command
from tuirunner.tui.driver import WATCHFUL

pytestmark = [pytest.mark.slow, needs_tmux]
PY = shlex.quote(PYTHON)


def procfile(tmp_path, mark: str) -> None:
    # web re-spawns a child like runserver's autoreloader; worker prints and waits.
    (tmp_path / "Procfile").write_text(
        f'web: {PY} -c \'import subprocess, sys; print("web ready", flush=True); '
        f'subprocess.run([sys.executable, "-c", "import time; time.sleep(600)", "{mark}"])\''
        f" {mark}\n"
        f"worker: {PY} -c 'import time; print(\"worker ready\", flush=True); time.sleep(600)' "
        f"{mark}\n"
    )


def pid_of(screen: str, name: str) -> int | None:
    """The pid shown in the title of a running process, or None (e.g. while restarting)."""
    match = re.search(rf"{re.escape(name)}\s+running(?:(?!Restart).)*?pid (\d+)", screen)
    return int(match.group(1)) if match else None


def test_restart_shows_a_new_pid_and_quit_leaves_nothing(tmp_path, mark):
    procfile(tmp_path, mark)
    with Tmux(tuirunner_command(), tmp_path) as term:
        term.wait_for("web ready")
        term.wait_for("worker ready")
        screen = term.wait_for("q Quit")  # the footer
        assert "Restart" in screen
        first = pid_of(screen, "web.1")
        worker = pid_of(screen, "worker.1")
        assert first and worker, screen
        term.send("r")  # the focused pane is web.1
        wait(
            lambda: pid_of(term.screen(), "web.1") not in (None, first),
            30,
            message="a new pid on screen",
        )
        screen = term.screen()
        assert "↻ 1" in screen
        assert pid_of(screen, "worker.1") == worker
        term.send("q")
        assert term.exit_status() == 0
    assert_no_leftovers(mark)


def test_with_optimized_bytecode_the_window_and_the_keeper_run_without_docstrings(tmp_path, mark):
    """Where the -OO bytecode is there (tuirunner/bytecode.py), the window runs itself again
    under -OO first thing (tuirunner/entry.py) and starts its keeper so; both work as usual."""
    app = tmp_path / "app"
    app.mkdir()
    procfile(app, mark)
    env = bytecode_env(tmp_path / "pycache", warm=True)
    with Tmux(tuirunner_command(), app, env=env) as term:
        term.wait_for("worker ready")
        screen = term.wait_for("q Quit")
        pane = psutil.Process(term.pane_pid())
        windows = [p for p in [pane, *pane.children(True)] if "--tui" in p.cmdline()]
        assert len(windows) == 1, windows  # (executed again: the same process)
        assert windows[0].cmdline()[1:3] == ["-OO", TUIRUNNER]
        (keeper,) = keepers_of(app)
        assert keeper.cmdline()[1] == "-OO"
        first = pid_of(screen, "web.1")
        term.send("r")
        wait(
            lambda: pid_of(term.screen(), "web.1") not in (None, first),
            30,
            message="a new pid on screen",
        )
        term.send("q")
        assert term.exit_status() == 0
    assert_no_leftovers(mark)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/PID/maps")
def test_the_window_runs_without_openssl_bzip2_or_xz(tmp_path, mark):
    """asyncio and hashlib without OpenSSL's ~4.5 MB, shutil without bz2 and lzma
    (tuirunner/lean_imports.py); the keeper's side is tests/integration/test_lean_imports.py."""
    procfile(tmp_path, mark)
    with Tmux(tuirunner_command(), tmp_path) as term:
        term.wait_for("worker ready")
        term.wait_for("q Quit")
        pane = psutil.Process(term.pane_pid())
        windows = [p for p in [pane, *pane.children(True)] if "--tui" in p.cmdline()]
        assert len(windows) == 1, windows
        assert openssl_mapped(windows[0].pid) == []
        assert archivers_mapped(windows[0].pid) == []
        term.send("q")
        assert term.exit_status() == 0
    assert_no_leftovers(mark)


def test_keys_after_an_idle_spell(tmp_path, mark):
    """The keyboard thread sleeps while no key is pressed (tui/driver.py): after a while
    without input, a lone Escape (told from an escape sequence by a timeout) and a quit (which
    must wake the thread to stop it) still work."""
    procfile(tmp_path, mark)
    with Tmux(tuirunner_command(), tmp_path) as term:
        term.wait_for("worker ready")
        term.wait_for("q Quit")
        term.send("2", "z")  # zoom in on worker.1: web.1's pane is gone from the screen
        wait(lambda: "web.1" not in term.screen(), message="the zoomed pane alone")
        time.sleep(2 * WATCHFUL)  # long enough for the thread to stop waking up
        term.send("Escape")
        wait(lambda: "web.1" in term.screen(), message="Escape to leave the zoom")
        time.sleep(2 * WATCHFUL)
        term.send("q")
        assert term.exit_status() == 0
    assert_no_leftovers(mark)


# With PYTHONUNBUFFERED=1 (common in containers), Textual's writer thread dies on the first write
# to the hung-up terminal and its shutdown then blocks: tuirunner must exit all the same.
@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "PYTHONUNBUFFERED"])
def test_closing_the_terminal_leaves_no_process(tmp_path, mark, unbuffered):
    procfile(tmp_path, mark)
    # A chatty process too: the terminal vanishing while the UI is painting is the hard case.
    with (tmp_path / "Procfile").open("a") as f:
        f.write(
            f"chatty: {PY} -u -c 'import itertools, time; [print(i) or time.sleep(0.001) "
            f"for i in itertools.count()]' {mark}\n"
        )
    env = {"PYTHONUNBUFFERED": "1"} if unbuffered else {}
    with Tmux(tuirunner_command("-t", "2"), tmp_path, env=env) as term:
        term.wait_for("worker ready")
        wait(lambda: len(processes_with(mark)) >= 4, message="processes up")
        runner = [
            p
            for p in psutil.Process(term.pane_pid()).children()
            if "tuirunner" in " ".join(p.cmdline())
        ]
        assert len(runner) == 1
        term.kill_session()  # the terminal goes away: tuirunner gets SIGHUP
        assert_no_leftovers(mark, timeout=20)
        wait(
            lambda: not runner[0].is_running() or runner[0].status() == psutil.STATUS_ZOMBIE,
            20,
            message="tuirunner itself to exit",
        )


def test_plain_mode_in_a_terminal_with_no_tui(tmp_path, mark):
    procfile(tmp_path, mark)
    command = shlex.join([*shlex.split(tuirunner_command()), "--no-tui"])
    with Tmux(command, tmp_path, width=120, height=30) as term:
        screen = term.wait_for("worker.1 | worker ready")
        assert re.search(r"\d\d:\d\d:\d\d system   \| web\.1 started \(pid=\d+\)", screen)
        term.send("C-c")
        assert term.exit_status() == 130
    assert_no_leftovers(mark)


def test_the_key_bar_offers_u_while_a_process_runs_with_an_old_environment(tmp_path, mark):
    procfile(tmp_path, mark)
    (tmp_path / ".env").write_text("GREETING=hello\n")
    with Tmux(tuirunner_command(), tmp_path) as term:
        term.wait_for("worker ready")
        term.wait_for("q Quit")
        assert "Restart stale" not in term.screen()
        (tmp_path / ".env").write_text("GREETING=bonjour\n")
        term.wait_for("u Restart stale")  # the keeper looks at env files once a second
        term.send("u")
        # Both restarted with the new environment: the key is no longer offered.
        wait(lambda: "Restart stale" not in term.screen(), 30, message="u no longer offered")
        term.send("q")
        assert term.exit_status() == 0
    assert_no_leftovers(mark)


def test_a_pane_picked_and_searched_in_one_go_leaves_the_keys_in_the_search_bar(tmp_path, mark):
    # "2/" typed together: the pick's focus lands before the search bar's, not after it.
    procfile(tmp_path, mark)
    with Tmux(tuirunner_command(), tmp_path) as term:
        term.wait_for("worker ready")
        term.wait_for("q Quit")
        term.send("2/")
        term.wait_for("esc Close search")  # the key bar of a focused search bar
        term.send("Escape")
        term.wait_for("q Quit")
        term.send("q")
        assert term.exit_status() == 0
    assert_no_leftovers(mark)


def test_attach_shows_the_error_mark_of_a_traceback_logged_before(tmp_path, mark):
    # The traceback came while no UI was attached: the pane attached later is marked all the
    # same (what came before is not new, but it is still an error since the last reload).
    (tmp_path / "tb.py").write_text(
        "import sys, time, traceback\n"
        "try:\n    1 / 0\nexcept ZeroDivisionError:\n    traceback.print_exc()\n"
        "print('logged', flush=True)\ntime.sleep(600)\n"
    )
    (tmp_path / "Procfile").write_text(f"web: {PY} -u tb.py {mark}\n")
    assert run_cli(["start", "-D"], tmp_path).returncode == 0
    try:
        wait(lambda: "logged" in run_cli(["logs"], tmp_path).stdout, message="the traceback")
        with Tmux(tuirunner_command("attach"), tmp_path) as term:
            term.wait_for("ZeroDivisionError")
            term.wait_for("✖ error")
            term.send("q")
            assert term.exit_status() == 0
    finally:
        run_cli(["down"], tmp_path)
    assert_no_leftovers(mark)
