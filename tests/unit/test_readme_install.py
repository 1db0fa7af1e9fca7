"""The README's install commands are what CI runs word for word (.ci/wheel_smoke.py), and they
claim nothing about PyPI that is not true (issue 22)."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def block(name: str) -> str:
    return subprocess.check_output(
        [sys.executable, str(ROOT / ".ci" / "readme_command.py"), name], text=True
    ).strip()


def test_the_install_blocks_offer_pipx_and_uv_from_a_checkout_and_a_wheel():
    assert block("install") == "pipx install .                  # or: uv tool install ."
    wheel = block("install-wheel")
    assert wheel.startswith("pipx install dist/tuirunner-*.whl") and "uv tool install" in wheel


def test_the_readme_never_offers_an_install_from_pypi_as_working():
    text = (ROOT / "README.md").read_text()
    commands = re.findall(r"```sh\n(.*?)```", text, re.S)
    for command in commands:
        assert not re.search(r"(pipx|pip|uv tool) install tuirunner(\s|$)", command, re.M), command


def test_ci_runs_the_wheel_smoke():
    assert ".ci/wheel_smoke.py" in (ROOT / ".ci" / "run").read_text()
