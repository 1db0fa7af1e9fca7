"""Part B of the run as the developer shapes it, with real processes: a ``port`` of a process's
own whatever its place in the Procfile, the other types' ports as variables, ready checks that
say what is wrong while it is wrong, health checks after ready, and stop commands.

No test measures a duration: each waits for a condition and asserts what the processes saw."""

from __future__ import annotations

import json
import shlex

from tests.helpers import PYTHON, free_port_block, run_cli, wait_for, write_files

PY = shlex.quote(PYTHON)


def ps(root) -> dict[str, dict]:
    result = run_cli(["ps", "--json"], root)
    assert result.returncode == 0, result.stderr
    return {p["name"]: p for p in json.loads(result.stdout)}


# --- ports ----------------------------------------------------------------------------------------


def test_a_port_setting_wins_over_the_procfile_position_and_others_see_it(tmp_path):
    base = free_port_block()
    web_port = base + 250  # not where its place in the Procfile would put it (base + 100)
    write_files(
        tmp_path,
        {
            "Procfile": (
                "release: echo migrated; sleep 600\n"
                "web: echo web on $PORT; sleep 600\n"
                "vite-dev: echo proxy to $TUIRUNNER_PORT_WEB from $PORT; sleep 600\n"
            ),
            "tuirunner.toml": f"port = {base}\n[processes.web]\nport = {web_port}\n",
        },
    )
    check = run_cli(["check"], tmp_path)
    assert check.returncode == 0, check.stderr
    assert f"  web.1       {web_port}  tuirunner.toml [processes.web.port]" in check.stderr
    assert f"  vite-dev.1  {base + 200}  Procfile line 3: base port {base} + 100 × 2" in (
        check.stderr
    )
    assert run_cli(["start", "-D"], tmp_path).returncode == 0
    try:
        procs = ps(tmp_path)
        assert (procs["release.1"]["port"], procs["web.1"]["port"]) == (base, web_port)
        logs = wait_for(
            lambda: (
                (out := run_cli(["logs"], tmp_path).stdout)
                and f"proxy to {web_port} from {base + 200}" in out
                and out
            ),
            20,
        )
        assert f"web on {web_port}" in logs
        env = run_cli(["env", "--process", "vite-dev", "--json"], tmp_path)
        variables = {v["name"]: v for v in json.loads(env.stdout)["variables"]}
        assert variables["TUIRUNNER_PORT_WEB"]["value"] == str(web_port)
        assert variables["TUIRUNNER_PORT_WEB"]["source"] == (
            "tuirunner (the port of web.1: tuirunner.toml [processes.web.port])"
        )
        assert variables["TUIRUNNER_PORT_VITE_DEV"]["value"] == str(base + 200)
    finally:
        run_cli(["down"], tmp_path)


def test_a_port_clash_is_an_error_in_check_and_at_start(tmp_path):
    write_files(
        tmp_path,
        {
            "Procfile": "release: true\nweb: sleep 600\n",
            "tuirunner.toml": "port = 6000\n[processes.web]\nport = 6000\n",
        },
    )
    for command in (["check"], ["start", "--no-tui"]):
        result = run_cli(command, tmp_path)
        assert result.returncode != 0
        assert "release.1 and web.1 would both get port 6000" in result.stderr
