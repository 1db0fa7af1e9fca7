"""Applying migrations in a project with no ``release`` oneshot (issue 20): ``migrate`` adds a
process running the ``manage.py migrate`` of the runserver's command to the run (issue 19's Add),
and the mark clears once it completed. A stand-in manage.py prints what Django prints."""

from __future__ import annotations

import json

from tests.helpers import PYTHON, run_cli, wait_for, write_files

MANAGE = """\
import sys, time, pathlib
if sys.argv[1] == "runserver":
    if not pathlib.Path("applied").exists():
        print("You have 1 unapplied migration(s). Your project may not work properly until you "
              "apply the migrations for app(s): polls.", flush=True)
        print("Run 'python manage.py migrate' to apply them.", flush=True)
    print("Starting development server at http://127.0.0.1:%s/" % sys.argv[2], flush=True)
    time.sleep(600)
elif sys.argv[1:] == ["migrate", "--noinput"]:
    print("  Applying polls.0001_initial... OK", flush=True)
    pathlib.Path("applied").write_text("yes")
"""


def ps(root) -> dict[str, dict]:
    result = run_cli(["ps", "--json"], root)
    return {p["name"]: p for p in json.loads(result.stdout)} if result.returncode == 0 else {}


def test_migrate_adds_a_process_running_migrate_and_the_mark_clears(tmp_path):
    write_files(
        tmp_path,
        {"manage.py": MANAGE, "Procfile": f"web: {PYTHON} manage.py runserver $PORT\n"},
    )
    assert run_cli(["start", "-D", "-t", "2"], tmp_path).returncode == 0
    try:
        wait_for(
            lambda: (ps(tmp_path).get("web.1", {}).get("migrations") or "").startswith(
                "1 unapplied"
            ),
            timeout=30,
            message="the web pane marked",
        )
        result = run_cli(["migrate"], tmp_path)  # as M in the UI
        assert result.returncode == 0, result.stderr
        assert "started migrate" in result.stdout and "manage.py migrate --noinput" in result.stdout
        wait_for(lambda: (tmp_path / "applied").exists(), timeout=30, message="migrate run")
        # A process of the run (its own pane), completed; the mark gone.
        wait_for(
            lambda: ps(tmp_path).get("migrate.1", {}).get("exit_code") == 0,
            timeout=30,
            message="migrate.1 exited 0",
        )
        wait_for(
            lambda: ps(tmp_path)["web.1"].get("migrations") is None,
            timeout=30,
            message="the mark cleared",
        )
    finally:
        run_cli(["down"], tmp_path)


def test_migrate_names_an_unknown_process_and_a_run_without_django(tmp_path):
    write_files(tmp_path, {"Procfile": "web: sleep 600\nrelease: echo done\n"})
    (tmp_path / "tuirunner.toml").write_text("[processes.release]\noneshot = true\n")
    assert run_cli(["start", "-D", "-t", "2"], tmp_path).returncode == 0
    try:
        unknown = run_cli(["migrate", "nosuch"], tmp_path)
        assert unknown.returncode == 1
        assert "unknown process 'nosuch'; this run has web.1, release.1" in unknown.stderr
    finally:
        run_cli(["down"], tmp_path)
    write_files(tmp_path, {"Procfile": "web: sleep 600\n", "tuirunner.toml": ""})
    assert run_cli(["start", "-D", "-t", "2"], tmp_path).returncode == 0
    try:
        none = run_cli(["migrate"], tmp_path)  # no manage.py anywhere: nothing to run
        assert none.returncode == 1 and "no Django migrations to apply here" in none.stderr
        assert "migrate.1" not in run_cli(["ps"], tmp_path).stdout
    finally:
        run_cli(["down"], tmp_path)
