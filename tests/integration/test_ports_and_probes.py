"""Part B of the run as the developer shapes it, with real processes: a ``port`` of a process's
own whatever its place in the Procfile, the other types' ports as variables, ready checks that
say what is wrong while it is wrong, health checks after ready, and stop commands.

No test measures a duration: each waits for a condition and asserts what the processes saw."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from tests.helpers import (
    PYTHON,
    clean_env,
    free_port_block,
    run_cli,
    text,
    until,
    wait_for,
    write_files,
)
from tuirunner.environment import load_environment
from tuirunner.events import State
from tuirunner.procfile import formation, parse_procfile_text
from tuirunner.settings import settings_from_dict
from tuirunner.supervisor import Supervisor

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
        assert variables["TUIRUNNER_PORT_WEB"]["source"] == "tuirunner"
        assert variables["TUIRUNNER_PORT_WEB"]["notes"] == [
            "the port of web.1 (tuirunner.toml [processes.web.port])"
        ]
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


# --- a small HTTP server whose answers the tests choose -------------------------------------------

SERVER = """\
import http.server, json, os, sys
status_file, log_file = sys.argv[1], sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            status = int(open(status_file).read() or 200)
        except FileNotFoundError:
            status = 200
        with open(log_file, "a") as f:
            f.write(json.dumps({k.lower(): v for k, v in self.headers.items()}) + "\\n")
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b"ok" if status < 400 else b"broken")
    def log_message(self, *a):
        pass
print("serving", flush=True)
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"""


def server(status_file: str, log_file: str = "requests") -> str:
    return f"exec {PY} server.py {status_file} {log_file}"


def requests_seen(root) -> list[dict]:
    path = root / "requests"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_ready_checks_failure_is_in_ps_json_while_it_still_tries(tmp_path):
    base = free_port_block()
    write_files(
        tmp_path,
        {
            "server.py": SERVER,
            "status": "503",
            "Procfile": f"web: {server('status')}\n",
            "tuirunner.toml": (
                "[processes.web]\n"
                'ready = { http = "http://127.0.0.1:$PORT/health", timeout = 3600, '
                'headers = { X-Probe = "tuirunner" } }\n'
            ),
        },
    )
    assert run_cli(["start", "-D", "-p", str(base)], tmp_path).returncode == 0
    try:
        web = wait_for(lambda: (p := ps(tmp_path)["web.1"])["ready_tries"] >= 2 and p, 30)
        url = f"http://127.0.0.1:{base}/health"
        assert web["state"] == "starting" and web["ready"] is False
        assert web["ready_gave_up"] is False
        assert web["ready_error"].startswith(f"not ready yet: HTTP 503 from {url} (")
        assert " tries, " in web["ready_error"]
        assert web["detail"].startswith(f"not ready yet: HTTP 503 from {url}")
        assert f"not ready yet: HTTP 503 from {url}" in run_cli(["ps"], tmp_path).stdout
        # The pane says it once, not once per try.
        logs = run_cli(["logs"], tmp_path).stdout
        assert logs.count(f"web.1 is not ready yet: HTTP 503 from {url}") == 1
        # The Host header of a URL on an IP address is localhost, and the check's own headers
        # are sent.
        seen = requests_seen(tmp_path)
        assert seen[0]["host"] == f"localhost:{base}" and seen[0]["x-probe"] == "tuirunner"
        (tmp_path / "status").write_text("200")
        web = wait_for(lambda: (p := ps(tmp_path)["web.1"])["ready"] and p, 30)
        assert web["state"] == "running" and web["ready_error"] is None
        assert "web.1 is ready" in run_cli(["logs"], tmp_path).stdout
    finally:
        run_cli(["down"], tmp_path)


def test_a_health_check_failing_after_ready_restarts_the_process(tmp_path):
    """The case of runserver that keeps running after a reload that broke the code: it still
    listens, and answers 500. Its autorestart restarts it; the new one answers again."""
    base = free_port_block()
    write_files(
        tmp_path,
        {
            "server.py": SERVER,
            # A start repairs it (as a fixed file would): the server reads "status" per request.
            "Procfile": f"web: rm -f status; {server('status')}\n",
            "tuirunner.toml": (
                "[processes.web]\n"
                'autorestart = "on-failure"\n'
                'ready = { http = "http://127.0.0.1:$PORT/" }\n'
                'health = { http = "http://127.0.0.1:$PORT/", interval = 0.2, failures = 2 }\n'
            ),
        },
    )
    assert run_cli(["start", "-D", "-p", str(base)], tmp_path).returncode == 0
    try:
        wait_for(lambda: ps(tmp_path)["web.1"]["ready"], 30)
        assert ps(tmp_path)["web.1"]["restarts"] == 0
        (tmp_path / "status").write_text("500")
        web = wait_for(lambda: (p := ps(tmp_path)["web.1"])["restarts"] == 1 and p, 30)
        url = f"http://127.0.0.1:{base}/"
        assert web["started_because"] == f"unhealthy: HTTP 500 from {url}"
        logs = run_cli(["logs"], tmp_path).stdout
        assert f"web.1 health check failed (1 of 2): HTTP 500 from {url}" in logs
        assert f"web.1 is unhealthy (2 failures in a row): HTTP 500 from {url}" in logs
        assert f"restarted (pid {web['pid']}): unhealthy: HTTP 500 from {url}" in logs
        web = wait_for(lambda: (p := ps(tmp_path)["web.1"])["ready"] and p, 30)
        assert web["unhealthy"] is False and web["restarts"] == 1
    finally:
        run_cli(["down"], tmp_path)


def test_a_stop_command_runs_before_the_stop_signal(tmp_path):
    """``docker stop app-postgres`` stands for any command that stops the real work: here it
    writes to a file that the process, on SIGTERM, reads."""
    script = (
        "import os, signal, sys, time\n"
        "def bye(*a):\n"
        "    seen = open('stopped-by').read() if os.path.exists('stopped-by') else ''\n"
        "    open('events', 'a').write(f'SIGTERM after: {seen.strip() or \"nothing\"}\\n')\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, bye)\n"
        "print('up', flush=True)\n"
        "time.sleep(600)\n"
    )
    write_files(
        tmp_path,
        {
            "db.py": script,
            "Procfile": f"db: exec {PY} db.py\n",
            "tuirunner.toml": (
                "[processes.db]\n"
                'stop_command = "echo stopping $PS on $PORT; echo stop command > stopped-by"\n'
            ),
        },
    )
    assert run_cli(["start", "-D"], tmp_path).returncode == 0
    try:
        wait_for(lambda: "up" in run_cli(["logs"], tmp_path).stdout, 20)
        port = ps(tmp_path)["db.1"]["port"]
        result = run_cli(["stop", "db"], tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        assert (tmp_path / "events").read_text() == "SIGTERM after: stop command\n"
        logs = run_cli(["logs"], tmp_path).stdout
        assert "db.1: running its stop command: echo stopping" in logs
        assert f"stopping db.1 on {port}" in logs  # its output, in the pane
        assert "db.1: stop command exited with code 0" in logs
    finally:
        run_cli(["down"], tmp_path)


async def test_without_autorestart_an_unhealthy_process_runs_on_and_says_so(tmp_path, cleanup):
    write_files(tmp_path, {"server.py": SERVER, "status": "200"})
    base = free_port_block()
    pf = parse_procfile_text(f"web: {server('status')}\n", tmp_path / "Procfile")
    config = settings_from_dict(
        {
            "processes": {
                "web": {
                    "health": {"http": "http://127.0.0.1:$PORT/", "interval": 0.1, "failures": 3}
                }
            }
        },
        tmp_path / "tuirunner.toml",
    )
    environment = load_environment([], clean_env(), tmp_path)
    sup = Supervisor(formation(pf, base_port=base), environment, tmp_path, settings=config)
    cleanup(sup)
    sup.start_all()
    web = sup.get("web.1")
    # Without a ready check, failures count once a probe passed: it may still be starting.
    await until(lambda: len(requests_seen(tmp_path)) >= 2, message="probes")
    assert web.health_failures == 0 and not web.unhealthy
    (tmp_path / "status").write_text("500")
    await until(lambda: web.unhealthy, message="unhealthy")
    url = f"http://127.0.0.1:{base}/"
    assert web.state is State.RUNNING and web.restart_count == 0
    assert web.detail() == f"unhealthy: HTTP 500 from {url}"
    assert f"web.1 is unhealthy (3 failures in a row): HTTP 500 from {url}" in text(web)
    (tmp_path / "status").write_text("200")
    await until(lambda: not web.unhealthy, message="healthy again")
    assert "web.1 is healthy again" in text(web) and web.detail() is None
    await sup.stop_all()


# --- a real Django ---------------------------------------------------------------------------


@pytest.mark.slow
def test_against_django_the_host_header_passes_and_disallowedhost_gets_a_hint(tmp_path):
    pytest.importorskip("django")
    base = free_port_block()
    site = Path(__file__).with_name("django_site.py")
    write_files(
        tmp_path,
        {
            "site.py": site.read_text(),
            "Procfile": f"web: exec {PY} site.py\nadmin: exec {PY} site.py\n",
            "tuirunner.toml": (
                # web: the default Host header (localhost:PORT), which ALLOWED_HOSTS allows.
                '[processes.web]\nready = { http = "http://127.0.0.1:$PORT/" }\n'
                # admin: a Host it does not allow.
                '[processes.admin]\nready = { http = "http://127.0.0.1:$PORT/", '
                'host = "app.example.com", timeout = 3600 }\n'
            ),
        },
    )
    assert run_cli(["start", "-D", "-p", str(base)], tmp_path).returncode == 0
    try:
        procs = wait_for(
            lambda: (
                (p := ps(tmp_path))["web.1"]["ready"]
                and "HTTP 400" in (p["admin.1"]["ready_error"] or "")  # Django answers now
                and p
            ),
            60,
        )
        admin = procs["admin.1"]
        assert admin["state"] == "starting" and admin["ready_gave_up"] is False
        url = f"http://127.0.0.1:{base + 100}/"
        assert admin["ready_error"].startswith(
            f"not ready yet: HTTP 400 from {url} — Django's DisallowedHost: the Host header "
            "'app.example.com' is not in ALLOWED_HOSTS"
        )
        assert "ALLOWED_HOSTS" in run_cli(["ps"], tmp_path).stdout
    finally:
        run_cli(["down"], tmp_path)


async def test_a_stop_command_that_hangs_is_killed_and_the_signal_follows(tmp_path, cleanup):
    pf = parse_procfile_text("db: echo up; sleep 600\n", tmp_path / "Procfile")
    config = settings_from_dict(
        {"processes": {"db": {"stop_command": "echo trying; sleep 600", "timeout": 0.5}}},
        tmp_path / "tuirunner.toml",
    )
    environment = load_environment([], clean_env(), tmp_path)
    sup = Supervisor(
        formation(pf, base_port=free_port_block()), environment, tmp_path, settings=config
    )
    cleanup(sup)
    notices = []
    sup.subscribe(lambda e: notices.append(getattr(e, "message", None)))
    sup.start_all()
    db = sup.get("db.1")
    await until(lambda: "up" in text(db))
    await sup.stop("db.1")
    assert db.state is State.STOPPED
    out = text(db)
    assert "trying" in out and "db.1: stop command still running after 0.5 s: killed" in out
    assert "db.1: its stop command still running after 0.5 s: killed" in notices
    assert any(n and n.startswith("sending SIGTERM to db.1") for n in notices)
    assert sup.policy.stop_duration(db) == 1.0  # the guard waits for both
    await sup.stop_all()
