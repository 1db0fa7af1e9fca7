"""The real ``tuirunner`` command in plain mode (stdout is a pipe here)."""

import json
import os
import re
import shlex
import signal
import subprocess

import pytest

from tests.helpers import (
    PYTHON,
    TUIRUNNER,
    Runner,
    assert_no_leftovers,
    clean_env,
    processes_with,
    run_cli,
    stubborn,
    wait_for,
    write_files,
)
from tuirunner.cli import normalise_argv
from tuirunner.secrets import MASK

PY = shlex.quote(PYTHON)


def test_prefixed_output_system_lines_and_exit_code_of_first_exit(tmp_path):
    write_files(tmp_path, {"Procfile": "web: echo hello; sleep 60\nbad: sleep 0.5; exit 42\n"})
    result = run_cli([], tmp_path)
    assert result.returncode == 42
    out = result.stdout
    assert re.search(r"^\d\d:\d\d:\d\d web\.1  \| hello$", out, re.M), out
    # honcho's words (honcho/manager.py): "started (pid=N)", "stopped (rc=N)"
    assert re.search(r"^\d\d:\d\d:\d\d system \| web\.1 started \(pid=\d+\)$", out, re.M)
    assert re.search(r"system \| bad\.1 stopped \(rc=42\)$", out, re.M)
    assert re.search(r"system \| sending SIGTERM to web\.1 \(pid \d+\)$", out, re.M)
    assert "\x1b[" not in out  # no colour when stdout is not a terminal


def test_child_colour_codes_are_stripped_and_no_prefix(tmp_path):
    write_files(tmp_path, {"Procfile": "web: printf '\\033[32mgreen\\033[0m\\n'\n"})
    result = run_cli(["--no-prefix"], tmp_path)
    assert result.returncode == 0
    assert result.stdout.splitlines()[:2] == [f"web.1 started (pid={_pid(result.stdout)})", "green"]


def _pid(out: str) -> str:
    return re.search(r"pid=(\d+)", out).group(1)


def test_port_and_ps_with_concurrency_and_selected_types(tmp_path):
    write_files(
        tmp_path,
        {
            "Procfile": "web: echo $PS:$PORT; sleep 2\nworker: echo $PS:$PORT; sleep 2\n",
            ".env": "PORT=6000\n",
        },
    )
    result = run_cli(["start", "-c", "web=2,worker=2"], tmp_path)
    found = dict(re.findall(r"\| (\w+\.\d):(\d+)$", result.stdout, re.M))
    assert found == {"web.1": "6000", "web.2": "6001", "worker.1": "6100", "worker.2": "6101"}
    # -p beats PORT from .env; worker keeps its block when started alone.
    result = run_cli(["worker", "-p", "8000"], tmp_path)
    assert dict(re.findall(r"\| (\w+\.\d):(\d+)$", result.stdout, re.M)) == {"worker.1": "8100"}


def test_grammar_errors_are_one_line_with_file_and_line(tmp_path):
    write_files(tmp_path, {"Procfile": "web: ok\nworker python w.py\n"})
    for args in ([], ["check"]):
        result = run_cli(args, tmp_path)
        assert result.returncode == 1
        assert result.stderr == (
            "tuirunner: error: Procfile:2: expected 'name: command': 'worker python w.py'\n"
        )
    result = run_cli(["nope"], tmp_path)
    assert result.returncode == 1
    assert "Procfile:2" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("files", "args", "message"),
    [
        ({}, [], "tuirunner: error: Procfile: Procfile does not exist\n"),
        ({"Procfile": "\n# nothing\n"}, [], "tuirunner: error: Procfile: no processes defined\n"),
        (
            {"Procfile": "web: a\n"},
            ["db"],
            "tuirunner: error: unknown process type 'db'; the Procfile defines web\n",
        ),
        (
            {"Procfile": "web: a\nweb: b\n"},
            [],
            "tuirunner: error: Procfile:2: duplicate process name 'web' (first defined on line "
            "1)\n",
        ),
        (
            {"Procfile": "web: a\n"},
            ["-e", "missing.env"],
            "tuirunner: error: missing.env: env file does not exist\n",
        ),
        (
            {"Procfile": "web: a\n"},
            ["-c", "web"],
            "tuirunner: error: invalid concurrency 'web': expected name=number\n",
        ),
    ],
)
def test_bad_input_is_a_clear_one_line_error(tmp_path, files, args, message):
    write_files(tmp_path, files)
    result = run_cli(args, tmp_path)
    assert (result.returncode, result.stderr, result.stdout) == (1, message, "")


def test_check_output_and_status(tmp_path):
    write_files(tmp_path, {"Procfile": "web: a\nworker: b\nclock: c\n"})
    result = run_cli(["check"], tmp_path)
    assert result.returncode == 0
    assert result.stderr == "Valid procfile detected (web, worker, clock)\n"
    write_files(tmp_path, {".env": "GOOD=1\nBAD='unterminated\n"})
    result = run_cli(["check"], tmp_path)
    assert result.returncode == 1
    assert ".env:2: python-dotenv could not parse this statement" in result.stderr


def test_dotenv_parse_warning_reaches_the_user_on_start(tmp_path):
    write_files(tmp_path, {"Procfile": "web: echo $GOOD\n", ".env": 'GOOD=yes\nX="a"b\n'})
    result = run_cli([], tmp_path)
    assert (
        "tuirunner: warning: .env:2: python-dotenv could not parse this statement; it is "
        'ignored: X="a"b'  # nothing secret in it: shown, so the user sees what is wrong
    ) in result.stderr
    assert "| yes" in result.stdout


def test_env_precedence_shell_then_files_in_order(tmp_path):
    write_files(
        tmp_path,
        {
            "Procfile": "web: echo A=$A B=$B C=$C\n",
            ".env": "A=env\nB=env\n",
            ".env.local": "B=local\n",
        },
    )
    env = clean_env(A="shell", B="shell", C="shell")
    result = run_cli(["-e", ".env,.env.local"], tmp_path, env=env)
    assert "| A=env B=local C=shell" in result.stdout


def test_procfile_and_env_from_app_root_and_procfile_variable(tmp_path):
    write_files(
        tmp_path,
        {
            "app/Procfile.dev": "web: echo dev $(basename $PWD)\n",
            "app/.env": "PROCFILE=Procfile.dev\n",
        },
    )
    result = run_cli(["-d", "app"], tmp_path)
    assert "| dev app" in result.stdout, result.stdout + result.stderr


def test_env_json_masks_secrets_with_sources(tmp_path):
    write_files(
        tmp_path,
        {
            "Procfile": "web: a\nworker: b\n",
            ".env": "SECRET_KEY=s3cret\nDATABASE_URL=postgres://app:hunter2@db/app\nDEBUG=1\n",
        },
    )
    result = run_cli(["env", "--json", "--process", "worker"], tmp_path, env=clean_env(DEBUG="0"))
    assert result.returncode == 0, result.stderr
    assert "s3cret" not in result.stdout and "hunter2" not in result.stdout
    data = json.loads(result.stdout)
    assert data["process"] == "worker.1"
    rows = {v["name"]: v for v in data["variables"]}
    assert rows["SECRET_KEY"]["value"] == MASK and rows["SECRET_KEY"]["source"] == ".env:1"
    assert rows["DATABASE_URL"]["value"] == f"postgres://app:{MASK}@db/app"
    assert rows["DEBUG"]["shadowed"][0] == {
        "value": "0",
        "source": "shell",
        "kind": "shell",
        "file": None,
        "line": None,
    }
    assert rows["PORT"]["value"] == "5100" and rows["PORT"]["source"] == "tuirunner"
    assert rows["PS"]["value"] == "worker.1"
    revealed = run_cli(["env", "--json", "--reveal"], tmp_path)
    assert "s3cret" in revealed.stdout and "hunter2" in revealed.stdout


def test_env_plain_text(tmp_path):
    write_files(tmp_path, {"Procfile": "web: a\n", ".env": "API_TOKEN=abc\nNAME=x\n"})
    result = run_cli(["env", "--filter", "files"], tmp_path)
    assert result.stdout.splitlines() == [
        "# Environment of web.1",
        f"API_TOKEN = {MASK}  # .env:1; masked: secret-looking name",
        "NAME      = x  # .env:2",
    ]


def test_run_passes_exit_status_stdin_and_separate_streams(tmp_path):
    write_files(tmp_path, {".env": "ANIMAL=giraffe\n"})
    script = (
        "import os, sys; data = sys.stdin.read(); print(os.environ['ANIMAL'], data.upper());"
        " print('to stderr', file=sys.stderr); sys.exit(7)"
    )
    result = run_cli(["run", PYTHON, "-c", script], tmp_path, input="from stdin")
    assert result.returncode == 7
    assert result.stdout == "giraffe FROM STDIN\n"
    assert result.stderr == "to stderr\n"


def test_run_accepts_options_before_and_after_and_double_dash(tmp_path):
    write_files(tmp_path, {".env.x": "ANIMAL=zebra\n"})
    for args in (["-e", ".env.x", "run", "--"], ["run", "-e", ".env.x"]):
        result = run_cli([*args, "sh", "-c", "echo $ANIMAL"], tmp_path)
        assert (result.returncode, result.stdout) == (0, "zebra\n"), result.stderr
    result = run_cli(["run", "echo $((6*7))"], tmp_path)  # one string: run by the shell
    assert result.stdout == "42\n"
    result = run_cli(["run", "no-such-command-xyz"], tmp_path)
    assert result.returncode == 127 and "command not found" in result.stderr


def test_run_is_attached_to_the_terminal(tmp_path):
    # With a PTY as the runner's terminal, the command sees a terminal on stdin and stdout.
    import pty

    script = "import sys; print('tty', sys.stdin.isatty(), sys.stdout.isatty())"
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - child
        os.chdir(tmp_path)
        os.execvpe(TUIRUNNER, [TUIRUNNER, "run", PYTHON, "-c", script], clean_env())
    out = b""
    while True:
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert b"tty True True" in out


@pytest.mark.parametrize(
    ("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGHUP, 129)]
)
def test_signals_to_the_runner_stop_every_process_of_the_group(tmp_path, mark, sig, code):
    # Each process has a grandchild (like runserver's autoreloader child).
    sleeper = f"{PY} -c 'import time; time.sleep(600)' {mark}"
    write_files(
        tmp_path,
        {
            "Procfile": (
                f"web: {PY} -c 'import subprocess, sys; subprocess.run(sys.argv[1:])' {sleeper}\n"
                f'worker: sh -c "{sleeper}; true"\n'
            )
        },
    )
    with Runner(["-t", "3"], tmp_path) as runner:
        runner.wait_for_output("worker.1 started")
        # web and its child; worker's inner sh (exec'd: no outer sh) and its python
        wait_for(lambda: len(processes_with(mark)) >= 4, message="all processes up")
        runner.signal(sig)
        assert runner.wait(30) == code
        assert f"{signal.Signals(sig).name} received" in runner.output
    assert_no_leftovers(mark)


def test_sigterm_ignoring_child_is_killed_after_timeout(tmp_path, mark):
    write_files(tmp_path, {"Procfile": f"stubborn: {stubborn(mark)}\n"})
    with Runner(["-t", "1"], tmp_path) as runner:
        runner.wait_for_output("| ready")
        runner.signal(signal.SIGTERM)
        assert runner.wait(30) == 143
        assert "sending SIGKILL to stubborn.1" in runner.output
        assert "stubborn.1 stopped (killed by SIGKILL after the 1 s timeout)" in runner.output
    assert_no_leftovers(mark)


def test_second_interrupt_forces(tmp_path, mark):
    write_files(tmp_path, {"Procfile": f"stubborn: {stubborn(mark)}\n"})
    with Runner(["-t", "600"], tmp_path) as runner:
        runner.wait_for_output("| ready")
        runner.signal(signal.SIGINT)
        runner.wait_for_output("sending SIGTERM")
        runner.signal(signal.SIGINT)
        assert runner.wait(30) == 130
        assert "stopping now" in runner.output
        # Killed by the second Ctrl+C, long before its 600 s: not "after the 600 s timeout".
        last = runner.output.splitlines()[-1]
        assert last.endswith("| stubborn.1 stopped (killed by SIGKILL)"), last
    assert_no_leftovers(mark)


def test_broken_pipe_stops_everything_quietly(tmp_path, mark):
    write_files(tmp_path, {"Procfile": f"web: yes {mark}\n"})
    pipeline = subprocess.run(
        f"{shlex.quote(TUIRUNNER)} | head -n 5",
        shell=True,
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert len(pipeline.stdout.splitlines()) == 5
    assert "Traceback" not in pipeline.stderr and "BrokenPipe" not in pipeline.stderr
    assert_no_leftovers(mark)


def test_version_and_help():
    result = subprocess.run([TUIRUNNER, "--version"], capture_output=True, text=True)
    assert re.fullmatch(r"tuirunner \d+\.\d+\.\d+\n", result.stdout)
    result = subprocess.run([PYTHON, "-m", "tuirunner", "--help"], capture_output=True, text=True)
    for flag in (
        "--procfile",
        "--env",
        "--app-root",
        "--concurrency",
        "--port",
        "--timeout",
        "--no-color",
        "--no-prefix",
        "--tui",
        "--scrollback",
        "--quiet",
    ):
        assert flag in result.stdout
    # help COMMAND is COMMAND --help.
    topic = subprocess.run([TUIRUNNER, "help", "logs"], capture_output=True, text=True)
    assert topic.returncode == 0 and topic.stdout.startswith("usage: tuirunner logs")
    assert "--no-color" in topic.stdout and "strip colours" in topic.stdout


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], ["start"]),
        (["web"], ["start", "web"]),
        (["-e", "x", "web"], ["-e", "x", "start", "web"]),
        (["-e", "x", "run", "ls"], ["-e", "x", "run", "ls"]),
        (["--no-tui", "check"], ["--no-tui", "check"]),
        (["--help"], ["--help"]),
    ],
)
def test_default_subcommand(argv, expected):
    assert normalise_argv(argv) == expected


def test_quiet_hides_output_but_not_system_lines(tmp_path):
    write_files(tmp_path, {"Procfile": "web: echo from-web; sleep 1\nworker: echo from-worker\n"})
    result = run_cli(["-q", "worker"], tmp_path)
    assert "from-web" in result.stdout and "from-worker" not in result.stdout
    assert "worker.1 started" in result.stdout


def test_no_color_on_a_terminal_strips_the_childrens_colours_too(tmp_path):
    from tests.helpers import run_in_pty

    write_files(tmp_path, {"Procfile": "web: printf '\\033[31mred\\033[0m text\\n'\n"})
    status, output = run_in_pty(["--no-tui"], tmp_path)
    assert status == 0 and b"\x1b[31mred" in output  # colours kept on a terminal
    status, output = run_in_pty(["--no-tui", "--no-color"], tmp_path)
    assert status == 0 and b"red text" in output and b"\x1b[" not in output


def test_env_table_in_a_terminal_shows_names_as_data(tmp_path, capsys):
    from tuirunner.environment import EnvFileSpec, load_environment
    from tuirunner.envview import render_env

    (tmp_path / ".env").write_text("[/]=1\n[bold]X=2\nAPI_KEY=hidden-value\n")
    env = load_environment([EnvFileSpec(tmp_path / ".env", ".env", True)], {}, tmp_path)
    render_env(env, "web.1", terminal=True)
    out = capsys.readouterr().out
    assert "[/]" in out and "[bold]X" in out and "hidden-value" not in out


def test_a_reader_that_stops_early_ends_the_command_quietly(tmp_path):
    # `tuirunner env | head -1`: the command stops at the closed pipe, as cat does, with no
    # traceback (200 KB of variables: more than a pipe holds, so a write meets the closed end).
    (tmp_path / "Procfile").write_text("web: sleep 1\n")
    env = clean_env(**{f"FILLER_{i}": "x" * 100 for i in range(2000)})
    command = subprocess.Popen(
        [TUIRUNNER, "env"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert command.stdout.readline().startswith("# Environment of web.1")
    command.stdout.close()
    stderr = command.stderr.read()
    assert command.wait(60) == 128 + signal.SIGPIPE
    assert stderr == ""
