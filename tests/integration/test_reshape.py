"""The run as the developer shapes it, with real processes and the real command line: on-demand
processes, groups, processes added and removed at run time from a second client, the Procfile
and the settings edited while the run goes on, and a per-developer override file."""

from __future__ import annotations

import asyncio
import json
import shlex

import pytest

from tests.helpers import PYTHON, free_port_block, run_cli, wait_for, write_files
from tuirunner.client import Client, KeeperError
from tuirunner.operations import SAMPLE_INTERVAL
from tuirunner.protocol import Add, Remove, Sample

PY = shlex.quote(PYTHON)


def sleeper(word: str) -> str:
    return f"echo {word} up; exec {PY} -c 'import time; time.sleep(600)' {word}"


@pytest.fixture
def run(tmp_path):
    """A detached run of the files given, stopped at the end of the test."""
    started = []

    def start(files: dict[str, str], *args: str):
        write_files(tmp_path, files)
        result = run_cli(["-p", str(free_port_block()), "-t", "2", "start", "-D", *args], tmp_path)
        assert result.returncode == 0, result.stderr
        started.append(tmp_path)
        return tmp_path

    yield start
    for root in started:
        run_cli(["down"], root, timeout=60)


def ps(root) -> dict[str, dict]:
    result = run_cli(["ps", "--json"], root)
    assert result.returncode == 0, result.stderr
    return {p["name"]: p for p in json.loads(result.stdout)}


def state_of(root, name: str) -> str | None:
    return ps(root).get(name, {}).get("status")


def test_an_on_demand_process_is_in_the_run_not_started_until_restart(run):
    root = run(
        {
            "Procfile": f"web: {sleeper('web')}\nflower: {sleeper('flower')}\n",
            "tuirunner.toml": "[processes.flower]\nautostart = false\n",
        }
    )
    wait_for(lambda: state_of(root, "web.1") == "running")
    flower = ps(root)["flower.1"]
    assert (flower["status"], flower["pid"], flower["not_started"]) == ("not started", None, True)
    plain = run_cli(["ps"], root).stdout
    assert any(line.split()[:3] == ["flower.1", "not", "started"] for line in plain.splitlines())
    stopped = run_cli(["stop", "flower"], root)  # nothing to stop: it says what it is
    assert stopped.returncode == 0 and stopped.stdout == "flower.1 not started\n"
    result = run_cli(["restart", "flower"], root)
    assert result.returncode == 0 and "flower.1 restarted (pid" in result.stdout
    wait_for(lambda: state_of(root, "flower.1") == "running")
    assert "flower up" in run_cli(["logs", "flower"], root).stdout


def test_types_named_on_the_command_line_start_and_the_others_are_not_started(run):
    root = run({"Procfile": f"web: {sleeper('web')}\nworker: {sleeper('worker')}\n"}, "web")
    wait_for(lambda: state_of(root, "web.1") == "running")
    assert state_of(root, "worker.1") == "not started"


def test_a_group_is_restarted_stopped_and_shown_by_name(run):
    root = run(
        {
            "Procfile": (
                f"web: {sleeper('web')}\nvite: {sleeper('vite')}\ntailwind: {sleeper('tw')}\n"
            ),
            "pyproject.toml": '[tool.tuirunner.groups]\nfrontend = ["vite", "tailwind"]\n',
        }
    )
    wait_for(lambda: all(p["status"] == "running" for p in ps(root).values()))
    before = {name: p["pid"] for name, p in ps(root).items()}
    result = run_cli(["restart", "frontend"], root)
    assert result.returncode == 0, result.stderr
    assert sorted(line.split()[0] for line in result.stdout.splitlines()) == [
        "tailwind.1",
        "vite.1",
    ]
    wait_for(lambda: all(p["status"] == "running" for p in ps(root).values()))
    after = {name: p["pid"] for name, p in ps(root).items()}
    assert after["web.1"] == before["web.1"]
    assert after["vite.1"] != before["vite.1"] and after["tailwind.1"] != before["tailwind.1"]
    logs = run_cli(["logs", "frontend"], root).stdout
    assert "vite up" in logs and "tw up" in logs and "web up" not in logs
    assert run_cli(["stop", "frontend"], root).returncode == 0
    assert state_of(root, "vite.1") == "stopped" and state_of(root, "web.1") == "running"
    unknown = run_cli(["restart", "backend"], root)
    assert unknown.returncode == 1 and "unknown process 'backend'" in unknown.stderr


def test_a_group_clashing_with_a_type_or_naming_an_unknown_member_is_refused(tmp_path):
    write_files(
        tmp_path,
        {"Procfile": "web: true\nvite: true\n", "tuirunner.toml": '[groups]\nweb = ["vite"]\n'},
    )
    result = run_cli(["check"], tmp_path)
    assert result.returncode == 1
    assert "tuirunner.toml: groups.web: 'web' is a process type of" in result.stderr
    (tmp_path / "tuirunner.toml").write_text('[groups]\nfrontend = ["vite", "tailwnd"]\n')
    result = run_cli(["check"], tmp_path)
    assert "tuirunner.toml: groups.frontend[1]: unknown process 'tailwnd'" in result.stderr


def test_a_process_added_and_removed_from_a_second_client(run):
    root = run({"Procfile": f"web: {sleeper('web')}\n", ".env": "GREETING=hello\n"})
    wait_for(lambda: state_of(root, "web.1") == "running")
    web_port = ps(root)["web.1"]["port"]
    command = 'echo "shell says $GREETING on $PORT as $PS"; sleep 600'
    result = run_cli(["add", "shell", "--", command], root)
    assert result.returncode == 0, result.stderr
    assert f"shell.1 added on port {web_port + 100}" in result.stdout
    wait_for(lambda: state_of(root, "shell.1") == "running")
    wait_for(lambda: "shell says hello on" in run_cli(["logs", "shell"], root).stdout)
    assert f"shell says hello on {web_port + 100} as shell.1" in run_cli(["logs"], root).stdout
    # It can be restarted, and a Procfile process cannot be removed.
    first = ps(root)["shell.1"]["pid"]
    assert run_cli(["restart", "shell"], root).returncode == 0
    wait_for(lambda: ps(root)["shell.1"]["pid"] not in (None, first))
    refused = run_cli(["remove", "web"], root)
    assert refused.returncode == 1 and "web.1 is in the Procfile" in refused.stderr
    # A second client (the API) adds another and removes the first; ps sees both changes.
    client = Client.connect(root, output=False, tail=0)
    try:
        info = client.call(Add(name="tests", command="echo testing; sleep 600"))
        assert (info.name, info.added) == ("tests.1", True)
        with pytest.raises(KeeperError, match="already a process"):
            client.call(Add(name="web", command="true"))
        assert client.call(Remove(name="shell")) == ["shell.1"]
    finally:
        client.close()
    wait_for(lambda: set(ps(root)) == {"web.1", "tests.1"})
    assert run_cli(["remove", "tests"], root).stdout.strip() == "tests.1 removed"
    assert set(ps(root)) == {"web.1"}
    assert "shell" not in (root / "Procfile").read_text()  # nothing written to a file


async def test_ps_while_a_process_leaves_the_run_lists_only_what_is_in_it(run):
    # A sample (ps) waits 0.3 s for the CPU use when nobody samples: a process of those named
    # that left the run meanwhile was still in the answer, after the client had been told of
    # its removal.
    root = run({"Procfile": f"web: {sleeper('web')}\n"})
    client = Client.connect(root, output=False, tail=0)
    try:
        wait_for(lambda: client.call(Sample(names=["web"]))[0].pid, message="web running")
        assert client.call(Add(name="extra", command="exec sleep 600")).name == "extra.1"
        await asyncio.sleep(2 * SAMPLE_INTERVAL + 0.5)  # the last sample is old: ps waits
        await client.start()
        sampled = client.request(Sample(names=["web", "extra"]))
        await asyncio.sleep(0.05)  # the keeper has it: it samples, then waits
        other = Client.connect(root, output=False, tail=0)  # its ops do not queue behind ps's
        try:
            assert other.call(Remove(name="extra")) == ["extra.1"]
        finally:
            other.close()
        infos = await asyncio.wait_for(sampled, 30)
        assert [i.name for i in infos] == [p.name for p in client] == ["web.1"]
    finally:
        client.close()


def test_a_procfile_edit_adds_and_removes_a_type_while_running(run):
    root = run({"Procfile": f"web: {sleeper('web')}\nworker: {sleeper('worker')}\n"})
    wait_for(lambda: state_of(root, "worker.1") == "running")
    worker_pid = ps(root)["worker.1"]["pid"]
    (root / "Procfile").write_text(f"web: {sleeper('web')}\nbeat: {sleeper('beat')}\n")
    wait_for(lambda: set(ps(root)) == {"web.1", "beat.1"}, message="beat in, worker out")
    wait_for(lambda: state_of(root, "beat.1") == "running")
    wait_for(lambda: not _alive(worker_pid), message="the worker stopped")
    # (running from its spawn on: its first line may come a moment later)
    wait_for(lambda: "beat up" in run_cli(["logs", "beat"], root).stdout, message="beat's line")


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def test_a_settings_edit_is_announced_and_applied_only_on_restart(run):
    root = run(
        {
            "Procfile": f"web: {sleeper('web')}\nworker: {sleeper('worker')}\n",
            "tuirunner.toml": "[processes.web]\ntimeout = 1\n",
        }
    )
    wait_for(lambda: state_of(root, "web.1") == "running")
    first = ps(root)["web.1"]["pid"]
    (root / "tuirunner.toml").write_text(
        '[processes.web]\ntimeout = 1\nenv = { COLOUR = "blue" }\n'
        '[processes.worker]\nautorestart = "always"\n'
    )
    wait_for(lambda: ps(root)["worker.1"]["stale_settings"] == "autorestart")
    web = ps(root)["web.1"]
    assert web["pid"] == first  # never behind the user's back
    assert "autorestart changed: restart to apply" in ps(root)["worker.1"]["detail"]
    assert run_cli(["restart", "worker", "web"], root).returncode == 0
    wait_for(lambda: ps(root)["worker.1"]["stale_settings"] is None)
    client = Client.connect(root, output=False, tail=0, env=True)
    try:
        web = client.get("web.1")
        assert client.started_environment(web).get("COLOUR") == "blue"
    finally:
        client.close()


def test_an_invalid_edit_is_reported_and_ignored(run):
    root = run(
        {
            "Procfile": f"web: {sleeper('web')}\n",
            "tuirunner.toml": "[processes.web]\ntimeout = 1\n",
        }
    )
    wait_for(lambda: state_of(root, "web.1") == "running")
    pid = ps(root)["web.1"]["pid"]
    (root / "tuirunner.toml").write_text("[processes.web]\ntimeout = 1\nautorestat = 'always'\n")

    def reported() -> str:
        return run_cli(["ps"], root).stderr

    wait_for(lambda: "not applied" in reported(), message="the report in ps")
    assert "tuirunner.toml: processes.web.autorestat: unknown key" in reported()
    (root / "tuirunner.toml").write_text("[processes.web\n")
    wait_for(lambda: "tuirunner.toml:1: invalid TOML" in reported())
    assert ps(root)["web.1"]["pid"] == pid and state_of(root, "web.1") == "running"
    (root / "tuirunner.toml").write_text("[processes.web]\ntimeout = 1\n")
    wait_for(lambda: "not applied" not in reported(), message="the report gone once fixed")


def test_an_override_file_is_layered_and_shown_with_its_provenance(tmp_path):
    write_files(
        tmp_path,
        {
            "Procfile": "web: true\nflower: true\n",
            "pyproject.toml": (
                "[tool.tuirunner]\nport = 8000\n"
                '[tool.tuirunner.processes.web.env]\nMODE = "team"\nSHARED = "1"\n'
            ),
            "tuirunner.local.toml": (
                'port = 9000\n[processes.web.env]\nMODE = "mine"\n'
                "[processes.flower]\nautostart = false\n"
            ),
        },
    )
    check = run_cli(["check"], tmp_path)
    assert check.returncode == 0, check.stderr
    assert (
        "tuirunner.local.toml over it: port, processes.web.env.MODE, "
        "processes.flower.autostart" in check.stderr
    )
    env = json.loads(run_cli(["env", "--process", "web", "--json"], tmp_path).stdout)
    rows = {v["name"]: v for v in env["variables"]}
    assert rows["MODE"]["value"] == "mine" and rows["PORT"]["value"] == "9000"
    sources = json.dumps(rows["MODE"]) + json.dumps(rows["SHARED"])
    assert "tuirunner.local.toml [processes.web.env]" in json.dumps(rows["MODE"])
    assert "pyproject.toml [tool.tuirunner.processes.web.env]" in json.dumps(rows["SHARED"])
    assert sources
    (tmp_path / "tuirunner.local.toml").write_text("[processes.web]\ntimeout = 'x'\n")
    result = run_cli(["check"], tmp_path)
    assert result.returncode == 1
    assert "tuirunner.local.toml: processes.web.timeout" in result.stderr


def test_an_edit_undone_before_the_restart_is_no_longer_pending(run):
    root = run({"Procfile": f"web: {sleeper('web')}\n"})
    wait_for(lambda: state_of(root, "web.1") == "running")
    (root / "Procfile").write_text(f"web: {sleeper('web2')}\n")
    wait_for(lambda: ps(root)["web.1"]["stale_settings"] == "command")
    (root / "Procfile").write_text(f"web: {sleeper('web')}\n")
    wait_for(lambda: ps(root)["web.1"]["stale_settings"] is None, message="the edit undone")


def test_a_process_waiting_for_a_dependency_the_settings_no_longer_name_starts(run):
    root = run(
        {
            "Procfile": f"slow: {sleeper('slow')}\napp: {sleeper('app')}\n",
            "tuirunner.toml": '[processes.slow]\nready = { log = "NEVER", timeout = 600 }\n'
            '[processes.app]\ndepends_on = { slow = "ready" }\n',
        }
    )
    wait_for(lambda: state_of(root, "app.1") == "waiting", message="app waiting for slow")
    (root / "tuirunner.toml").write_text(
        '[processes.slow]\nready = { log = "NEVER", timeout = 600 }\n'
    )
    wait_for(lambda: state_of(root, "app.1") == "running", message="app started")


def test_restart_all_waits_for_the_dependencys_new_run_a_crashed_process_too(run):
    # R (restart with no names): release runs again (for long, this time); web, and the worker
    # that crashed (waiting for its next try), wait for that run to complete: they do not start
    # on the last one.
    root = run(
        {
            # (release last: each restart of R is under way before release's has begun)
            "Procfile": f"web: {sleeper('web')}\nworker: echo up; sleep 1; exit 3\n"
            "release: if [ -e again ]; then sleep 600; fi; echo migrated\n",
            "tuirunner.toml": "[processes.release]\noneshot = true\n"
            '[processes.web]\ndepends_on = { release = "completed" }\n'
            '[processes.worker]\ndepends_on = { release = "completed" }\n'
            'autorestart = "on-failure"\nbackoff = { initial = 600, max = 600 }\n',
        }
    )

    def state(name: str) -> str | None:
        return ps(root).get(name, {}).get("state")

    wait_for(lambda: state("worker.1") == "crashed", message="worker crashed")
    assert state("web.1") == "running"
    (root / "again").write_text("")
    assert run_cli(["restart"], root).returncode == 0
    wait_for(lambda: state("release.1") == "running", message="release again")
    now = ps(root)
    assert (now["web.1"]["state"], now["worker.1"]["state"]) == ("waiting", "waiting"), now


def test_a_process_added_not_started_is_not_started_until_asked_and_r_leaves_it(run):
    root = run({"Procfile": f"web: {sleeper('web')}\n"})
    wait_for(lambda: state_of(root, "web.1") == "running")
    added = run_cli(["add", "--no-start", "later", "--", "echo later up; sleep 600"], root)
    assert added.returncode == 0, added.stderr
    later = ps(root)["later.1"]
    assert (later["state"], later["not_started"]) == ("not started", True), later
    assert run_cli(["restart"], root).returncode == 0  # R: what never started stays so
    assert ps(root)["later.1"]["pid"] is None
    assert run_cli(["restart", "later"], root).returncode == 0  # by name: it starts
    wait_for(lambda: "later up" in run_cli(["logs", "later"], root).stdout)


def test_a_procfile_line_named_as_an_added_process_makes_it_the_procfiles(run):
    root = run({"Procfile": f"web: {sleeper('web')}\n"})
    wait_for(lambda: state_of(root, "web.1") == "running")
    assert run_cli(["add", "extra", "--", "echo added; sleep 600"], root).returncode == 0
    (root / "Procfile").write_text(f"web: {sleeper('web')}\nextra: {sleeper('extra')}\n")
    wait_for(
        lambda: "restart to apply" in (ps(root)["extra.1"]["detail"] or ""),
        message="the reload applied (extra's command is the Procfile's at its next start)",
    )
    # A process of the Procfile now: remove refuses it, and it stays in the run.
    refused = run_cli(["remove", "extra"], root)
    assert refused.returncode == 1 and "extra.1 is in the Procfile" in refused.stderr
    assert "extra.1" in ps(root)
