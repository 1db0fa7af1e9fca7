"""``makemigrations_check = true`` with a real Django: a model without a migration marks the
runserver process (beside the unapplied migrations runserver reports), and the mark goes once
the migration exists (runserver's reload for the ``models.py`` change runs the check again)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import free_port_block, until
from tests.integration.test_policy import make

pytest.importorskip("django")
pytestmark = pytest.mark.slow

MODEL = (
    "from django.db import models\n\n\n"
    "class Question(models.Model):\n    text = models.CharField(max_length=50)\n"
)


def polls_run(root: Path, runserver: str, cleanup):
    """A Django project in *root* whose polls app has a model and no migration, run with
    ``makemigrations_check`` by a supervisor started here: ``web: python manage.py RUNSERVER``."""
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", "mysite", str(root)], check=True
    )
    subprocess.run([sys.executable, "manage.py", "startapp", "polls"], cwd=root, check=True)
    settings = root / "mysite" / "settings.py"
    settings.write_text(
        settings.read_text().replace("INSTALLED_APPS = [\n", "INSTALLED_APPS = [\n    'polls',\n")
    )
    (root / "polls" / "models.py").write_text(MODEL)
    sup = make(
        root,
        f"web: python manage.py {runserver}\n",
        {"makemigrations_check": True},
        base_port=free_port_block(),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    )
    cleanup(sup)
    sup.start_all()
    return sup


async def test_a_model_without_migration_is_marked_until_there_is_one(tmp_path, cleanup):
    root = tmp_path
    sup = polls_run(root, "runserver $PORT", cleanup)
    web = sup.get("web.1")
    # a fresh project: runserver reports the built-in apps' unapplied migrations, and the check
    # finds polls' model without one; the mark says both, whichever came first
    await until(
        lambda: "no migration" in (web.migrations or "") and "unapplied" in web.migrations, 90
    )
    assert web.migrations.endswith("; models changed, no migration (polls)")
    assert "models changed, no migration (polls)" in (web.detail() or "")
    subprocess.run([sys.executable, "manage.py", "makemigrations", "polls"], cwd=root, check=True)
    # runserver reloads for the new migration file and models.py; the check runs again then
    (root / "polls" / "models.py").write_text(MODEL + "\n")
    await until(lambda: "polls" not in sup.django.no_migration.get("web.1", ""), 90)
    await until(lambda: web.migrations is None or "unapplied" in web.migrations, 30)
    await sup.stop_all()


async def test_a_restart_runs_the_check_again(tmp_path, cleanup):
    # The migration made while runserver does not reload (models.py untouched since): r on the
    # process checks again, and the mark goes.
    root = tmp_path
    sup = polls_run(root, "runserver --noreload $PORT", cleanup)
    await until(lambda: "polls" in sup.django.no_migration.get("web.1", ""), 90)
    subprocess.run([sys.executable, "manage.py", "makemigrations", "polls"], cwd=root, check=True)
    await sup.restart("web.1")
    await until(lambda: "polls" not in sup.django.no_migration.get("web.1", ""), 90)
    await sup.stop_all()
