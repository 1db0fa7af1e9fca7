"""``tuirunner init`` reads the variables a settings module reads, in each style, with ast."""

from pathlib import Path

import pytest

from tuirunner.scaffold.envreads import scan_files, scan_source
from tuirunner.scaffold.plan import dev_value, ignores_env


def reads(source: str) -> dict:
    return {r.name: r for r in scan_source(source, Path("settings.py"))}


def test_os_environ_styles():
    found = reads(
        "import os\nfrom os import getenv, environ as ENV\n"
        'SECRET_KEY = os.environ["SECRET_KEY"]\n'
        'DEBUG = os.environ.get("DEBUG", "0") == "1"\n'
        'HOST = os.getenv("DB_HOST", "localhost")\n'
        'NAME = getenv("DB_NAME")\n'
        'X = ENV["X_TOKEN"]\n'
        'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")\n'
        'os.environ["WRITTEN"] = "1"\n'
    )
    assert set(found) == {"SECRET_KEY", "DEBUG", "DB_HOST", "DB_NAME", "X_TOKEN"}
    assert found["SECRET_KEY"].required and found["SECRET_KEY"].line == 3
    assert not found["DEBUG"].required and found["DEBUG"].compared_to == "1"
    assert dev_value(found["DEBUG"]) == "1"
    assert found["DB_HOST"].default == "localhost"
    assert found["X_TOKEN"].required


def test_django_environ_style():
    found = reads(
        "import environ\n"
        "env = environ.Env(DEBUG=(bool, False), ALLOWED_HOSTS=(list, []))\n"
        "environ.Env.read_env()\n"
        'SECRET_KEY = env("SECRET_KEY")\n'
        'DEBUG = env("DEBUG")\n'
        'REDIS = env.str("REDIS_URL", default="redis://localhost")\n'
        "DATABASES = {'default': env.db()}\n"
        'CACHES = {"default": env.cache("MY_CACHE_URL")}\n'
    )
    assert set(found) == {
        "DEBUG",
        "ALLOWED_HOSTS",
        "SECRET_KEY",
        "REDIS_URL",
        "DATABASE_URL",
        "MY_CACHE_URL",
    }
    assert found["DEBUG"].cast == "bool" and found["DEBUG"].default == "False"
    assert found["SECRET_KEY"].required and found["DATABASE_URL"].required
    assert not found["REDIS_URL"].required
    assert dev_value(found["DEBUG"]) == "True"


def test_decouple_style():
    found = reads(
        "from decouple import config, Csv\n"
        'SECRET_KEY = config("SECRET_KEY")\n'
        'DEBUG = config("DEBUG", default=False, cast=bool)\n'
        'ALLOWED_HOSTS = config("ALLOWED_HOSTS", cast=Csv())\n'
    )
    assert set(found) == {"SECRET_KEY", "DEBUG", "ALLOWED_HOSTS"}
    assert found["DEBUG"].cast == "bool" and not found["DEBUG"].required
    assert found["ALLOWED_HOSTS"].required
    assert dev_value(found["ALLOWED_HOSTS"]) == "localhost,127.0.0.1"


def test_decouple_autoconfig_and_module():
    found = reads(
        "import decouple\nfrom decouple import AutoConfig\nconfig = AutoConfig(search_path='.')\n"
        'A = config("A_KEY")\nB = decouple.config("B_KEY", default="b")\n'
    )
    assert found["A_KEY"].required and not found["B_KEY"].required


def test_unrelated_calls_are_not_reads():
    found = reads(
        'import json\nconfig = {}\nX = config.get("NOT_ENV")\nY = json.loads("{}")\n'
        'def get(k): return k\nZ = get("ALSO_NOT")\n'
    )
    assert found == {}


def test_a_file_that_is_not_python_is_reported(tmp_path: Path):
    bad = tmp_path / "settings.py"
    bad.write_text("SECRET_KEY = os.environ['A'\n")
    good = tmp_path / "base.py"
    good.write_text("import os\nA = os.environ['A']\nB = os.getenv('B', 'x')\n")
    found, problems = scan_files([good, bad])
    assert [r.name for r in found] == ["A", "B"]
    assert len(problems) == 1 and "settings.py:1" in problems[0]


@pytest.mark.parametrize(
    ("gitignore", "ignored"),
    [
        (".env\n", True),
        ("/.env\n", True),
        (".env*\n", True),
        ("*.pyc\n", False),
        ("# .env\n", False),
        ("", False),
    ],
)
def test_gitignore_detection(gitignore, ignored):
    assert ignores_env(gitignore) is ignored
