"""Services from URL variables and ports already taken, with real listeners and processes."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys

import psutil
import pytest

from tests.helpers import (
    PYTHON,
    clean_env,
    free_port_block,
    run_cli,
    text,
    token,
    until,
    wait_for,
    write_files,
)
from tests.integration.test_policy import make
from tuirunner.client import Client
from tuirunner.portholders import running
from tuirunner.protocol import StopStray
from tuirunner.settings import settings_from_dict
from tuirunner.settings.model import SettingsError

SECRET = "hunter2-pw"


def listen(port: int) -> socket.socket:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen()
    return s


def server(port: int, cwd, mark: str, **env: str) -> subprocess.Popen:
    """A real listener on *port*, in its own session (*mark* finds it)."""
    proc = subprocess.Popen(
        [PYTHON, "-m", "http.server", "--bind", "127.0.0.1", str(port), "--directory", mark],
        cwd=cwd,
        env=clean_env(**env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_for(lambda: _listening(port), message=f"listener on {port}")
    return proc


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_url_settings_are_validated(tmp_path):
    ok = settings_from_dict(
        {"processes": {"db": {"ready": {"url": "$DATABASE_URL"}}}}, tmp_path / "t.toml"
    )
    assert ok.process("db").ready.target == "$DATABASE_URL"
    settings_from_dict({"processes": {"db": {"ready": {"url": "redis://h:$P/0"}}}}, tmp_path)
    for bad, why in (
        ("sqlite:///x", "names no server"),
        ("localhost:5432", "expected a variable"),
        ("mongodb+srv://c.example.net/db", "DNS SRV"),
    ):
        with pytest.raises(SettingsError, match=why):
            settings_from_dict({"processes": {"db": {"ready": {"url": bad}}}}, tmp_path)


async def test_a_service_started_late_satisfies_the_url_check(tmp_path, cleanup):
    base = free_port_block()
    port = base + 99
    sup = make(
        tmp_path,
        "app: sleep 600\nweb: sleep 600\n",
        {
            "processes": {
                "app": {"ready": {"url": "$DATABASE_URL", "interval": 0.1}},
                "web": {"depends_on": {"app": "ready"}},
            }
        },
        base_port=base,
        DATABASE_URL=f"postgres://app:{SECRET}@127.0.0.1:{port}/app",
    )
    cleanup(sup)
    sup.start_all()
    app, web = sup.get("app.1"), sup.get("web.1")
    waiting = f"tuirunner: waiting for postgres at 127.0.0.1:{port} (DATABASE_URL)"
    await until(lambda: waiting in text(app), message="the waiting line")
    assert app.ready is False and web.waiting_for == "app.1: ready"
    with listen(port):
        await until(lambda: app.ready is True, message="ready once it listens")
        await until(lambda: web.pid is not None, message="web started")
    assert SECRET not in text(app)
    await sup.stop_all()


async def test_a_service_that_never_comes_is_named_in_the_reason(tmp_path, cleanup):
    base = free_port_block()
    sup = make(
        tmp_path,
        "app: sleep 600\n",
        {"processes": {"app": {"ready": {"url": "$REDIS_URL", "timeout": 0.5, "interval": 0.1}}}},
        base_port=base,
        REDIS_URL=f"redis://:{SECRET}@127.0.0.1:{base + 98}/0",
    )
    cleanup(sup)
    sup.start_all()
    app = sup.get("app.1")
    await until(lambda: app.ready_error is not None)
    assert app.ready_error == (
        f"redis at 127.0.0.1:{base + 98} (REDIS_URL): connection refused (gave up after 0.5 s)"
    )
    assert SECRET not in text(app)
    await sup.stop_all()


def test_check_warns_about_unreachable_services_with_the_password_masked(tmp_path):
    port = free_port_block() + 97
    write_files(
        tmp_path,
        {
            "Procfile": "web: sleep 1\n",
            ".env": f"DATABASE_URL=postgres://app:{SECRET}@127.0.0.1:{port}/app\n"
            "MONGO_URL=mongodb+srv://u:p@cluster0.example.net/db\n",
        },
    )
    result = run_cli(["check"], tmp_path)
    assert result.returncode == 0
    assert (
        f"warning: postgres at 127.0.0.1:{port} (DATABASE_URL) is not reachable now: "
        f"connection refused (DATABASE_URL=postgres://app:••••@127.0.0.1:{port}/app)"
    ) in result.stderr
    assert "MONGO_URL: mongodb+srv:// names a DNS SRV record" in result.stderr
    assert SECRET not in result.stderr + result.stdout
    with listen(port):
        result = run_cli(["check"], tmp_path)
    assert "DATABASE_URL" not in result.stderr.replace("MONGO_URL", "")


async def test_a_port_taken_names_the_holder_and_it_is_left_alone(tmp_path, cleanup):
    base = free_port_block()
    mark = token()
    (tmp_path / mark).mkdir()
    holder = server(base, tmp_path, mark)
    try:
        procfile = f"web: {PYTHON} -m http.server $PORT\n"
        write_files(tmp_path, {"Procfile": procfile})
        sup = make(tmp_path, procfile, {}, base_port=base)
        cleanup(sup)
        sup.start_all()
        web = sup.get("web.1")
        await until(lambda: web.port_holder is not None, message="the holder named")
        assert web.port_holder.startswith(
            f"port {base} is already in use by pid {holder.pid} ({PYTHON} -m http.server"
        )
        assert web.stray_pid is None  # not a tuirunner process: never offered to stop
        assert web.port_holder in (web.detail() or "")
        assert "already in use by pid" in text(web)
        result = run_cli(["check", "-p", str(base)], tmp_path)
        assert f"web.1: port {base} is already in use by pid {holder.pid}" in result.stderr
        assert "--kill-stray" not in result.stderr
        result = run_cli(
            ["start", "--kill-stray", "--no-tui", "-p", str(base), "-t", "1"], tmp_path, timeout=60
        )
        assert "stopped pid" not in result.stderr
        await sup.stop_all()
        assert holder.poll() is None  # never touched
    finally:
        holder.kill()
        holder.wait()


def test_a_zombie_holds_nothing_and_counts_as_stopped():
    # A stray that has exited but whose parent has not collected its status yet (the stray
    # above, a child of this test until stray.wait) holds no port: stopping strays does not
    # wait for that parent (psutil.wait_procs did, 9 s: the timeout, SIGKILL, 2 s, 2 s).
    child = subprocess.Popen(["true"])
    try:
        zombie = psutil.Process(child.pid)
        wait_for(lambda: zombie.status() == psutil.STATUS_ZOMBIE, message="a zombie")
        assert zombie.is_running()  # to psutil it still runs
        assert not running(zombie)
    finally:
        child.wait()


def test_a_stray_of_an_earlier_run_here_is_stopped_on_request_and_nothing_else(tmp_path):
    base = free_port_block()
    mark = token()
    root = tmp_path / "app"
    elsewhere = tmp_path / "other"
    for d in (root, elsewhere):
        (d / mark).mkdir(parents=True)
    # Left behind by an earlier run here (its keeper gone), and by a run in another app root.
    stray = server(base, root, mark, TUIRUNNER_RUN_ID="0123abcd", PS="web.1")
    other = server(base + 1, elsewhere, mark, TUIRUNNER_RUN_ID="4567ef01", PS="web.2")
    write_files(root, {"Procfile": f"web: exec {shlex.quote(PYTHON)} -m http.server $PORT\n"})
    try:
        result = run_cli(["check", "-p", str(base), "-c", "web=2"], root)
        assert (
            f"web.1: port {base} is already in use by pid {stray.pid}" in result.stderr
            and "web.1 of an earlier tuirunner run here, left behind (tuirunner start "
            "--kill-stray stops it)"
            in result.stderr
        )
        assert f"web.2: port {base + 1} is already in use by pid {other.pid}" in result.stderr
        assert f"an earlier tuirunner run in {elsewhere}" in result.stderr
        assert run_cli(["start", "-D", "-p", str(base), "-c", "web=2"], root).returncode == 0
        client = Client.connect(root, output=False, tail=0)
        try:
            wait_for(
                lambda: client.get("web.1").stray_pid == stray.pid,
                message="the stray offered",
            )
            web2 = client.get("web.2")
            assert web2.stray_pid is None and "another" not in (web2.port_holder or "")
            with pytest.raises(Exception, match="nothing left behind"):
                client.call(StopStray(name="web.2"))
            done = client.call(StopStray(name="web.1"))  # what K in the UI sends
            assert done.startswith(f"stopped pid {stray.pid}; restarting web.1")
        finally:
            client.close()
        stray.wait(10)
        wait_for(lambda: _listening(base), message="web.1 listening again")
        assert other.poll() is None  # another app root's: never touched
        assert not psutil.pid_exists(stray.pid) or psutil.Process(stray.pid).status() == "zombie"
    finally:
        run_cli(["down"], root)
        for p in (stray, other):
            p.kill()
            p.wait()


def test_kill_stray_on_the_command_line(tmp_path):
    base = free_port_block()
    mark = token()
    (tmp_path / mark).mkdir()
    stray = server(base, tmp_path, mark, TUIRUNNER_RUN_ID="89abcdef", PS="web.1")
    write_files(tmp_path, {"Procfile": f"web: exec {shlex.quote(PYTHON)} -c 'print(1)' $PORT\n"})
    try:
        result = run_cli(["start", "--kill-stray", "--no-tui", "-p", str(base)], tmp_path)
        assert f"stopped pid {stray.pid} ({PYTHON} -m http.server" in result.stderr
        assert stray.wait(10) is not None
    finally:
        stray.kill()
        stray.wait()


if sys.platform != "linux":  # pragma: no cover
    pytestmark = pytest.mark.skip("psutil sees other processes' sockets without privileges")

_ = os


def test_a_port_held_by_a_running_run_names_that_runs_app_root(tmp_path):
    base = free_port_block()
    first, second = tmp_path / "first", tmp_path / "second"
    for d in (first, second):
        d.mkdir()
    write_files(first, {"Procfile": f"web: exec {shlex.quote(PYTHON)} -m http.server $PORT\n"})
    write_files(second, {"Procfile": "web: sleep 1 $PORT\n"})  # (it uses the port)
    assert run_cli(["start", "-D", "-p", str(base)], first).returncode == 0
    try:

        def checked() -> str:
            return run_cli(["check", "-p", str(base)], second).stderr

        said = wait_for(lambda: "already in use" in (text := checked()) and text, 60)
        assert f"web.1 of the tuirunner run in {first}" in said, said
    finally:
        run_cli(["down"], first)
