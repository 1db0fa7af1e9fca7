"""The settings' per-process policy wired to real processes: a crash restarted with backoff,
dependencies waiting on real ready checks, the stop order and stop signals and timeouts
observed by the processes themselves, the guard's timeout, log files, the per-process
environment, resource sampling and restarts on file changes.

The decisions themselves (every branch of dependencies, backoff, oneshots, starts, stops and
restarts by hand) are replayed without processes in tests/unit/test_policy.py.

No test measures a duration: each asserts orders, states and the recorded backoff delays.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import time

import psutil
import pytest

from tests.helpers import (
    PYTHON,
    Runner,
    clean_env,
    free_port_block,
    over_the_wire,
    run_cli,
    text,
    until,
    wait_for,
    write_files,
)
from tuirunner.client import Client
from tuirunner.environment import load_environment
from tuirunner.events import InfoChanged, State, StateChanged
from tuirunner.options import RunOptions
from tuirunner.procfile import formation, parse_procfile_text
from tuirunner.project import load_project
from tuirunner.settings import settings_from_dict
from tuirunner.supervisor import Supervisor

PY = shlex.quote(PYTHON)


def make(tmp_path, procfile: str, settings: dict, timeout: float = 5.0, base_port=None, **env):
    pf = parse_procfile_text(procfile, tmp_path / "Procfile")
    config = settings_from_dict(settings, tmp_path / "tuirunner.toml")
    config.validate_processes(pf)
    environment = load_environment([], clean_env(**env), tmp_path)
    instances = formation(pf, base_port=base_port or free_port_block())
    return Supervisor(instances, environment, tmp_path, timeout=timeout, settings=config)


def record(sup) -> list[tuple[str, State]]:
    """Every state change, as (process, new state), in order."""
    changes: list[tuple[str, State]] = []
    sup.subscribe(
        lambda e: changes.append((e.process.name, e.new)) if isinstance(e, StateChanged) else None
    )
    return changes


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def listener(delay: float = 0.0, port: str = "$PORT") -> str:
    """A command that listens on *port* after *delay* seconds, from a grandchild (the shell
    stays: no exec), and prints "listening"."""
    script = (
        f"import socket, sys, time; time.sleep({delay}); s = socket.socket(); "
        "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
        "s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); "
        "print('listening', flush=True); time.sleep(600)"
    )
    return f"{PY} -c {shlex.quote(script)} {port}; true"


# --- automatic restarts -------------------------------------------------------------------------


async def test_backoff_delays_double_up_to_max_and_the_detail_says_so(tmp_path, cleanup):
    sup = make(
        tmp_path,
        "flaky: echo boom; exit 3\nsteady: sleep 600\n",
        {
            "processes": {
                "flaky": {"autorestart": "on-failure", "backoff": {"initial": 0.1, "max": 0.4}}
            }
        },
    )
    cleanup(sup)
    details = []
    sup.subscribe(
        lambda e: (
            details.append(e.process.detail())
            if isinstance(e, StateChanged) and e.new is State.EXITED
            else None
        )
    )
    sup.start_all()
    flaky = sup.get("flaky.1")
    await until(lambda: flaky.start_count >= 6, message="six starts")
    assert list(flaky.delays)[:5] == [0.1, 0.2, 0.4, 0.4, 0.4]
    assert details[0].startswith("crashed — next try in")
    assert details[3].startswith("crashed 4× in ") and "next try in" in details[3]
    await until(lambda: flaky.state is State.EXITED)
    assert flaky.crashed and flaky.label() == ("crashed: exit 3", "crashed")
    assert sup.get("steady.1").restart_count == 0
    await sup.stop_all()


# --- dependencies and readiness -----------------------------------------------------------------


async def test_a_dependent_starts_only_once_the_port_of_its_dependency_is_open(tmp_path, cleanup):
    base = free_port_block()
    sup = make(
        tmp_path,
        f"db: {listener(delay=0.5)}\napp: echo app up; sleep 600\n",
        {
            "processes": {
                "db": {"ready": {"port": "$PORT", "interval": 0.1}},
                "app": {"depends_on": {"db": "ready"}},
            }
        },
        base_port=base,
    )
    cleanup(sup)
    seen = {}
    sup.subscribe(
        lambda e: (
            seen.setdefault("db open when app started", port_open(base))
            if isinstance(e, StateChanged) and e.process.name == "app.1" and e.new is State.RUNNING
            else None
        )
    )
    changes = record(sup)
    sup.start_all()
    db, app = sup.get("db.1"), sup.get("app.1")
    assert db.state is State.STARTING and db.ready is False and db.label()[0] == "starting"
    assert app.waiting_for == "db.1: ready"
    await until(lambda: app.state is State.RUNNING)
    assert seen == {"db open when app started": True}
    assert changes.index(("db.1", State.RUNNING)) < changes.index(("app.1", State.RUNNING))
    assert db.ready is True and db.detail() == "ready"
    await sup.stop_all()


async def test_not_ready_within_its_timeout_blocks_the_dependents_and_says_why(tmp_path, cleanup):
    base = free_port_block()
    sup = make(
        tmp_path,
        "db: sleep 600\napp: sleep 600\n",
        {
            "processes": {
                "db": {"ready": {"port": base + 99, "timeout": 0.5, "interval": 0.1}},
                "app": {"depends_on": {"db": "ready"}},
            }
        },
        base_port=base,
    )
    cleanup(sup)
    sup.start_all()
    db, app = sup.get("db.1"), sup.get("app.1")
    await until(lambda: app.blocked is not None)
    assert db.state is State.RUNNING and db.ready is False
    refused = f"connection refused at 127.0.0.1:{base + 99} (gave up after 0.5 s)"
    assert db.ready_error == refused
    assert db.detail() == f"not ready: {refused}"
    assert app.detail() == f"blocked: db.1 not ready: {refused}"
    assert "db.1 is not ready" in text(db)
    await sup.stop_all()


async def test_a_ready_check_on_a_variable_that_is_not_set_fails_at_once(tmp_path, cleanup):
    sup = make(
        tmp_path,
        "db: sleep 600\napp: sleep 600\n",
        {
            "processes": {
                # An hour's timeout: only failing at once lets the test see the verdict.
                "db": {"ready": {"http": "http://127.0.0.1:$DB_PORT/", "timeout": 3600}},
                "app": {"depends_on": {"db": "ready"}},
            }
        },
    )
    cleanup(sup)
    sup.start_all()
    db, app = sup.get("db.1"), sup.get("app.1")
    await until(lambda: app.blocked is not None)
    assert db.state is State.RUNNING and db.ready is False
    assert db.ready_error == "ready.http: $DB_PORT is not set"
    assert app.detail() == "blocked: db.1 not ready: ready.http: $DB_PORT is not set"
    await sup.stop_all()


async def test_log_http_and_command_checks(tmp_path, cleanup):
    base = free_port_block()
    server = (
        "import http.server, os, sys\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        self.send_response(int(sys.argv[1])); self.end_headers()\n"
        "    def log_message(self, *a): pass\n"
        "http.server.HTTPServer(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()\n"
    )
    (tmp_path / "server.py").write_text(server)
    sup = make(
        tmp_path,
        "logs: echo starting; sleep 0.2; printf '\\033[32mListening\\033[0m on it\\n'; sleep 600\n"
        f"good: exec {PY} server.py 302\n"
        f"bad: exec {PY} server.py 500\n"
        "cmd: sleep 600\n",
        {
            "processes": {
                "logs": {"ready": {"log": "^Listening on"}},
                "good": {"ready": {"http": "http://127.0.0.1:$PORT/", "interval": 0.1}},
                "bad": {
                    "ready": {"http": "http://127.0.0.1:$PORT/x", "timeout": 1, "interval": 0.1}
                },
                "cmd": {
                    "ready": {"command": 'test "$GREETING-$PS" = hi-cmd.1', "interval": 0.1},
                    "env": {"GREETING": "hi"},
                },
            }
        },
        base_port=base,
    )
    cleanup(sup)
    sup.start_all()
    procs = {name: sup.get(f"{name}.1") for name in ("logs", "good", "bad", "cmd")}
    await until(
        lambda: all(p.state is State.RUNNING for p in procs.values()),
        message=f"all running: {procs}",
    )
    await until(lambda: procs["bad"].ready_error is not None)
    assert [procs[n].ready for n in ("logs", "good", "cmd")] == [True, True, True]
    assert procs["bad"].ready is False
    assert procs["bad"].ready_error == (
        f"HTTP 500 from http://127.0.0.1:{base + 200}/x (gave up after 1 s)"
    )
    await sup.stop_all()


# --- stopping, the environment, log files ---------------------------------------------------------


async def test_stop_signal_and_the_process_timeout(tmp_path, cleanup, mark):
    script = (
        "import signal, sys, time\n"
        "def bye(*a): print('got', signal.Signals(a[0]).name, flush=True); sys.exit(0)\n"
        "signal.signal(signal.SIGINT, bye); signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('up', flush=True); time.sleep(600)\n"
    )
    (tmp_path / "polite.py").write_text(script)
    sup = make(
        tmp_path,
        f"polite: exec {PY} polite.py\n"
        f"stubborn: exec {PY} -c 'import signal,time; signal.signal(signal.SIGTERM, "
        f"signal.SIG_IGN); print(1, flush=True); time.sleep(600)' {mark}\n",
        {"processes": {"polite": {"stop_signal": "INT"}, "stubborn": {"timeout": 0.3}}},
        timeout=60,  # the run's: far longer than the test would wait
    )
    cleanup(sup)
    notices = []
    sup.subscribe(lambda e: notices.append(getattr(e, "message", None)))
    sup.start_all()
    polite, stubborn = sup.get("polite.1"), sup.get("stubborn.1")
    await until(lambda: "up" in text(polite) and "1" in text(stubborn))
    await asyncio.wait_for(sup.stop("polite.1"), 20)
    assert "got SIGINT" in text(polite) and polite.exit.success and not polite.forced
    assert any(n and n.startswith("sending SIGINT to polite.1") for n in notices)
    await asyncio.wait_for(sup.stop("stubborn.1"), 20)  # 0.3 s, not the run's 60
    assert stubborn.forced and stubborn.exit.signal == signal.SIGKILL
    await sup.stop_all()


RECORDER = (
    "import signal, sys, time\n"
    "name, linger = sys.argv[1], float(sys.argv[2])\n"
    "def note(what):\n"
    "    with open('events', 'a') as f:\n"
    "        f.write(f'{name} {what}\\n')\n"
    "def bye(*a):\n"
    "    note('term'); time.sleep(linger); note('exit'); sys.exit(0)\n"
    "signal.signal(signal.SIGTERM, bye)\n"
    "signal.signal(signal.SIGHUP, signal.SIG_IGN)  # its terminal may close before the end\n"
    "note('up')\n"
    "while True:\n"
    "    time.sleep(1)\n"
)


async def test_stop_all_stops_dependents_first_and_unrelated_processes_in_parallel(
    tmp_path, cleanup
):
    # Each process notes in one file (appending, so the lines are in the order of the events)
    # when it got SIGTERM and when it exits; web takes its time to exit.
    (tmp_path / "recorder.py").write_text(RECORDER)
    sup = make(
        tmp_path,
        f"db: exec {PY} recorder.py db 0\n"
        f"web: exec {PY} recorder.py web 2\n"
        f"clock: exec {PY} recorder.py clock 0\n",
        {"processes": {"web": {"depends_on": ["db"], "timeout": 20}}},
        timeout=20,
    )
    cleanup(sup)
    sup.start_all()
    events = tmp_path / "events"
    await until(lambda: events.exists() and events.read_text().count(" up") == 3)
    await asyncio.wait_for(sup.stop_all(), 60)
    lines = events.read_text().splitlines()[3:]
    assert sorted(lines) == sorted(
        f"{n} {w}" for n in ("db", "web", "clock") for w in ("term", "exit")
    )
    # web stops (signal sent, exited) before the db it depends on gets its signal...
    assert lines.index("web term") < lines.index("web exit") < lines.index("db term")
    # ...while clock, unrelated, is stopped with web, not after it.
    assert lines.index("clock term") < lines.index("web exit")
    assert all(p.state is State.STOPPED and not p.forced for p in sup)


def test_the_guard_waits_for_the_longest_process_timeout(tmp_path):
    # The run's timeout is 0.2 s, slow's own 30 s. When the keeper dies, its children die with
    # it (PR_SET_PDEATHSIG) and their children re-parent to the guard, which stops them: the
    # recorder, a grandchild under slow's shell, may take the 2 s it needs to exit by itself.
    (tmp_path / "recorder.py").write_text(RECORDER)
    mark = f"slow{os.getpid()}x{int(time.time() * 1000)}"
    write_files(
        tmp_path,
        {
            "Procfile": f"slow: {PY} recorder.py slow 2 {mark}; true\n",
            "tuirunner.toml": "[processes.slow]\ntimeout = 30\n",
        },
    )
    args = ["start", "-D", "-t", "0.2", "-p", str(free_port_block())]
    assert run_cli(args, tmp_path).returncode == 0
    events = tmp_path / "events"
    try:
        wait_for(lambda: events.exists() and "slow up" in events.read_text(), 20)
        client = Client.connect(tmp_path, output=False, tail=0)
        client.close()
        os.kill(client.keeper_pid, signal.SIGKILL)
        wait_for(lambda: "slow exit" in events.read_text(), 30, message="slow's own exit")
        assert events.read_text().splitlines() == ["slow up", "slow term", "slow exit"]
        wait_for(lambda: not marked(mark), 20, message="slow gone")
    finally:
        for p in marked(mark):
            with contextlib.suppress(psutil.Error):
                p.kill()


def marked(mark: str) -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["cmdline", "status"]):
        with contextlib.suppress(psutil.Error):
            if p.info["status"] != psutil.STATUS_ZOMBIE and mark in " ".join(
                p.info["cmdline"] or ()
            ):
                found.append(p)
    return found


async def test_the_process_env_is_between_the_env_files_and_port(tmp_path, cleanup):
    write_files(
        tmp_path,
        {
            "Procfile": 'web: echo "$GREETING $API_TOKEN $PORT"; sleep 600\nworker: sleep 600\n',
            ".env": "GREETING=from-file\n",
            "tuirunner.toml": (
                '[processes.web]\nenv = { GREETING = "from-settings", API_TOKEN = "t0k3n-x" }\n'
            ),
        },
    )
    project = load_project(RunOptions(app_root=str(tmp_path), port=free_port_block()))
    sup = Supervisor(
        project.validate_run(), project.environment, tmp_path, settings=project.settings
    )
    cleanup(sup)
    sup.start_all()
    web = sup.get("web.1")
    await until(lambda: "from-settings" in text(web))
    assert text(web) == f"from-settings t0k3n-x {web.port}"
    var = web.environment.variables["GREETING"]
    assert str(var.source) == "tuirunner.toml [processes.web.env]"
    assert [str(d.source) for d in var.shadowed] == [".env:1"]
    assert "replaces .env:1" in var.notes()
    assert sup.environment_for(sup.get("worker.1")).get("GREETING") == "from-file"
    # What crosses the socket: masked, with its source, for the client's own for_process.
    from tuirunner.environment import Environment

    wire = over_the_wire(sup.environment.to_wire(b"k" * 16))
    copy = Environment.from_wire(wire).for_process("web.1", web.port)
    token = copy.variables["API_TOKEN"]
    assert token.value != "t0k3n-x" and token.secret
    assert "t0k3n-x" not in repr(wire)
    assert str(token.source) == "tuirunner.toml [processes.web.env]"
    assert copy.get("GREETING") == "from-settings"
    await sup.stop_all()


async def test_log_file_strips_colours_and_rotates(tmp_path, cleanup):
    script = (
        "import sys\n"
        "print('\\x1b[31mred\\x1b[0m line', flush=True)\n"
        "sys.stdout.write('progress 10%\\rprogress 100%\\n'); sys.stdout.flush()\n"
        # 3,000 lines of 48 characters: past two rotations at the 64 KiB floor of log_max_bytes
        "for i in range(3000): print(f'line {i:04d} ' + 'x' * 38, flush=True)\n"
    )
    (tmp_path / "talk.py").write_text(script)
    sup = make(
        tmp_path,
        f"talk: {PY} talk.py\n",
        {
            "processes": {
                "talk": {"log_file": "log/talk.log", "log_max_bytes": 65536, "log_backups": 2}
            }
        },
    )
    cleanup(sup)
    sup.start_all()
    talk = sup.get("talk.1")
    await until(lambda: talk.state is State.EXITED)
    await asyncio.get_running_loop().run_in_executor(None, sup.close)
    logs = tmp_path / "log"
    assert sorted(p.name for p in logs.iterdir()) == ["talk.log", "talk.log.1", "talk.log.2"]
    for path in logs.iterdir():
        assert path.stat().st_size <= 65536
        assert "\x1b" not in path.read_text() and "\r" not in path.read_text()
    assert (logs / "talk.log").read_text().splitlines()[-1].startswith("line 2999 ")
    everything = "".join((logs / n).read_text() for n in ("talk.log.2", "talk.log.1", "talk.log"))
    lines = everything.splitlines()
    assert "line 2999 " + "x" * 38 in lines  # nothing cut in the middle of a line
    assert all(len(line) == 48 for line in lines if line.startswith("line "))


async def test_log_file_keeps_every_line_of_the_first_file(tmp_path, cleanup):
    sup = make(
        tmp_path,
        "talk: printf '\\033[1mbold\\033[0m\\nprogress 1%%\\rprogress 100%%\\nlast'\n",
        {"processes": {"talk": {"log_file": "talk.log"}}},
    )
    cleanup(sup)
    sup.start_all()
    talk = sup.get("talk.1")
    await until(lambda: talk.state is State.EXITED)
    await asyncio.get_running_loop().run_in_executor(None, sup.close)
    lines = (tmp_path / "talk.log").read_text().splitlines()
    assert lines[0].startswith("── talk.1 started (pid ")
    assert lines[1:] == ["bold", "progress 100%", "last"]


# --- resources ----------------------------------------------------------------------------------


async def test_sampling_finds_the_tree_memory_and_the_ports_it_listens_on(tmp_path, cleanup):
    base = free_port_block()
    sup = make(
        tmp_path,
        f"mail: {listener(port=str(base + 42))}\nquiet: sleep 600\n",
        {},
        base_port=base,
    )
    cleanup(sup)
    infos = []
    sup.subscribe(lambda e: infos.append(e.process.name) if isinstance(e, InfoChanged) else None)
    sup.start_all()
    mail, quiet = sup.get("mail.1"), sup.get("quiet.1")
    await until(lambda: "listening" in text(mail))
    sup.sample_resources()
    await asyncio.sleep(0.2)
    sup.sample_resources()
    assert mail.ports == (base + 42,)  # a grandchild listens, not on $PORT
    assert mail.memory is not None and mail.memory >= 1 and mail.cpu is not None
    assert quiet.ports == () and quiet.cpu == 0
    assert mail.resources().endswith(f":{base + 42}") and "MB" in mail.resources()
    before = len(infos)
    sup.sample_resources()  # nothing changed as shown: no event
    assert len(infos) - before <= 1  # (a CPU blip of the python child, at most)
    await sup.stop_all()
    assert mail.resources() is None


def test_a_tree_s_descriptors_are_read_again_only_when_the_listening_sockets_change(
    tmp_path, monkeypatch
):
    """A shell loop's members change every round (its ``sleep``): the sampler reads the tree's
    descriptors again only once some socket starts or stops listening (a new one is a new
    inode), and then finds the port."""
    from tuirunner import resources

    if not resources.Sampler().linux:
        pytest.skip("the /proc sampler")
    port = free_port_block()
    flag = tmp_path / "go"
    loop = subprocess.Popen(
        ["sh", "-c", f"while [ ! -e {flag} ]; do sleep 0.05; done; {listener(port=str(port))}"],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        scans = []
        inodes = resources._socket_inodes
        monkeypatch.setattr(
            resources, "_socket_inodes", lambda pid: scans.append(pid) or inodes(pid)
        )
        sampler = resources.Sampler()
        assert sampler.sample([loop.pid])[loop.pid].ports == ()
        quiet_rounds = 0
        for _ in range(3):
            time.sleep(0.12)  # new sleeps in the tree
            seen, before = sampler._sockets[loop.pid][0], len(scans)
            assert sampler.sample([loop.pid])[loop.pid].ports == ()
            if sampler._sockets[loop.pid][0] == seen:  # (another test's server may come or go)
                assert len(scans) == before
                quiet_rounds += 1
        assert quiet_rounds
        flag.touch()
        assert loop.stdout is not None and b"listening" in loop.stdout.readline()
        before = len(scans)
        assert sampler.sample([loop.pid])[loop.pid].ports == (port,)
        assert len(scans) > before
    finally:
        os.killpg(loop.pid, signal.SIGKILL)
        loop.wait()


# --- watching -----------------------------------------------------------------------------------


async def test_files_changed_restart_only_the_processes_watching_them(tmp_path, cleanup):
    sup = make(
        tmp_path,
        "web: sleep 600\nworker: sleep 600\nstopped: sleep 600\n",
        {
            "processes": {
                "worker": {"watch": ["**/*.py"], "ignore": ["migrations"]},
                "stopped": {"watch": ["*.py"]},
            }
        },
    )
    cleanup(sup)
    sup.start_all()
    web, worker = sup.get("web.1"), sup.get("worker.1")
    await until(lambda: all(p.state is State.RUNNING for p in sup))
    await sup.stop("stopped.1")
    pids = web.pid, worker.pid
    assert sup.files_changed(["node_modules/x/index.py", "app/migrations/0001_initial.py"]) == []
    assert sup.files_changed(["README.md"]) == []
    assert sup.files_changed(["app/models.py"]) == [worker]
    await until(lambda: worker.pid not in (None, pids[1]) and worker.state is State.RUNNING)
    assert worker.detail() == "restarted: app/models.py changed"
    assert "restarted (pid" in text(worker) and "app/models.py changed" in text(worker)
    assert web.pid == pids[0] and sup.get("stopped.1").state is State.STOPPED
    await sup.stop_all()


# --- through the keeper and the command line ---------------------------------------------------


def test_a_file_change_restarts_only_the_watching_process(tmp_path):
    write_files(
        tmp_path,
        {
            "Procfile": "web: sleep 600\nworker: sleep 600\n",
            "tuirunner.toml": '[processes.worker]\nwatch = ["*.py"]\n',
            "app/models.py": "x = 1\n",
            "settings.py": "y = 1\n",
            ".env": "A=1\n",
        },
    )
    assert run_cli(["start", "-D", "-p", str(free_port_block())], tmp_path).returncode == 0
    try:
        first = ps(tmp_path)
        (tmp_path / "app" / "models.py").write_text("x = 2\n")
        after = wait_for(lambda: (p := ps(tmp_path))["worker.1"]["restarts"] == 1 and p, 20)
        assert after["worker.1"]["pid"] != first["worker.1"]["pid"]
        assert after["worker.1"]["detail"] == "restarted: app/models.py changed"
        assert after["web.1"]["pid"] == first["web.1"]["pid"]
        # A file at the top of the app root is polled rather than watched: it works too.
        (tmp_path / "settings.py").write_text("y = 2\n")
        after = wait_for(lambda: (p := ps(tmp_path))["worker.1"]["restarts"] == 2 and p, 20)
        assert after["worker.1"]["detail"] == "restarted: settings.py changed"
        # And the env file is still reloaded.
        from tuirunner.client import Client

        def env_version() -> int:
            client = Client.connect(tmp_path, output=False, tail=0)
            client.close()
            return client.env_version

        version = env_version()
        (tmp_path / ".env").write_text("A=2\n")
        wait_for(lambda: env_version() > version, 20)
        assert ps(tmp_path)["web.1"]["restarts"] == 0
    finally:
        run_cli(["down"], tmp_path)


def ps(root) -> dict[str, dict]:
    result = run_cli(["ps", "--json"], root)
    assert result.returncode == 0, result.stderr
    return {p["name"]: p for p in json.loads(result.stdout)}


def test_ps_shows_the_policy_state_and_the_resources(tmp_path):
    base = free_port_block()
    write_files(
        tmp_path,
        {
            "Procfile": (
                f"mail: {listener(port=str(base + 77))}\n"
                "release: exit 2\n"
                "web: sleep 600\n"
                "flaky: exit 1\n"
            ),
            "tuirunner.toml": (
                "[processes.release]\noneshot = true\n"
                '[processes.web]\ndepends_on = { release = "completed" }\n'
                '[processes.flaky]\nautorestart = "on-failure"\n'
                "backoff = { initial = 30 }\n"
            ),
        },
    )
    assert run_cli(["start", "-D", "-p", str(base)], tmp_path).returncode == 0
    try:
        procs = wait_for(
            lambda: (
                (p := ps(tmp_path))["mail.1"]["listening_ports"]
                and p["flaky.1"]["next_start_in"]
                and p["web.1"]["blocked"]
                and p
            ),
            20,
        )
        assert procs["mail.1"]["listening_ports"] == [base + 77]
        assert procs["mail.1"]["memory_mb"] >= 1 and procs["mail.1"]["cpu_percent"] is not None
        assert procs["web.1"]["state"] == "blocked" and procs["web.1"]["status"] == "blocked"
        assert procs["web.1"]["detail"] == "blocked: release.1 exited with code 2"
        assert procs["flaky.1"]["failures"] == 1
        assert procs["flaky.1"]["detail"].startswith("crashed — next try in")
        table = run_cli(["ps"], tmp_path).stdout
        assert "LISTENS" in table and f":{base + 77}" in table
        assert "blocked: release.1 exited with code 2" in table
        result = run_cli(["restart", "web"], tmp_path)  # still blocked: says so, fails
        assert result.returncode == 1
        assert "web.1 blocked: release.1 exited with code 2" in result.stdout
    finally:
        run_cli(["down"], tmp_path)


def test_plain_mode_oneshots_and_crash_loops_do_not_end_the_run(tmp_path):
    write_files(
        tmp_path,
        {
            "Procfile": (
                "release: echo migrated\n"
                "flaky: echo x >> crashes; exit 1\n"
                "ender: while [ $(wc -l 2>/dev/null < crashes || echo 0) -lt 3 ]; do sleep 0.05;"
                " done; exit 4\n"
                "web: sleep 600\n"
            ),
            "tuirunner.toml": (
                "[processes.release]\noneshot = true\n"
                '[processes.flaky]\nautorestart = "on-failure"\n'
                "backoff = { initial = 0.1, max = 0.1 }\n"
            ),
        },
    )
    with Runner(["--no-tui", "-p", str(free_port_block())], tmp_path) as runner:
        assert runner.wait(60) == 4
    output = runner.output
    assert "release.1 stopped (rc=0); completed" in output
    assert output.count("flaky.1 stopped (rc=1); crashed") >= 3
    assert "ender.1 stopped (rc=4)" in output


def test_plain_mode_ends_with_0_when_every_oneshot_completed(tmp_path):
    write_files(
        tmp_path,
        {
            "Procfile": "a: echo a\nb: echo b\n",
            "tuirunner.toml": "[processes.a]\noneshot = true\n[processes.b]\noneshot = true\n",
        },
    )
    result = run_cli(["--no-tui"], tmp_path)
    assert result.returncode == 0, result.stdout
    assert "every process completed" in result.stdout


def test_selected_types_bring_their_dependencies_unless_their_concurrency_is_0(tmp_path):
    write_files(
        tmp_path,
        {
            "Procfile": "release: echo migrated\nweb: echo web up; exit 5\nother: sleep 600\n",
            "tuirunner.toml": (
                "[processes.release]\noneshot = true\n"
                '[processes.web]\ndepends_on = { release = "completed" }\n'
            ),
        },
    )
    result = run_cli(["--no-tui", "web"], tmp_path)
    assert result.returncode == 5
    out = result.stdout
    assert out.index("release.1 stopped (rc=0); completed") < out.index("web.1 started")
    assert "other.1" not in out
    result = run_cli(["--no-tui", "web", "-c", "release=0"], tmp_path)
    assert result.returncode == 5 and "release.1" not in result.stdout
