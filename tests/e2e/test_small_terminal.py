"""At 80×24 in a real terminal (tmux), with five processes (issue 22): the key bar keeps
`d Detach` and `q Quit`, and the completed oneshot gives its pane back as a one-line row."""

import shlex

import pytest

from tests.helpers import PYTHON, assert_no_leftovers
from tests.tmux import Tmux, needs_tmux, tuirunner_command

pytestmark = [pytest.mark.slow, needs_tmux]
PY = shlex.quote(PYTHON)


def test_five_processes_at_80_by_24(tmp_path, mark):
    sleeper = f"exec {PY} -c 'import time; print(\"up\", flush=True); time.sleep(600)' {mark}"
    (tmp_path / "Procfile").write_text(
        "release: echo migrated\n"
        + "".join(f"{name}: {sleeper}\n" for name in ("web", "worker", "mail", "beat"))
    )
    (tmp_path / "tuirunner.toml").write_text("[processes.release]\noneshot = true\n")
    with Tmux(tuirunner_command(), tmp_path, width=80, height=24) as term:
        screen = term.wait_for("1 release.1 completed")
        last = screen.rstrip().splitlines()[-1]
        assert "d Detach" in last and "q Quit" in last, screen
        assert "migrated" not in screen  # its pane gave its space back
        term.send("1")  # on focus it comes back
        term.wait_for("migrated")
        term.send("q")
        assert term.exit_status() == 0
    assert_no_leftovers(mark)
