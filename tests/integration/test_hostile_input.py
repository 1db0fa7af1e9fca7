"""The real ``tuirunner`` command given hostile or broken input: escape sequences in env files and
in the children's output, special and huge files, and commands or variables too large to exec."""

import errno
import json
import os
import re
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import TUIRUNNER, clean_env, run_cli, run_in_pty, write_files
from tuirunner.limits import max_arg_strlen
from tuirunner.secrets import MASK

ROOT = Path(__file__).resolve().parents[2]
LINUX = sys.platform.startswith("linux")

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


# --- timeouts, ports, files ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("nan", "'nan' is not a finite number of seconds"),
        ("inf", "'inf' is not a finite number of seconds"),
        ("-inf", "'-inf' is not a finite number of seconds"),
        ("-1", "'-1': must not be negative"),
        ("1e9", "'1e9': at most 3600 seconds"),
        ("soon", "'soon' is not a number of seconds"),
    ],
)
def test_timeouts_must_be_finite_bounded_and_not_negative(tmp_path, value, message):
    write_files(tmp_path, {"Procfile": "web: true\n"})
    forms = [["check", f"--timeout={value}"], [f"-t{value}", "check"]]
    if value != "-inf":  # argparse takes "-t -inf" for two options, and refuses it already
        forms.append(["-t", value, "check"])
    for args in forms:
        result = run_cli(args, tmp_path)
        assert result.returncode == 2, args
        assert f"error: argument -t/--timeout: {message}" in result.stderr
    assert run_cli(["-t", "0", "check"], tmp_path).returncode == 0
    assert run_cli(["-t", "2.5", "check"], tmp_path).returncode == 0


def test_ports_past_65535_are_refused_before_anything_starts(tmp_path):
    write_files(tmp_path, {"Procfile": "web: echo started-web\nworker: echo started-worker\n"})
    for args in (["-p", "65535"], ["check", "-p", "65535"]):
        result = run_cli(args, tmp_path)
        assert (result.returncode, result.stdout) == (1, ""), args
        assert result.stderr.startswith(
            "tuirunner: error: worker.1 would get port 65635, past 65535"
        )
    result = run_cli(["web", "-c", "web=3", "-p", "65534"], tmp_path)
    assert result.returncode == 1 and "web.3 would get port 65536" in result.stderr


@pytest.mark.parametrize("option", ["-f", "-e"])
def test_special_and_huge_files_are_refused_with_one_line(tmp_path, option):
    write_files(tmp_path, {"Procfile": "web: true\n"})
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "huge").write_bytes(b"# " + b"x" * (2 * 1024 * 1024) + b"\n")
    what = "Procfile" if option == "-f" else "env file"
    for name, why in [
        ("fifo", "a FIFO, not a regular file"),
        ("/dev/zero", "a character device, not a regular file"),
        ("huge", "larger than 1.0 MiB (2.0 MiB)"),
    ]:
        for command in ("check", "start"):
            result = run_cli([option, name, command], tmp_path, timeout=30)
            assert (result.returncode, result.stdout) == (1, ""), (name, command)
            problem = f"{name}: refusing to read this {what}: {why}"
            if option == "-e" and command == "check":  # check lists every env file problem
                expected = f"tuirunner: warning: {problem}\ntuirunner: error: 1 problem(s) in "
                expected += "env files\n"
            else:
                expected = f"tuirunner: error: {problem}\n"
            assert result.stderr == expected


def test_a_procfile_with_a_byte_order_mark_runs(tmp_path):
    (tmp_path / "Procfile").write_bytes(b"\xef\xbb\xbfweb: echo from-web\n")
    (tmp_path / ".env").write_bytes(b"\xef\xbb\xbfANIMAL=okapi\n")
    assert run_cli(["check"], tmp_path).stderr == "Valid procfile detected (web)\n"
    result = run_cli(["run", "sh", "-c", "echo $ANIMAL"], tmp_path)
    assert result.stdout == "okapi\n"
    result = run_cli([], tmp_path)
    assert result.returncode == 0 and "web.1  | from-web" in result.stdout


def test_a_process_name_starting_with_a_dash_is_refused(tmp_path):
    write_files(tmp_path, {"Procfile": "web: true\n-worker: true\n"})
    result = run_cli(["check"], tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(
        "tuirunner: error: Procfile:2: invalid process name '-worker': it must not start with '-'"
    )


# --- exec limits ---------------------------------------------------------------------------------


def _exec_error(env: dict[str, str], command: str = "true", preexec=None) -> int | None:
    """The errno exec gives for /bin/sh -c COMMAND with *env*, or None when it starts."""
    try:
        subprocess.run(["/bin/sh", "-c", command], env=env, check=True, preexec_fn=preexec)
    except OSError as exc:
        return exc.errno
    return None


@pytest.mark.skipif(not LINUX, reason="MAX_ARG_STRLEN is Linux's")
def test_a_variable_too_long_to_exec_is_reported_up_front(tmp_path):
    strlen = max_arg_strlen()
    longest = "x" * (strlen - len("BIG=") - 1)  # NAME=value and its NUL fill the limit exactly
    assert _exec_error({"BIG": longest}) is None
    assert _exec_error({"BIG": longest + "x"}) == errno.E2BIG  # what a start would meet
    write_files(tmp_path, {"Procfile": "web: echo length ${#BIG}\n"})
    (tmp_path / ".env").write_text(f"OK=1\nBIG={longest}\n")
    result = run_cli([], tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"| length {len(longest)}" in result.stdout
    (tmp_path / ".env").write_text(f"OK=1\nBIG={longest}x\n")
    message = (
        f"tuirunner: error: .env:2: BIG is {strlen + 1:,} bytes long (NAME=value); a process can "
        f"receive at most {strlen:,} per variable (Linux's MAX_ARG_STRLEN)\n"
    )
    for args in ([], ["check"]):
        result = run_cli(args, tmp_path)
        assert (result.returncode, result.stderr, result.stdout) == (1, message, ""), args


@pytest.mark.skipif(not LINUX, reason="MAX_ARG_STRLEN is Linux's")
def test_a_command_too_long_to_exec_is_reported_up_front(tmp_path):
    strlen = max_arg_strlen()
    command = "echo " + "x" * (strlen - len("echo "))
    assert _exec_error({}, command) == errno.E2BIG
    write_files(tmp_path, {"Procfile": f"# long\nweb: {command}\nworker: true\n"})
    for args in ([], ["check"]):
        result = run_cli(args, tmp_path)
        assert result.returncode == 1 and result.stdout == ""
        assert result.stderr == (
            f"tuirunner: error: Procfile:2: the command of web is {strlen + 1:,} bytes long; "
            f"'/bin/sh -c COMMAND' accepts at most {strlen:,} (Linux's MAX_ARG_STRLEN)\n"
        )


@pytest.mark.skipif(not LINUX, reason="Linux derives ARG_MAX from the stack limit")
def test_command_and_environment_together_too_large_for_exec(tmp_path):
    def small_stack():  # ARG_MAX becomes its floor, 128 KiB
        hard = resource.getrlimit(resource.RLIMIT_STACK)[1]
        resource.setrlimit(resource.RLIMIT_STACK, (512 * 1024, hard))

    env = clean_env()
    files = {"A": "a" * 60_000, "B": "b" * 50_000, "C": "c" * 30_000}
    assert _exec_error({**env, **files}, preexec=small_stack) == errno.E2BIG
    write_files(
        tmp_path,
        {"Procfile": "web: true\n", ".env": "".join(f"{k}={v}\n" for k, v in files.items())},
    )
    result = subprocess.run(
        [TUIRUNNER, "check"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=small_stack,
        timeout=60,
    )
    assert result.returncode == 1
    assert re.fullmatch(
        r"tuirunner: error: web: its command and environment take [\d,]+ bytes, more than exec "
        r"accepts \(131,072, ARG_MAX\); the largest variables: A \(\.env:1, 60,003 bytes\), "
        r"B \(\.env:2, 50,003 bytes\), C \(\.env:3, 30,003 bytes\)\n",
        result.stderr,
    ), result.stderr
    # With the default stack limit the same files are fine.
    assert run_cli(["check"], tmp_path, env=env).returncode == 0


# --- the demo ------------------------------------------------------------------------------------


def test_the_demo_environment_masks_only_its_secret_key():
    args = ["-f", "Procfile.example", "-e", "example/.env", "env", "--json"]
    masked = json.loads(run_cli(args, ROOT).stdout)
    revealed = json.loads(run_cli([*args, "--reveal"], ROOT).stdout)
    ours = [v for v in masked["variables"] if v["kind"] != "shell"]
    ports = {f"TUIRUNNER_PORT_{t}" for t in ("WEB", "WORKER", "MAIL", "RELEASE")}
    assert {v["name"] for v in ours} == {
        "SECRET_KEY",
        "DEBUG",
        "EMAIL_HOST",
        "EMAIL_PORT",
        "PORT",
        "PS",
        *ports,
    }
    assert [(v["name"], v["masked_because"]) for v in ours if v["masked"]] == [
        ("SECRET_KEY", "name")
    ]
    values = {v["name"]: v["value"] for v in revealed["variables"]}
    for v in ours:
        assert v["value"] == (MASK if v["name"] == "SECRET_KEY" else values[v["name"]])
    text = run_cli(["-f", "Procfile.example", "-e", "example/.env", "env"], ROOT).stdout
    assert re.search(r"^DEBUG +  = 1  # example/\.env:\d+$", text, re.M), text
