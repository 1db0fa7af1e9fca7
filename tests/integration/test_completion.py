"""Shell completion: ``tuirunner completion SHELL`` loads in bash, zsh and fish, and Tab after
``tuirunner restart w`` offers the processes of the run going on (or of the Procfile)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import PYTHON, clean_env, free_port_block, run_cli, wait_for, write_files

BIN = str(Path(PYTHON).parent)
PY = shlex.quote(PYTHON)
NAMES = {"web", "worker", "web.1", "worker.1"}


def shell_env() -> dict[str, str]:
    """The tests' environment, with this tuirunner first on the PATH (the script runs it)."""
    env = clean_env()
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    return env


def needs(shell: str):
    return pytest.mark.skipif(
        shutil.which(shell) is None,
        reason=f"{shell} is not installed (apt-get install {shell}; .ci/run installs it)",
    )


@pytest.fixture
def project(tmp_path, mark):
    sleep = f"exec {PY} -c 'import time; time.sleep(600)' {mark}"
    write_files(tmp_path, {"Procfile": f"web: {sleep}\nworker: {sleep}\nmail: {sleep}\n"})
    return tmp_path


@pytest.fixture
def running(project):
    # A run of another Procfile, without mail: what is offered comes from the run, not from
    # the Procfile. (`start web worker` would have mail in the run too, not started.)
    procfile = (project / "Procfile").read_text()
    (project / "Procfile.run").write_text(procfile.replace(procfile.splitlines()[-1], ""))
    args = ["-f", "Procfile.run", "start", "-D", "-t", "2", "-p", str(free_port_block())]
    started = run_cli(args, project)
    assert started.returncode == 0, started.stderr
    yield project
    run_cli(["down"], project)


def bash_complete(root: Path, line: str) -> list[str]:
    """What bash's completion function offers for *line* (Tab at its end)."""
    words = shlex.split(line) + ([""] if line.endswith(" ") else [])
    script = (
        'eval "$(tuirunner completion bash)" || exit 9\n'
        f"COMP_WORDS=({' '.join(shlex.quote(w) for w in words)})\n"
        f"COMP_CWORD={len(words) - 1}\n"
        f"COMP_LINE={shlex.quote(line)}\n"
        "COMP_POINT=${#COMP_LINE}\n"
        f"_python_argcomplete tuirunner {shlex.quote(words[-1])} {shlex.quote(words[-2])}\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    result = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script],
        cwd=root,
        env=shell_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return [w.strip() for w in result.stdout.splitlines() if w.strip()]


def test_bash_offers_the_run_s_processes(running):
    assert set(bash_complete(running, "tuirunner restart w")) == NAMES
    offered = bash_complete(running, "tuirunner logs -f ")
    assert {name for name in offered if not name.startswith("-")} == NAMES


def test_bash_without_a_run_offers_the_procfile_s(project):
    offered = bash_complete(project, "tuirunner stop ")
    names = {name for name in offered if not name.startswith("-")}
    assert names == {"web", "worker", "mail", "web.1", "worker.1", "mail.1"}


def test_bash_completes_commands_and_options(project):
    assert "restart" in bash_complete(project, "tuirunner res")
    assert set(bash_complete(project, "tuirunner wait --r")) == {"--ready", "--running"}


@needs("fish")
def test_fish_offers_the_run_s_processes(running):
    result = subprocess.run(
        [
            "fish",
            "--no-config",
            "-c",
            'tuirunner completion fish | source; and complete -C "tuirunner restart w"',
        ],
        cwd=running,
        env=shell_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    offered = {line.split("\t")[0] for line in result.stdout.splitlines() if line}
    assert offered == NAMES


@needs("zsh")
@needs("tmux")
def test_zsh_offers_the_run_s_processes(running):
    """zsh completes only in an interactive shell (its line editor): a real one, in tmux."""
    from tests.tmux import Tmux

    term = Tmux("zsh -f", running, width=120, height=20, env=shell_env())
    try:
        term.send("autoload -U compinit && compinit -u && ")
        term.send('eval "$(tuirunner completion zsh)" && echo loaded-$((20 + 22))', "Enter")
        term.wait_for("loaded-42")
        term.send("tuirunner restart w", "Tab")
        wait_for(
            lambda: all(name in term.screen().split() for name in NAMES),
            30,
            message=f"{NAMES} offered",
        )
    finally:
        term.close()
