"""For scripts: ``logs --json/--grep``, ``events`` and ``wait`` against a real detached run."""

from __future__ import annotations

import json
import select
import shlex
import subprocess
import threading
import time

import psutil
import pytest

from tests.helpers import (
    PYTHON,
    TUIRUNNER,
    clean_env,
    free_port_block,
    run_cli,
    wait_for,
    write_files,
)

PY = shlex.quote(PYTHON)
SLEEP = f"exec {PY} -c 'import time; time.sleep(600)' MARK"  # MARK finds leftovers


class DetachedRun:
    """``tuirunner start -D`` in *root*; ``down`` afterwards."""

    def __init__(self, root, procfile: str, *extra: str) -> None:
        self.root = root
        write_files(root, {"Procfile": procfile})
        started = run_cli(["start", "-D", "-t", "2", "-p", str(free_port_block()), *extra], root)
        assert started.returncode == 0, started.stderr

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return run_cli(list(args), self.root, timeout=timeout)

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [TUIRUNNER, *args],
            cwd=self.root,
            env=clean_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def down(self) -> None:
        run_cli(["down"], self.root)


@pytest.fixture
def detached(tmp_path, mark):
    runs: list[DetachedRun] = []

    def start(procfile: str, *extra: str) -> DetachedRun:
        run = DetachedRun(tmp_path, procfile.replace("MARK", mark), *extra)
        runs.append(run)
        return run

    yield start
    for run in runs:
        run.down()


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


# --- logs --json / --grep -----------------------------------------------------------------------

HOSTILE = r"printf '\033[1;31mred\033[0m\tTab \377\376 raw\n'; "


def test_logs_json_round_trips_colours_tabs_and_bad_bytes(detached):
    run = detached(f"web: {HOSTILE}echo second; {SLEEP}\nworker: echo working; {SLEEP}\n")
    wait_for(lambda: "second" in run.cli("logs", "web").stdout, message="web's output")
    result = run.cli("logs", "--json")
    assert result.returncode == 0, result.stderr
    records = json_lines(result.stdout)
    web = [r for r in records if r["process"] == "web.1"]
    # When the line came, as the keeper recorded it (epoch seconds, to the millisecond).
    assert isinstance(web[0]["time"], float) and abs(web[0]["time"] - time.time()) < 3600
    assert web[0] == {
        "type": "line",
        "process": "web.1",
        "line": 1,
        "time": web[0]["time"],
        "text": "red\tTab \ufffd\ufffd raw",
    }
    times = [r["time"] for r in records]
    assert times == sorted(times)  # every process's lines in the order they came
    assert web[1]["text"] == "second" and web[1]["line"] == 2
    assert any(r["process"] == "worker.1" and r["text"] == "working" for r in records)
    # Round trip: what a script reads back is what the process wrote, less its colours.
    assert json.loads(json.dumps(web[0]))["text"].split("\t") == ["red", "Tab \ufffd\ufffd raw"]


def test_logs_grep_case_and_lines_per_process(detached):
    run = detached(
        f"web: for i in 1 2 3; do echo Error $i; echo ok $i; done; {SLEEP}\n"
        f"worker: echo error w; {SLEEP}\n"
    )
    wait_for(lambda: "ok 3" in run.cli("logs", "web").stdout, message="web's output")
    plain = run.cli("logs", "--grep", "^error", "-i", "-n", "2").stdout.splitlines()
    assert plain == ["web.1    | Error 2", "web.1    | Error 3", "worker.1 | error w"]
    sensitive = json_lines(run.cli("logs", "--json", "--grep", "^error").stdout)
    assert [(r["process"], r["text"], r["line"]) for r in sensitive] == [("worker.1", "error w", 1)]
    bad = run.cli("logs", "--grep", "(")
    assert bad.returncode == 1 and "--grep: bad regular expression '('" in bad.stderr


def test_logs_json_follow_has_state_changes(detached):
    run = detached(f"web: echo up; {SLEEP}\n")
    wait_for(lambda: "up" in run.cli("logs").stdout, message="web's output")
    follow = run.popen("logs", "-f", "--json")
    try:
        assert json.loads(follow.stdout.readline())["text"] == "up"
        assert run.cli("restart", "web").returncode == 0
        seen: list[dict] = []
        while not any(r["type"] == "line" and r["line"] > 1 and r["text"] == "up" for r in seen):
            seen.append(json.loads(follow.stdout.readline()))
    finally:
        follow.terminate()
        follow.wait(10)
    events = [r.get("event") for r in seen if r["type"] == "state"]
    assert "restarted" in events, seen
    assert events.index("restarted") == len(events) - 1  # the restart, then its output


def test_logs_follow_grep_filters_the_system_lines_too(detached):
    """`logs -f --grep` prints only matching lines, the runner's own (state changes) included:
    what `honcho start | grep` would."""
    run = detached(f"web: echo up; {SLEEP}\n")
    wait_for(lambda: "up" in run.cli("logs").stdout, message="web's output")
    follow = run.popen("logs", "-f", "--no-color", "--grep", "^up$|started")

    def read() -> tuple[str, str]:
        name, _, text = follow.stdout.readline().partition("|")
        return name.strip(), text.strip()

    try:
        assert read() == ("web.1", "up")
        assert run.cli("restart", "web").returncode == 0
        seen: list[tuple[str, str]] = []
        while ("web.1", "up") not in seen:
            seen.append(read())
    finally:
        follow.terminate()
        follow.wait(10)
    system = [text for name, text in seen if name == "system"]
    assert system and all("started" in text for text in system), seen  # not "stopped …"
    assert all(name == "system" or text == "up" for name, text in seen), seen


# --- events and wait ----------------------------------------------------------------------------

# Runs until a file named "crash" appears in the app root, then exits 3.
CRASHY = (
    f"exec {PY} -c 'import os, time; "
    f'[time.sleep(0.05) for _ in iter(lambda: os.path.exists("crash"), True)]; '
    f'os.remove("crash"); raise SystemExit(3)\' MARK'
)
READY_WHEN_GO = '[processes.web]\nready = { command = "test -e go", interval = 0.1 }\n'


def keeper_connections(root) -> int:
    """How many sockets the keeper of *root* has on its socket's path now (its listening one
    and a connection per client), found without connecting: a connection of our own, just
    closed, might still be counted or not, as the keeper had seen it close or not."""
    from tuirunner.runtime import holder, run_paths

    paths = run_paths(root)
    pid = holder(paths)
    assert pid is not None, "no keeper"
    socket = str(paths.socket)
    return sum(1 for c in psutil.Process(pid).net_connections("unix") if c.laddr == socket)


def started_stream(run: DetachedRun, *args: str) -> subprocess.Popen:
    """``tuirunner ARGS`` in the background, once it is connected (it may print nothing
    before a change comes)."""
    before = keeper_connections(run.root)
    stream = run.popen(*args)
    wait_for(lambda: keeper_connections(run.root) > before, message=f"{args} connected")
    return stream


def listening_events(run: DetachedRun, *args: str) -> subprocess.Popen:
    """``tuirunner events ARGS``, once it hears changes: web is restarted until it says so (a
    connection the keeper accepted may not have said hello yet)."""
    stream = started_stream(run, "events", *args)
    for _ in range(60):
        assert run.cli("restart", "web").returncode == 0
        if select.select([stream.stdout], [], [], 1.0)[0]:
            break
    else:
        raise AssertionError("events heard nothing of web's restarts")
    return stream


def next_of(stream: subprocess.Popen, process: str, timeout: float = 60.0) -> str:
    """The next line *stream* prints about *process* (web's restarts skipped); the stream is
    ended if none comes within *timeout* (a failure, not a hang)."""
    watchdog = threading.Timer(timeout, stream.kill)
    watchdog.start()
    try:
        while process not in (line := stream.stdout.readline()):
            assert line, f"the stream ended, or said nothing of {process} in {timeout:g} s"
        return line
    finally:
        watchdog.cancel()


def test_events_json_sees_a_crash_then_a_restart_in_order(detached):
    run = detached(f"crashy: echo up; {CRASHY}\nweb: {SLEEP}\n")
    assert run.cli("wait", "crashy", "--running", "--timeout", "30").returncode == 0
    follow = listening_events(run, "--json")
    try:
        (run.root / "crash").write_text("")
        crashed = json.loads(next_of(follow, "crashy.1"))
        assert run.cli("restart", "crashy").returncode == 0
        restarted = json.loads(next_of(follow, "crashy.1"))
    finally:
        follow.terminate()
        follow.wait(10)
    assert crashed["type"] == "state" and crashed["process"] == "crashy.1"
    assert (crashed["event"], crashed["exit_code"], crashed["state"]) == ("crashed", 3, "crashed")
    assert (restarted["event"], restarted["process"], restarted["restarts"]) == (
        "restarted",
        "crashy.1",
        1,
    )
    assert restarted["time"] >= crashed["time"]


def test_events_plain_lines(detached):
    run = detached(f"crashy: {CRASHY}\nweb: {SLEEP}\n")
    follow = listening_events(run)
    try:
        (run.root / "crash").write_text("")
        line = next_of(follow, "crashy.1")
    finally:
        follow.terminate()
        follow.wait(10)
    assert line == "crashy.1 crashed (exit code 3)\n"


def test_wait_ready_exits_0_once_the_ready_check_passes(detached, tmp_path):
    write_files(tmp_path, {"tuirunner.toml": READY_WHEN_GO})
    run = detached(f"web: {SLEEP}\n")
    waiting = started_stream(run, "wait", "web", "--timeout", "60")
    assert waiting.poll() is None  # the check has not passed: still waiting
    (run.root / "go").write_text("")
    out, err = waiting.communicate(timeout=30)
    assert waiting.returncode == 0, err
    assert out.startswith("web.1 is ready (pid ")


def test_wait_exits_1_on_a_crash_saying_so(detached):
    run = detached(f"crashy: {CRASHY}\n")
    waiting = started_stream(run, "wait", "crashy", "--completed")
    (run.root / "crash").write_text("")
    _, err = waiting.communicate(timeout=30)
    assert waiting.returncode == 1
    assert err == "crashy.1 crashed (exit code 3)\n"


def test_wait_times_out_and_names_bad_names(detached):
    run = detached(f"web: {SLEEP}\nworker: {SLEEP}\n")
    result = run.cli("wait", "web", "--completed", "--timeout", "0.2")
    assert result.returncode == 1
    assert result.stderr == "timed out after 0.2 s waiting for completed: web.1 running\n"
    bad = run.cli("wait", "wbe")
    assert bad.returncode == 1
    assert "unknown process 'wbe'; this run has web.1, worker.1" in bad.stderr


def test_events_without_names_follows_processes_added_after_it_connected(detached):
    run = detached(f"web: {SLEEP}\n")
    follow = listening_events(run, "--json")
    try:
        added = run.cli("add", "late", "--", "sleep 0.5; exit 5")
        assert added.returncode == 0, added.stderr
        crashed = json.loads(next_of(follow, "late.1"))
        while crashed["event"] != "crashed":
            crashed = json.loads(next_of(follow, "late.1"))
    finally:
        follow.terminate()
        follow.wait(10)
    assert (crashed["process"], crashed["exit_code"]) == ("late.1", 5)
