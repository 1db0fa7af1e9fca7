"""A lone Procfile command is exec'd, so the pid shown is the program's (issue 22); anything
with more shell syntax runs as written. Checked against the real /bin/sh too."""

import os
import subprocess
import sys

import pytest

from tuirunner.shellexec import exec_form


@pytest.mark.parametrize(
    "command",
    [
        "python manage.py runserver 127.0.0.1:$PORT",
        "gunicorn app.wsgi --bind 0.0.0.0:${PORT:-8000}",
        "python -c 'print(1); print(2)'",  # a ; in quotes is not an operator
        'celery -A proj worker -l "info"',
        "python -m aiosmtpd -n -c aiosmtpd.handlers.Debugging -l 127.0.0.1:${EMAIL_PORT:-1025}",
    ],
)
def test_one_simple_command_is_execd(command):
    assert exec_form(command) == f"exec {command}"


@pytest.mark.parametrize(
    "command",
    [
        "echo web up; sleep 600",
        "npm run build && npm start",
        "yes | head",
        "python app.py > log.txt",
        "(cd app && python run.py)",
        "FOO=1 python app.py",
        "exec python app.py",
        "cd app; python run.py",
        "cd app",
        "if true; then echo x; fi",
        "python $(echo a; echo b)",
        "echo `date`",
        "sleep 1 &",
        "echo 'unterminated",
        "echo first\necho second",
        "",
    ],
)
def test_anything_else_runs_as_written(command):
    assert exec_form(command) == command


def test_the_program_is_the_process_itself():
    script = "import os; print(os.getpid())"
    command = exec_form(f"{sys.executable} -c '{script}'")
    proc = subprocess.Popen(["/bin/sh", "-c", command], stdout=subprocess.PIPE, text=True)
    out, _ = proc.communicate(timeout=30)
    assert int(out) == proc.pid  # no shell in between
    assert proc.returncode == 0


def test_the_exit_status_and_variables_are_the_same():
    command = exec_form(f"{sys.executable} -c 'import os, sys; sys.exit(int(os.environ[\"RC\"]))'")
    result = subprocess.run(["/bin/sh", "-c", command], env={**os.environ, "RC": "3"})
    assert result.returncode == 3
