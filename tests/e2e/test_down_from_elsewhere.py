"""``tuirunner down`` from another terminal: the run's UI (in tmux) says who stopped it as it
exits (issue 22); the plain front end: tests/integration/test_down_reason.py."""

import shlex
import subprocess

import pytest

from tests.helpers import PYTHON, TUIRUNNER, assert_no_leftovers, clean_env
from tests.tmux import Tmux, needs_tmux, tuirunner_command

PY = shlex.quote(PYTHON)


def procfile(tmp_path, mark: str) -> None:
    (tmp_path / "Procfile").write_text(
        f"web: exec {PY} -c 'import time; print(\"web up\", flush=True); time.sleep(600)' {mark}\n"
    )


def down(tmp_path) -> int:
    """``tuirunner down`` as another terminal runs it; its pid."""
    proc = subprocess.Popen(
        [TUIRUNNER, "down"], cwd=tmp_path, env=clean_env(), stderr=subprocess.PIPE, text=True
    )
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    return proc.pid


@pytest.mark.slow
@needs_tmux
def test_the_ui_says_who_stopped_it(tmp_path, mark):
    procfile(tmp_path, mark)
    with Tmux(tuirunner_command(), tmp_path, width=80, height=24) as term:
        term.wait_for("web up")
        pid = down(tmp_path)
        assert term.exit_status() == 0
        term.wait_for(f"tuirunner: stopped by tuirunner down (from pid {pid})")
    assert_no_leftovers(mark)
