"""The guard (tuirunner/guard.py, guard.sh), with real runs: it waits as a shell, not as a
Python process, passes a signal on to the keeper, and leaves the keeper its signals."""

import json
import os
import signal
import subprocess
import sys

import psutil
import pytest

from tests.helpers import clean_env, run_cli, wait_for, write_files
from tuirunner.runtime import run_paths

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc")


def ignored_signals(pid: int) -> set[int]:
    with open(f"/proc/{pid}/status") as f:
        mask = next(int(line.split()[1], 16) for line in f if line.startswith("SigIgn:"))
    return {n for n in range(1, 65) if mask & (1 << (n - 1))}


def test_the_guard_waits_as_a_shell_and_passes_sigterm_on(tmp_path, mark):
    write_files(tmp_path, {"Procfile": f"web: exec sleep 600 # {mark}\n"})
    assert run_cli(["start", "-D"], tmp_path).returncode == 0
    paths = run_paths(tmp_path)
    try:
        keeper = psutil.Process(int(paths.lock.read_text()))
        guard = keeper.parent()
        web = wait_for(lambda: keeper.children(), 30, message="web started")[0]
        # A shell, not a Python process (~1.7 MB, where an idle Python is ~9.5 MB).
        assert os.path.realpath(guard.exe()) == os.path.realpath("/bin/sh"), guard.cmdline()
        assert any(arg.endswith("guard.sh") for arg in guard.cmdline()), guard.cmdline()
        assert guard.memory_info().rss < 6 << 20
        # The shell started the keeper in the background, where SIGINT and SIGQUIT are ignored:
        # the keeper has them back (or its children and commands would inherit them).
        assert ignored_signals(keeper.pid) & {signal.SIGINT, signal.SIGQUIT} == set()
        guard.send_signal(signal.SIGTERM)  # passed on to the keeper: stop everything
        _, alive = psutil.wait_procs([web, keeper, guard], timeout=30)
        assert alive == [], alive
        wait_for(lambda: not paths.socket.exists(), 20, message="the run's files gone")
    finally:
        if paths.socket.exists():  # a failure above: the run must not outlive the test
            run_cli(["down"], tmp_path)


def test_a_keeper_whose_guard_is_gone_does_not_run(tmp_path):
    # The guard died before the keeper could ask for its SIGTERM (PR_SET_PDEATHSIG): the keeper
    # is not the child of the guard it was told of, and ends before it reads its config.
    config_r, config_w = os.pipe()
    try:
        gone = str(os.getpid() + 1_000_000)  # not the parent of anything
        keeper = [sys.executable, "-m", "tuirunner.keeper", "--config-fd", str(config_r)]
        result = subprocess.run(
            [*keeper, "--guard-pid", gone, str(tmp_path)],
            pass_fds=[config_r],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        os.close(config_r)
        os.close(config_w)
    assert (result.returncode, result.stderr) == (1, "")


def test_the_processes_get_the_front_ends_environment_not_the_guard_shells(tmp_path, mark):
    # The guard's shell runs where the package is, and sets PWD to that (dash; bash also sets
    # SHLVL and _): the keeper takes the front end's environment from its config instead, and
    # the inspector shows what the shell that started tuirunner had.
    from tuirunner.client import Client

    write_files(tmp_path, {"Procfile": f"web: exec sleep 600 # {mark}\n"})
    env = clean_env(PWD=str(tmp_path), SHLVL="7", _="/usr/local/bin/tuirunner")
    assert run_cli(["start", "-D"], tmp_path, env=env).returncode == 0
    try:
        client = Client.connect(tmp_path, env=True, output=False, tail=0)
        client.close()
        got = client.environment
        assert (got.get("PWD"), got.get("SHLVL"), got.get("_")) == (
            str(tmp_path),
            "7",
            "/usr/local/bin/tuirunner",
        )
    finally:
        run_cli(["down"], tmp_path)


def test_with_an_app_root_elsewhere_the_process_and_the_inspector_agree_on_pwd(tmp_path, mark):
    # `-d DIR` from another directory: the process runs in DIR, and its shell sets PWD to it;
    # the inspector (and `env`) say the same, not the front end's PWD.
    from tuirunner.client import Client

    app, elsewhere = tmp_path / "app", tmp_path / "elsewhere"
    elsewhere.mkdir()
    write_files(app, {"Procfile": f'web: echo "PWD=$PWD"; exec sleep 600 # {mark}\n'})
    env = clean_env(PWD=str(elsewhere))
    assert run_cli(["start", "-D", "-d", str(app)], elsewhere, env=env).returncode == 0
    try:
        wait_for(
            lambda: f"PWD={app}\n" in run_cli(["logs", "-d", str(app)], elsewhere, env=env).stdout,
            30,
            message="the process's PWD",
        )
        client = Client.connect(app, env=True, output=False, tail=0)
        client.close()
        pwd = client.environment_for(client.get("web.1")).variables["PWD"]
        assert pwd.value == str(app)
        assert f"overrides shell value '{elsewhere}'" in pwd.notes()
        shown = run_cli(["env", "-d", str(app), "--json"], elsewhere, env=env).stdout
        assert {"name": "PWD", "value": str(app)}.items() <= next(
            v for v in json.loads(shown)["variables"] if v["name"] == "PWD"
        ).items()
    finally:
        run_cli(["down", "-d", str(app)], elsewhere, env=env)
