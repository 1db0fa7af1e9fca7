"""The README's tool install, for real: a wheel built from a fresh clone, installed with its
dependencies (from PyPI) into a brand-new virtualenv, and the installed command run."""

import re
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.helpers import clean_env

ROOT = Path(__file__).resolve().parents[2]


def _run(args, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result


def _fresh_source(tmp_path: Path) -> Path:
    """A clone of this checkout's last commit (what a user gets), or the checkout itself when it
    is not a git repository (an unpacked sdist)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return ROOT
    clone = tmp_path / "clone"
    _run(["git", "clone", "--quiet", str(ROOT), str(clone)], timeout=120)
    return clone


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_the_wheel_installs_as_a_tool_and_runs(tmp_path):
    source = _fresh_source(tmp_path)
    wheels = tmp_path / "wheels"
    build = _run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w", str(wheels), str(source)],
        timeout=600,
    )
    license_warnings = [
        line
        for line in (build.stdout + build.stderr).splitlines()
        if re.search(r"licen[cs]e", line, re.I) and re.search(r"warn|deprecat", line, re.I)
    ]
    assert license_warnings == []
    (wheel,) = wheels.glob("tuirunner-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "tuirunner/tui/app.tcss" in names, (
        "the wheel lacks the .tcss stylesheets: see [tool.setuptools.package-data]"
    )
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), sorted(names)

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], timeout=900)
    tuirunner = env_dir / "bin" / "tuirunner"

    project = tmp_path / "project"
    project.mkdir()
    (project / "Procfile").write_text("web: python -m http.server $PORT\nworker: sleep 1\n")
    env = clean_env()
    env.pop("VIRTUAL_ENV", None)
    result = _run([str(tuirunner), "--version"], cwd=project, env=env, timeout=60)
    assert re.fullmatch(r"tuirunner \d+\.\d+\.\d+\n", result.stdout)
    result = _run([str(tuirunner), "check"], cwd=project, env=env, timeout=60)
    assert result.stderr == "Valid procfile detected (web, worker)\n"
    # A run works from the installed package: the guard and the keeper start from it.
    result = _run([str(tuirunner), "start", "--detach"], cwd=project, env=env, timeout=60)
    try:
        result = _run([str(tuirunner), "ps", "--json"], cwd=project, env=env, timeout=60)
        assert "web.1" in result.stdout
    finally:
        _run([str(tuirunner), "down"], cwd=project, env=env, timeout=60)
    # The installed package is the one in the new virtualenv, not this checkout.
    where = _run(
        [str(python), "-c", "import tuirunner; print(tuirunner.__file__)"], cwd=project, env=env
    )
    assert where.stdout.startswith(str(env_dir))
