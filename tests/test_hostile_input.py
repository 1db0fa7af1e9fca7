"""The real ``tuirunner`` command given hostile, broken or surprising input: escape sequences
in env files and in the children's output."""

import json
import re
from pathlib import Path

from tests.helpers import run_cli, run_in_pty, write_files
from tuirunner.secrets import MASK

ROOT = Path(__file__).resolve().parent.parent

# What a value must not do to the terminal it is shown in.
ESCAPES = "\x1b]0;pwned\x07\x1b[?1049h\x1b[?1000h\x1b[6n\x9b>c"
SPELLED = "\\x1b]0;pwned\\x07\\x1b[?1049h\\x1b[?1000h\\x1b[6n\\x9b>c"


def _no_raw_escapes_from_data(output: bytes) -> None:
    for seq in (b"\x1b]", b"\x07", b"\x1b[?1049h", b"\x1b[?1000h", b"\x1b[6n", b"\xc2\x9b"):
        assert seq not in output, seq


def _hostile_env(tmp_path: Path) -> None:
    (tmp_path / "Procfile").write_text("web: true\n")
    (tmp_path / ".env").write_bytes(
        f'TITLE={ESCAPES}\nLINES="one\\ntwo"\n\x1b]0;pwned\x07NAME=1\nBROKEN=\'{ESCAPES}\n'.encode()
    )


def test_env_text_output_spells_out_control_characters(tmp_path):
    _hostile_env(tmp_path)
    result = run_cli(["env", "--filter", "files"], tmp_path)
    assert result.returncode == 0, result.stderr
    _no_raw_escapes_from_data(result.stdout.encode())
    lines = result.stdout.splitlines()
    rows = dict(line.split(" = ", 1) for line in lines if not line.startswith("#"))
    assert {name.rstrip(): value for name, value in rows.items()} == {
        "TITLE": f"{SPELLED}  # .env:1",
        "LINES": "one\\ntwo  # .env:2",
        "\\x1b]0;pwned\\x07NAME": "1  # .env:3",
    }
    assert lines[-1] == (
        "# warning: .env:4: python-dotenv could not parse this statement; it is ignored: "
        f"BROKEN='{SPELLED}"
    )


def test_env_table_in_a_terminal_spells_out_control_characters(tmp_path):
    _hostile_env(tmp_path)
    status, output = run_in_pty(["env", "--filter", "files"], tmp_path)
    assert status == 0
    _no_raw_escapes_from_data(output)
    text = re.sub(rb"\x1b\[[0-9;]*m", b"", output).decode()  # Rich's own colours
    assert "\\x1b]0;pwned\\x07NAME" in text and "\\x1b]0;pwned\\x07\\x1b[?1049h" in text
    assert "one\\ntwo" in text


def test_check_and_start_warnings_spell_out_control_characters(tmp_path):
    _hostile_env(tmp_path)
    result = run_cli(["check"], tmp_path)
    assert result.returncode == 1
    _no_raw_escapes_from_data(result.stderr.encode())
    assert f"BROKEN='{SPELLED}" in result.stderr


def test_env_json_keeps_values_exact(tmp_path):
    _hostile_env(tmp_path)
    result = run_cli(["env", "--json", "--filter", "files"], tmp_path)
    _no_raw_escapes_from_data(result.stdout.encode())
    rows = {v["name"]: v for v in json.loads(result.stdout)["variables"]}
    assert rows["TITLE"]["value"] == ESCAPES and rows["LINES"]["value"] == "one\ntwo"


def test_plain_mode_on_a_terminal_passes_colours_only(tmp_path):
    write_files(
        tmp_path,
        {
            "Procfile": "web: printf '\\033]0;pwned\\007\\033[?1049h\\033[6n\\033[>c"
            "\\033[31mred\\033[0m\\tok\\n'\n"
        },
    )
    status, output = run_in_pty(["--no-tui"], tmp_path)
    assert status == 0
    assert b"\x1b[31mred\x1b[0m\tok" in output  # colours and tabs kept
    _no_raw_escapes_from_data(output)
    assert b"\x1b[>c" not in output
    status, output = run_in_pty(["--no-tui", "--no-color"], tmp_path)
    assert status == 0 and b"red\tok" in output and b"\x1b" not in output


# --- the demo ------------------------------------------------------------------------------------


def test_the_demo_environment_masks_only_its_secret_key():
    args = ["-f", "Procfile.example", "-e", "example/.env", "env", "--json"]
    masked = json.loads(run_cli(args, ROOT).stdout)
    revealed = json.loads(run_cli([*args, "--reveal"], ROOT).stdout)
    ours = [v for v in masked["variables"] if v["kind"] != "shell"]
    assert {v["name"] for v in ours} == {
        "SECRET_KEY",
        "DEBUG",
        "EMAIL_HOST",
        "EMAIL_PORT",
        "PORT",
        "PS",
    }
    assert [(v["name"], v["masked_because"]) for v in ours if v["masked"]] == [
        ("SECRET_KEY", "name")
    ]
    values = {v["name"]: v["value"] for v in revealed["variables"]}
    for v in ours:
        assert v["value"] == (MASK if v["name"] == "SECRET_KEY" else values[v["name"]])
    text = run_cli(["-f", "Procfile.example", "-e", "example/.env", "env"], ROOT).stdout
    assert re.search(r"^DEBUG +  = 1  # example/\.env:\d+$", text, re.M), text
