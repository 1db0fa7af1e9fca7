"""The real ``tuirunner`` command against the breakages of issue 24 ("Hardening, round two"):
deeply nested TOML, escapes through error messages, env-file interpolation that would exhaust
memory, settings without floors."""

import pytest

from tests.helpers import run_cli, write_files

DEEP = "[" * 900 + "]" * 900


@pytest.mark.parametrize(
    "command", [[], ["check"], ["env"], ["run", "true"], ["export", "systemd", "out"]]
)
def test_deeply_nested_toml_is_one_line_in_every_command(tmp_path, command):
    write_files(
        tmp_path,
        {"Procfile": "web: true\n", "pyproject.toml": f'[project]\nname = "x"\nx = {DEEP}\n'},
    )
    result = run_cli(command, tmp_path, timeout=30)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "tuirunner: error: pyproject.toml: invalid TOML: nested too deeply"
    ]
