"""End to end with a real Django: a project made by startproject and ``tuirunner init``, a model
added and ``makemigrations`` run while runserver runs; the web pane says the migration is
unapplied, ``M`` applies it (the release oneshot), and the mark goes."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import clean_env, free_port_block, run_cli, wait_for
from tests.tmux import Tmux, needs_tmux, tuirunner_command

pytest.importorskip("django")
pytestmark = [pytest.mark.slow, needs_tmux]

MODEL = (
    "from django.db import models\n\n\n"
    "class Question(models.Model):\n    text = models.CharField(max_length=50)\n"
)


def shell_env() -> dict[str, str]:
    env = clean_env()
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def applied(root: Path) -> list[str]:
    db = root / "db.sqlite3"
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
    try:
        rows = conn.execute("SELECT name FROM django_migrations WHERE app = 'polls'").fetchall()
    except sqlite3.OperationalError:  # locked while migrate writes
        return []
    finally:
        conn.close()
    return [r[0] for r in rows]


def test_an_unapplied_migration_is_marked_and_applied_with_one_key(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    env = shell_env()
    django = [sys.executable, "-m", "django"]
    subprocess.run([*django, "startproject", "mysite", str(root)], check=True, env=env)
    subprocess.run([sys.executable, "manage.py", "startapp", "polls"], cwd=root, check=True)
    settings = root / "mysite" / "settings.py"
    settings.write_text(
        settings.read_text().replace("INSTALLED_APPS = [\n", "INSTALLED_APPS = [\n    'polls',\n")
    )
    assert run_cli(["init"], root, env=env).returncode == 0
    base = free_port_block()
    with Tmux(tuirunner_command("-p", str(base)), root, env=env) as term:
        term.wait_for("ready", timeout=90)  # release migrated, runserver listens
        # runserver's StatReloader notes the files' times on its first tick (1 s after it
        # starts): a change before that goes unseen. Not a timing assertion: a setup wait.
        time.sleep(2.5)
        (root / "polls" / "models.py").write_text(MODEL)
        subprocess.run(
            [sys.executable, "manage.py", "makemigrations", "polls"], cwd=root, env=env, check=True
        )
        term.wait_for("1 unapplied migration (polls)", timeout=60)
        term.wait_for("M Migrate")  # the key is offered in the footer (its next frame, maybe)
        assert applied(root) == []
        term.send("M")
        term.wait_for("restarting release.1")  # the notification
        # The database is read only once migrate has finished: a reader polling it meanwhile
        # could hold the lock migrate needs.
        wait_for(  # the header's mark (runserver's own line stays in its output)
            lambda: "1 unapplied migration (polls)" not in term.screen(),
            timeout=60,
            interval=0.5,
            message="the mark gone",
        )
        assert re.search(r"release\.1\s+completed", term.screen())  # a row, or its pane
        assert applied(root) == ["0001_initial"]
        result = run_cli(["ps"], root, env=env)
        assert "unapplied" not in result.stdout and "web.1" in result.stdout
        term.send("q")
        assert term.exit_status(60) == 0
