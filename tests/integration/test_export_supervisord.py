"""A real supervisord runs an export: every instance gets its PORT and PS, the servers answer on
their ports, values that are hard to quote arrive unchanged, and ``supervisorctl stop all``
leaves no process behind (children of the programs included)."""

from __future__ import annotations

import getpass
import json
import shlex
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import (
    PYTHON,
    assert_no_leftovers,
    free_port_block,
    port_is_free,
    processes_with,
    wait_for,
    write_files,
)
from tuirunner.cli import main

BIN = Path(sys.executable).parent
SUPERVISORD = shutil.which("supervisord", path=str(BIN))
SUPERVISORCTL = shutil.which("supervisorctl", path=str(BIN))
PY = shlex.quote(PYTHON)

# The worker writes its environment to DIR/PS.json, then sleeps; a child it leaves in the
# background (the "&") must be stopped too.
DUMP = (
    "import json, os, sys, time; "
    "json.dump(dict(os.environ), open(os.path.join(sys.argv[1], os.environ['PS'] + '.json'), 'w'));"
    " time.sleep(600)"
)
SLEEP = "import time; time.sleep(600)"

# python-dotenv syntax; the values as the processes must receive them are in EXPECTED
ENV_FILE = r"""
PERCENT="100% %(here)s %(ENV_HOME)s"
QUOTES='say "hi" now'
BOTH="it's \"both\""
DOLLAR='$HOME, $PORT and $$'
NEWLINE="line one\nline two"
COMMA=a,b,c
UNICODE="ünïcode ✓ 😀"
COMMENTS="a ;b #c"
SECRET_KEY=django-insecure-s3cr3t
"""
EXPECTED = {
    "PERCENT": "100% %(here)s %(ENV_HOME)s",
    "QUOTES": 'say "hi" now',
    "BOTH": 'it\'s "both"',
    "DOLLAR": "$HOME, $PORT and $$",
    "NEWLINE": "line one\nline two",
    "COMMA": "a,b,c",
    "UNICODE": "ünïcode ✓ 😀",
    "COMMENTS": "a ;b #c",
    "SECRET_KEY": "django-insecure-s3cr3t",
}

pytestmark = pytest.mark.skipif(SUPERVISORD is None, reason="supervisor is not installed")


def ctl(conf: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SUPERVISORCTL, "-c", str(conf), *args], capture_output=True, text=True, timeout=60
    )


def http_status(port: int) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
            return response.status
    except OSError:
        return None


def test_supervisord_runs_the_export_and_stops_everything(tmp_path, mark, monkeypatch):
    monkeypatch.delenv("PORT", raising=False)
    app, out, logs, dumps = (tmp_path / d for d in ("app", "conf", "logs", "dumps"))
    served = tmp_path / mark  # http.server serves it; its path puts the mark in the command line
    for d in (logs, dumps, served):
        d.mkdir()
    procfile = (
        f"web: {PY} -m http.server $PORT --bind 127.0.0.1 --directory {served}\n"
        f"worker: {PY} -c {shlex.quote(SLEEP)} {mark} & "
        f"exec {PY} -c {shlex.quote(DUMP)} {dumps} {mark}\n"
    )
    write_files(app, {"Procfile": procfile, ".env": ENV_FILE})
    base = free_port_block()
    args = ["-d", str(app), "-p", str(base), "-c", "web=2", "export", "supervisord", str(out)]
    assert main([*args, "-a", "demo", "-u", getpass.getuser(), "-l", str(logs)]) == 0
    conf = tmp_path / "supervisord.conf"
    conf.write_text(
        f"[unix_http_server]\nfile={tmp_path}/supervisor.sock\n"
        f"[supervisord]\nlogfile={tmp_path}/supervisord.log\npidfile={tmp_path}/supervisord.pid\n"
        f"childlogdir={logs}\n"
        "[rpcinterface:supervisor]\n"
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n"
        f"[supervisorctl]\nserverurl=unix://{tmp_path}/supervisor.sock\n"
        f"[include]\nfiles={out}/*.conf\n"
    )
    daemon = subprocess.Popen(
        [SUPERVISORD, "-n", "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        names = ["demo:demo-web-1", "demo:demo-web-2", "demo:demo-worker-1"]

        def all_running() -> bool:
            lines = [line.split() for line in ctl(conf, "status").stdout.splitlines()]
            states = {words[0]: words[1] for words in lines if len(words) > 1}
            return all(states.get(n) == "RUNNING" for n in names)

        wait_for(all_running, 30, message="every program RUNNING")
        wait_for(lambda: http_status(base) == 200, 20, message=f"web.1 answering on {base}")
        wait_for(lambda: http_status(base + 1) == 200, 20, message=f"web.2 on {base + 1}")

        worker = dumps / "worker.1.json"
        wait_for(worker.exists, 20, message="the worker's environment")
        env = wait_for(lambda: _read_json(worker), 20, message="a complete json file")
        assert env["PORT"] == str(base + 100) and env["PS"] == "worker.1"
        assert {k: env.get(k) for k in EXPECTED} == EXPECTED
        # two web servers, the worker, and its background child (plus their shells)
        assert len(processes_with(mark)) >= 4

        stopped = ctl(conf, "stop", "all")
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        assert_no_leftovers(mark)
        assert port_is_free(base) and port_is_free(base + 1)
    finally:
        ctl(conf, "shutdown")
        try:
            daemon.wait(30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(5)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except ValueError:  # still being written
        return None
