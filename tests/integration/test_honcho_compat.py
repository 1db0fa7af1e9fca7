"""The behaviours honcho's public integration tests check for ``start``, ``run`` and ``check``,
written again for tuirunner (stdout is a pipe, so tuirunner runs in plain mode)."""

import subprocess

from tests.helpers import PYTHON, clean_env, run_cli, write_files

SCRIPT = (
    "import os, sys\n"
    "print(os.environ.get('ANIMAL', 'elephant'))\n"
    "print('error output', file=sys.stderr)\n"
)


def project(tmp_path, **extra):
    return write_files(tmp_path, {"test.py": SCRIPT, **extra})


def test_check_lists_types_in_order_on_stderr(tmp_path):
    project(tmp_path, Procfile="foo: a\nbar: b\nbaz: c\n")
    result = run_cli(["check"], tmp_path)
    assert result.returncode == 0
    assert "Valid procfile detected" in result.stderr and "foo, bar, baz" in result.stderr


def test_python_dash_m_check(tmp_path):
    project(tmp_path, Procfile="foo: a\nbar: b\n")
    result = subprocess.run(
        [PYTHON, "-m", "tuirunner", "check"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=clean_env(),
    )
    assert "Valid procfile detected (foo, bar)" in result.stderr


def test_run_keeps_stdout_exact_and_stderr_apart(tmp_path):
    project(tmp_path)
    result = run_cli(["run", PYTHON, "test.py"], tmp_path)
    assert (result.returncode, result.stdout) == (0, "elephant\n")
    assert "error output\n" in result.stderr


def test_run_uses_the_env_file(tmp_path):
    project(tmp_path, **{".env": "ANIMAL=giraffe\n"})
    assert run_cli(["run", PYTHON, "test.py"], tmp_path).stdout == "giraffe\n"


def test_run_with_global_option_before_the_subcommand(tmp_path):
    project(tmp_path, **{".env.x": "ANIMAL=giraffe\n"})
    assert run_cli(["-e", ".env.x", "run", PYTHON, "test.py"], tmp_path).stdout == "giraffe\n"


def test_run_options_positionals_separator(tmp_path):
    project(tmp_path)
    assert run_cli(["run", "--", PYTHON, "test.py"], tmp_path).stdout == "elephant\n"


def test_start_merges_child_stderr_into_stdout(tmp_path):
    project(tmp_path, Procfile=f"foo: {PYTHON} test.py\n")
    result = run_cli(["start"], tmp_path)
    assert result.returncode == 0
    assert "elephant" in result.stdout and "error output" in result.stdout


def test_start_uses_the_env_file(tmp_path):
    project(tmp_path, Procfile=f"foo: {PYTHON} test.py\n", **{".env": "ANIMAL=giraffe\n"})
    assert "giraffe" in run_cli(["start"], tmp_path).stdout


def test_start_honours_procfile_from_the_env_file(tmp_path):
    project(tmp_path, **{"Procfile.dev": "foo: echo mongoose\n", ".env": "PROCFILE=Procfile.dev\n"})
    assert "mongoose" in run_cli(["start"], tmp_path).stdout


def test_start_returncode(tmp_path):
    project(tmp_path, Procfile=f"foo: {PYTHON} -c 'import sys; sys.exit(42)'\n")
    assert run_cli(["start"], tmp_path).returncode == 42
