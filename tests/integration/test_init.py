"""``tuirunner init`` against real projects made by ``django-admin startproject``."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import Runner, clean_env, free_port_block, run_cli, wait_for

pytest.importorskip("django")


def startproject(root: Path, name: str = "mysite") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "django", "startproject", name, str(root)], check=True)
    return root


def settings_of(root: Path, name: str = "mysite") -> Path:
    return root / name / "settings.py"


def add_apps(root: Path, *apps: str) -> None:
    path = settings_of(root)
    text = path.read_text()
    extra = "".join(f"    {app!r},\n" for app in apps)
    path.write_text(text.replace("INSTALLED_APPS = [\n", "INSTALLED_APPS = [\n" + extra, 1))


def init(root: Path, *args: str) -> subprocess.CompletedProcess:
    result = run_cli(["init", *args], root)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def check(root: Path) -> str:
    result = run_cli(["check"], root)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stderr


WORKERS = [
    # (library, how the project says it uses it, the worker line expected)
    (
        "celery",
        {"requirements.txt": "Django>=5\ncelery[redis]>=5.3  # tasks\n"},
        None,
        "worker: celery -A mysite worker -l info",
    ),
    ("django-rq", {}, ("django_rq",), "worker: python manage.py rqworker default"),
    (
        "huey",
        {"pyproject.toml": '[project]\nname = "x"\ndependencies = ["huey>=2.5"]\n'},
        None,
        "worker: python manage.py run_huey",
    ),
    (
        "django-tasks",
        {"requirements/base.txt": "django-tasks-db==0.13\n"},
        None,
        "worker: python manage.py db_worker",
    ),
    (
        "django-tasks (INSTALLED_APPS)",
        {},
        ("django_tasks", "django_tasks_db"),
        "worker: python manage.py db_worker",
    ),
]


@pytest.mark.parametrize(("library", "files", "apps", "line"), WORKERS, ids=[w[0] for w in WORKERS])
def test_init_finds_the_worker_library(tmp_path, library, files, apps, line):
    root = startproject(tmp_path / "p")
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    if apps:
        add_apps(root, *apps)
    out = init(root).stdout
    assert f"worker {library.split(' ')[0]}" in out
    procfile = (root / "Procfile").read_text()
    assert line in procfile.splitlines()
    assert "web: python manage.py runserver $PORT" in procfile
    assert procfile.strip().splitlines()[-1] == "release: python manage.py migrate --noinput"
    if (root / "pyproject.toml").exists():
        settings = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["tuirunner"]
        assert not (root / "tuirunner.toml").exists()
    else:
        settings = tomllib.loads((root / "tuirunner.toml").read_text())
    processes = settings["processes"]
    assert processes["release"]["oneshot"] is True
    assert processes["worker"]["depends_on"] == {"release": "completed"}
    assert processes["web"]["depends_on"] == {"release": "completed"}
    assert "web, worker, release" in check(root)
    assert "Next: `tuirunner check`" in out


def test_no_worker_no_env_reads(tmp_path):
    root = startproject(tmp_path / "p")
    out = init(root).stdout
    assert (root / "Procfile").read_text().count(":") >= 2
    assert "\nworker:" not in (root / "Procfile").read_text()
    assert not (root / ".env").exists() and not (root / ".env.example").exists()
    assert "read no environment variable" in out
    check(root)


def test_frontend_script(tmp_path):
    root = startproject(tmp_path / "p")
    (root / "package.json").write_text('{"scripts": {"build": "x", "watch": "vite build -w"}}')
    init(root)
    assert "frontend: npm run watch" in (root / "Procfile").read_text()
    check(root)


SETTINGS_STYLES = {
    "os": (
        'SECRET_KEY = os.environ["SECRET_KEY"]\n'
        'DEBUG = os.environ.get("DEBUG", "0") == "1"\n'
        'ALLOWED_HOSTS = os.getenv("ALLOWED_HOSTS", "localhost").split(",")\n',
        "import os\n",
        "DEBUG=1",
    ),
    "django-environ": (
        'SECRET_KEY = env("SECRET_KEY")\nDEBUG = env("DEBUG")\n'
        'ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost"])\n',
        "import environ\nenv = environ.Env(DEBUG=(bool, False))\n",
        "DEBUG=True",
    ),
    "decouple": (
        'SECRET_KEY = config("SECRET_KEY")\nDEBUG = config("DEBUG", default=False, cast=bool)\n'
        'ALLOWED_HOSTS = config("ALLOWED_HOSTS", default="localhost", cast=str.split)\n',
        "from decouple import config\n",
        "DEBUG=True",
    ),
    "getenv": (
        'SECRET_KEY = getenv("SECRET_KEY")\nDEBUG = getenv("DEBUG", "False") == "True"\n'
        'ALLOWED_HOSTS = ["localhost"]\n',
        "from os import getenv\n",
        "DEBUG=True",
    ),
}


def rewrite_settings(root: Path, style: str) -> None:
    reads, imports, _ = SETTINGS_STYLES[style]
    path = settings_of(root)
    lines = []
    for line in path.read_text().splitlines(keepends=True):
        if line.startswith(("SECRET_KEY =", "DEBUG =", "ALLOWED_HOSTS =")):
            continue
        lines.append(line)
    path.write_text(imports + "".join(lines) + reads)


@pytest.mark.parametrize("style", list(SETTINGS_STYLES))
def test_env_files_from_each_style(tmp_path, style):
    root = startproject(tmp_path / "p")
    rewrite_settings(root, style)
    out = init(root).stdout
    example = (root / ".env.example").read_text()
    assert "\nSECRET_KEY=\n" in example  # required: listed to fill in
    assert "# DEBUG=" in example  # has a default: commented out
    assert "ALLOWED_HOSTS" in example or style == "getenv"
    env = (root / ".env").read_text()
    secret = next(x for x in env.splitlines() if x.startswith("SECRET_KEY="))
    assert len(secret) > 40
    assert secret.split("=", 1)[1] not in out  # never printed
    assert "SECRET_KEY generated" in out
    assert SETTINGS_STYLES[style][2] in env.splitlines()
    assert (root / ".env").stat().st_mode & 0o077 == 0
    assert ".env" in (root / ".gitignore").read_text().splitlines()
    check(root)
    again = init(root).stdout  # nothing overwritten, and .gitignore not appended twice
    assert (root / ".env").read_text() == env
    assert (root / ".gitignore").read_text().count(".env") == 1
    assert "kept .env" in again and "Nothing was written" in again


def test_existing_procfile_and_pyproject_are_not_overwritten(tmp_path):
    root = startproject(tmp_path / "p")
    procfile = "web: gunicorn mysite.wsgi\nrelease: python manage.py migrate\n"
    pyproject = '[project]\nname = "mysite"\ndependencies = ["rq"]\n'
    (root / "Procfile").write_text(procfile)
    (root / "pyproject.toml").write_text(pyproject)
    (root / ".gitignore").write_text("*.pyc")
    out = init(root).stdout
    assert (root / "Procfile").read_text() == procfile
    assert "kept Procfile: it exists" in out
    assert "    | worker: python manage.py rqworker default" in out  # what it would write
    text = (root / "pyproject.toml").read_text()
    assert text.startswith(pyproject)  # appended to, never rewritten
    settings = tomllib.loads(text)["tool"]["tuirunner"]["processes"]
    assert set(settings) == {"release", "web"}  # only the types the kept Procfile has
    assert (root / ".gitignore").read_text() == "*.pyc"  # no env files: nothing to ignore
    check(root)
    before = (root / "pyproject.toml").read_text()
    out = init(root, "--force").stdout
    assert (root / "pyproject.toml").read_text() == before
    assert "[tool.tuirunner] table already" in out
    assert "worker: python manage.py rqworker default" in (root / "Procfile").read_text()
    check(root)


def test_dry_run_writes_nothing(tmp_path):
    root = startproject(tmp_path / "p")
    rewrite_settings(root, "os")
    before = sorted(p.name for p in root.iterdir())
    out = init(root, "--dry-run").stdout
    assert sorted(p.name for p in root.iterdir()) == before
    assert "would write Procfile" in out and "SECRET_KEY=•••• (generated)" in out
    assert "Nothing was written (--dry-run)" in out


def test_not_a_django_project(tmp_path):
    result = run_cli(["init"], tmp_path)
    assert result.returncode != 0
    assert "no manage.py" in result.stderr


@pytest.mark.slow
def test_what_init_writes_runs(tmp_path):
    """The files init writes start the project: release migrates, runserver answers."""
    root = startproject(tmp_path / "p")
    rewrite_settings(root, "os")
    init(root)
    base = free_port_block()
    venv = str(Path(sys.executable).parent)  # `python` in the Procfile: the one with Django
    env = clean_env(PATH=f"{venv}:{os.environ['PATH']}")
    with Runner(["--no-tui", "-p", str(base)], root, env=env) as run:
        run.wait_for_output("release.1 stopped (rc=0); completed", timeout=90)

        def answers():
            try:
                with urllib.request.urlopen(f"http://localhost:{base}/", timeout=5) as r:
                    return r.status == 200
            except OSError:
                return False

        wait_for(answers, timeout=60, interval=0.3, message="runserver answering")
        run.signal()
        run.wait()
    assert (root / "db.sqlite3").exists()
