"""The keeper end to end: real processes, the real ``tuirunner`` command, the TUI in tmux.

Nothing of a run may survive its end, however it ends (even ``kill -9`` of the front end or of
the keeper itself); a run can be driven from another shell; it can be detached and attached
again; only its user may connect; a client that stops reading slows nobody.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shlex
import signal
import subprocess
import sys

import psutil
import pytest

from tests.helpers import (
    PYTHON,
    TUIRUNNER,
    Runner,
    assert_no_leftovers,
    clean_env,
    free_port_block,
    port_is_free,
    processes_with,
    run_cli,
    wait_for,
    write_files,
)
from tests.tmux import Tmux, needs_tmux, tuirunner_command
from tuirunner.client import Client

PY = shlex.quote(PYTHON)


def sleeper(mark: str) -> str:
    """A command that waits quietly, with *mark* in its command line."""
    return f"exec {PY} -c 'import time; time.sleep(600)' {mark}"


TIMEOUT = 3  # the runs' -t: after a kill -9, nothing may be left TIMEOUT + 2 s later


class Run:
    """A Procfile whose processes are hard to get rid of: a quiet sleep, an idle web server,
    a child that leaves the group (setsid), and one that leaves the group with an empty
    environment (so no marker finds it). Each has a unique command line."""

    def __init__(self, tmp_path):
        self.root = tmp_path
        self.port = free_port_block()
        self.web_port = self.port + 100  # web is the second type of the Procfile
        ids = random.sample(range(10_000_000, 99_999_999), 3)
        self.quiet, self.setsid, self.envi = (f"9{i}" for i in ids)
        write_files(
            tmp_path,
            {
                "Procfile": (
                    f"quiet: echo quiet up; exec sleep {self.quiet}\n"
                    f"web: exec {PY} -m http.server --bind 127.0.0.1 -d {tmp_path} $PORT\n"
                    f"setsid: setsid sleep {self.setsid} & echo setsid up; exec sleep 1000\n"
                    f"envi: (setsid env -i sleep {self.envi} &); echo envi up; exec sleep 1000\n"
                )
            },
        )

    def args(self, *extra: str) -> list[str]:
        return ["-t", str(TIMEOUT), "-p", str(self.port), *extra]

    def processes(self) -> list[psutil.Process]:
        """Every live process of the run: its children (by their command lines) and the
        keeper and guard (whose command lines name the app root)."""
        tokens = (self.quiet, self.setsid, self.envi, str(self.root))
        found = []
        for p in psutil.process_iter(["cmdline", "status"]):
            try:
                if p.pid == os.getpid() or p.info["status"] == psutil.STATUS_ZOMBIE:
                    continue
                cmdline = " ".join(p.info["cmdline"] or ())
            except psutil.Error:
                continue
            if any(t in cmdline for t in tokens) and not cmdline.startswith("tmux"):
                found.append(p)
        return found

    def all_up(self) -> bool:
        names = " ".join(" ".join(p.cmdline()) for p in self.processes() if p.is_running())
        return all(t in names for t in (self.quiet, self.setsid, self.envi)) and not port_is_free(
            self.web_port
        )

    def assert_gone(self, within: float = TIMEOUT + 2) -> None:
        """No process of the run alive, and the web port free again, *within* seconds."""
        try:
            wait_for(lambda: not self.processes() and port_is_free(self.web_port), within)
        except AssertionError:
            raise AssertionError(
                f"{within} s later, left: {self.processes()}; port free: "
                f"{port_is_free(self.web_port)}"
            ) from None

    def keeper_pid(self) -> int:
        client = Client.connect(self.root, output=False, tail=0)
        client.close()
        return client.keeper_pid

    def kill_all(self) -> None:
        for p in self.processes():
            with contextlib.suppress(psutil.Error):
                p.kill()


@pytest.fixture
def run(tmp_path):
    r = Run(tmp_path)
    yield r
    r.kill_all()


def front_end_in(term: Tmux) -> psutil.Process:
    """The tuirunner process the tmux pane runs (not its keeper or guard)."""

    def find():
        for p in psutil.Process(term.pane_pid()).children(recursive=True):
            cmdline = " ".join(p.cmdline())
            if "tuirunner" in cmdline and "keeper" not in cmdline and "guard" not in cmdline:
                return p
        return None

    return wait_for(find, 20, message="the front end")


# --- nothing survives ---------------------------------------------------------------------------


@pytest.mark.slow
@needs_tmux
def test_kill_9_of_the_terminal_ui_leaves_nothing(run):
    with Tmux(tuirunner_command(*run.args()), run.root) as term:
        term.wait_for("envi up")
        wait_for(run.all_up, 20, message="every process up")
        front_end_in(term).kill()
        run.assert_gone()


def test_kill_9_of_a_plain_runner_leaves_nothing(run):
    with Runner(["--no-tui", *run.args()], run.root) as runner:
        runner.wait_for_output("envi up")
        wait_for(run.all_up, 20, message="every process up")
        runner.proc.kill()
        run.assert_gone()


def test_kill_9_of_the_keeper_leaves_nothing_and_the_plain_runner_says_so(run):
    with Runner(["--no-tui", *run.args()], run.root) as runner:
        runner.wait_for_output("envi up")
        wait_for(run.all_up, 20, message="every process up")
        keeper = run.keeper_pid()
        os.kill(keeper, signal.SIGKILL)
        run.assert_gone()
        assert runner.wait(30) != 0
        assert f"the keeper (pid {keeper}) died (killed by SIGKILL)" in runner.output


@pytest.mark.slow
@needs_tmux
def test_kill_9_of_the_keeper_leaves_nothing_and_the_terminal_ui_says_so(run):
    with Tmux(tuirunner_command(*run.args()), run.root) as term:
        term.wait_for("envi up")
        wait_for(run.all_up, 20, message="every process up")
        keeper = run.keeper_pid()
        os.kill(keeper, signal.SIGKILL)
        run.assert_gone()
        assert term.exit_status() != 0
        assert f"the keeper (pid {keeper}) died (killed by SIGKILL)" in term.screen()


def test_a_detached_run_goes_when_its_keeper_is_killed(run):
    assert run_cli(["start", "--detach", *run.args()], run.root).returncode == 0
    wait_for(run.all_up, 20, message="every process up")
    os.kill(run.keeper_pid(), signal.SIGKILL)
    run.assert_gone()


# --- control from another shell -----------------------------------------------------------------


def web_script(tmp_path) -> str:
    (tmp_path / "web.py").write_text(
        "import os, time\n"
        "for i in range(30):\n"
        "    print(f'line {i} of', os.getpid(), flush=True)\n"
        "time.sleep(600)\n"
    )
    return f"{PY} web.py"


def pid_on_screen(screen: str, name: str) -> int | None:
    match = re.search(rf"{re.escape(name)}\s+running(?:(?!Restart).)*?pid (\d+)", screen)
    return int(match.group(1)) if match else None


def ps(root) -> dict[str, dict]:
    result = run_cli(["ps", "--json"], root)
    assert result.returncode == 0, result.stderr
    return {p["name"]: p for p in json.loads(result.stdout)}


@pytest.mark.slow
@needs_tmux
def test_a_running_terminal_ui_is_driven_from_another_shell(tmp_path, mark):
    write_files(
        tmp_path,
        {"Procfile": f"web: exec {web_script(tmp_path)} {mark}\nworker: {sleeper(mark)}\n"},
    )
    with Tmux(tuirunner_command("-t", "2", "-c", "worker=2"), tmp_path) as term:
        term.wait_for("line 29 of")
        processes = wait_for(
            lambda: (p := ps(tmp_path)) and all(x["pid"] for x in p.values()) and p
        )
        assert set(processes) == {"web.1", "worker.1", "worker.2"}
        for p in processes.values():
            assert p["state"] == "running" and p["restarts"] == 0 and p["uptime"] >= 0
        assert processes["worker.2"]["port"] == processes["worker.1"]["port"] + 1

        result = run_cli(["logs", "-n", "20", "web"], tmp_path)
        assert result.returncode == 0, result.stderr
        lines = [line.split("| ", 1)[1] for line in result.stdout.splitlines()]
        web_pid = processes["web.1"]["pid"]
        assert lines == [f"line {i} of {web_pid}" for i in range(10, 30)]

        follow = Runner(["logs", "-f", "web"], tmp_path)
        try:
            follow.wait_for_output("line 29 of")
            result = run_cli(["restart", "web"], tmp_path)
            assert result.returncode == 0, result.stderr
            new_pid = ps(tmp_path)["web.1"]["pid"]
            assert new_pid != web_pid and f"web.1 restarted (pid {new_pid})" in result.stdout
            wait_for(lambda: pid_on_screen(term.screen(), "web.1") == new_pid, 20)
            follow.wait_for_output(f"line 29 of {new_pid}")  # -f follows
            assert "web.1 started" in follow.output
        finally:
            follow.kill()

        assert run_cli(["stop", "worker"], tmp_path).stdout.splitlines() == [
            "worker.1 stopped",
            "worker.2 stopped",
        ]
        assert ps(tmp_path)["worker.1"]["state"] == "stopped"
        wait_for(lambda: re.search(r"worker\.2\s+stopped", term.screen()), 20)
        assert run_cli(["stop", "worker.1"], tmp_path).returncode == 0  # stopped: no-op
        result = run_cli(["restart", "worker.1"], tmp_path)  # a stopped one starts
        assert result.returncode == 0 and "worker.1 restarted (pid" in result.stdout
        assert ps(tmp_path)["worker.1"]["state"] == "running"
        assert ps(tmp_path)["worker.2"]["state"] == "stopped"
        result = run_cli(["restart", "nope"], tmp_path)
        assert result.returncode == 1
        assert "unknown process 'nope'; this run has web.1, worker.1, worker.2" in result.stderr

        term.send("q")
        assert term.exit_status() == 0
    from tests.helpers import assert_no_leftovers

    assert_no_leftovers(mark)


# --- detach and attach --------------------------------------------------------------------------


@pytest.mark.slow
@needs_tmux
def test_detach_attach_and_down(tmp_path, mark):
    write_files(
        tmp_path,
        {"Procfile": f"web: echo early output; {sleeper(mark)}\nworker: {sleeper(mark)}\n"},
    )
    result = run_cli(["start", "--detach", "-t", "2"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "tuirunner attach" in result.stderr and "tuirunner down" in result.stderr
    keeper = Client.connect(tmp_path, output=False, tail=0).keeper_pid
    again = run_cli(["start", "--detach"], tmp_path)
    assert again.returncode == 1
    assert f"already running (pid {keeper}): tuirunner attach" in again.stderr

    with Tmux(shlex.join([TUIRUNNER, "attach"]), tmp_path) as term:
        term.wait_for("early output")  # the scrollback is there
        term.wait_for("d Detach")
        term.send("d")
        assert term.exit_status() == 0
        assert "detached; the processes keep running" in term.screen()
    assert ps(tmp_path)["web.1"]["state"] == "running"

    with Tmux(shlex.join([TUIRUNNER, "attach"]), tmp_path) as term:  # a second attach
        term.wait_for("early output")
        second = run_cli(["attach"], tmp_path)  # no terminal: a clear error
        assert second.returncode == 1 and "attach needs a terminal" in second.stderr
        term.send("q")  # q in an attached UI stops everything
        assert term.exit_status() == 0

    gone = run_cli(["ps"], tmp_path)
    assert gone.returncode == 1
    assert gone.stderr == f"tuirunner: error: no tuirunner is running in {tmp_path}\n"
    assert not psutil.pid_exists(keeper) or psutil.Process(keeper).status() == "zombie"
    from tests.helpers import assert_no_leftovers

    assert_no_leftovers(mark)


def test_a_restart_stops_what_the_old_instance_left_outside_its_group(tmp_path, mark):
    """A daemon started by a double fork (its parent gone: the keeper's child now, in a session
    of its own) is found by the run's marker once the old group is gone, and stopped; the other
    process's daemon is not touched."""
    (tmp_path / mark).symlink_to("/bin/sleep")
    daemon = f"(setsid ./{mark} 60$N &); echo up; exec sleep 600"
    write_files(tmp_path, {"Procfile": f"a: N=1; {daemon}\nb: N=2; {daemon}\n"})
    assert run_cli(["start", "-D", "-t", "3"], tmp_path).returncode == 0
    try:

        def daemons() -> list[str]:
            return sorted(" ".join(p.cmdline()) for p in processes_with(mark))

        wait_for(lambda: daemons() == [f"./{mark} 601", f"./{mark} 602"], 30)
        old = {p.pid for p in processes_with(mark)}
        assert run_cli(["restart", "a.1"], tmp_path).returncode == 0
        wait_for(
            lambda: len(processes_with(mark)) == 2 and old - {p.pid for p in processes_with(mark)},
            30,
        )
        now = {" ".join(p.cmdline()): p.pid for p in processes_with(mark)}
        assert now[f"./{mark} 602"] in old  # b's daemon untouched
        assert now[f"./{mark} 601"] not in old  # a's old one stopped, the new one runs
    finally:
        run_cli(["down"], tmp_path)
    assert_no_leftovers(mark)


def test_down_stops_a_detached_run(tmp_path, mark):
    write_files(tmp_path, {"Procfile": f"web: {sleeper(mark)}\n"})
    assert run_cli(["start", "-D"], tmp_path).returncode == 0
    result = run_cli(["down"], tmp_path)
    assert result.returncode == 0 and "stopped" in result.stderr
    assert_no_leftovers(mark)
    assert run_cli(["down"], tmp_path).returncode == 1


def test_an_env_file_changed_before_the_watcher_starts_is_reloaded(tmp_path, mark):
    # With only env files to watch, the watcher starts a while after the keeper (once a client
    # has its welcome, or a second later): a change meanwhile must not be missed.
    write_files(tmp_path, {"Procfile": f"web: {sleeper(mark)}\n", ".env": "GREETING=hello\n"})
    assert run_cli(["start", "-D"], tmp_path).returncode == 0
    try:
        (tmp_path / ".env").write_text("GREETING=bonjour\n")  # before any client, at once

        def greeting() -> str | None:
            client = Client.connect(tmp_path, env=True, output=False, tail=0)
            client.close()
            return client.environment.get("GREETING")

        wait_for(lambda: greeting() == "bonjour", 20, message="the change to be noticed")
    finally:
        run_cli(["down"], tmp_path)


async def test_a_flood_is_skimmed_for_a_terminal_ui_and_sent_whole_to_a_printer(tmp_path):
    import asyncio

    from tuirunner.events import ProcessOutput

    lines = 300_000  # 12 MB: 30 times the scrollback
    # A flood of 4 MB/s (four times SKIM_RATE): skimmed for the UI, and slow enough for the
    # printer (this test's own process, decoding every line) to keep up on a loaded machine.
    # Unpaced, it fell more than CLIENT_BACKLOG behind there, and was dropped.
    (tmp_path / "flood.py").write_text(
        "import sys, time\n"
        f"chunk = {'0123456789' * 4 + chr(10)!r} * 10_000\n"
        "time.sleep(1)\n"
        f"for _ in range({lines // 10_000}):\n"
        "    sys.stdout.write(chunk); sys.stdout.flush(); time.sleep(0.1)\n"
        "time.sleep(600)\n"
    )
    write_files(tmp_path, {"Procfile": f"flood: {PY} flood.py\n"})
    assert run_cli(["start", "-D"], tmp_path).returncode == 0
    try:
        ui = Client.connect(tmp_path, skim=True, tail=0)  # a terminal UI
        printer = Client.connect(tmp_path, tail=0)  # plain output, logs -f
        received = {"ui": 0, "printer": 0}

        def count(who: str):
            def on(event: object) -> None:
                if isinstance(event, ProcessOutput):
                    received[who] += len(event.lines)

            return on

        ui.subscribe(count("ui"))
        printer.subscribe(count("printer"))
        await ui.start()
        await printer.start()
        ui_view, printer_view = ui.get("flood.1"), printer.get("flood.1")
        for _ in range(1200):
            if ui_view.buffer.total >= lines and printer_view.buffer.total >= lines:
                break
            await asyncio.sleep(0.05)
        assert received["printer"] == lines  # every line, as printed
        assert printer_view.buffer.total == ui_view.buffer.total == lines
        assert ui_view.buffer.tail(20) == printer_view.buffer.tail(20)  # the same last lines
        assert len(ui_view.buffer.lines) == len(printer_view.buffer.lines)  # a full scrollback
        assert received["ui"] < lines * 0.9  # most of the flood was never sent to the UI
        ui.close()
        printer.close()
    finally:
        run_cli(["down"], tmp_path)


async def test_a_runner_line_during_a_skimmed_flood_reaches_the_ui_once(tmp_path):
    import asyncio

    from tuirunner.events import ProcessOutput, RunnerLine
    from tuirunner.mirror import ProcessView, Resynced

    lines = 3_000_000
    flood = f"sleep 1; yes {'0123456789' * 4} | head -n {lines}; sleep 600"
    write_files(
        tmp_path,
        {
            "Procfile": f"flood: {flood}\n",
            # Not ready after 1.5 s: a runner line half a second into the flood.
            "tuirunner.toml": '[processes.flood]\nready = { log = "never", timeout = 1.5 }\n',
        },
    )
    assert run_cli(["start", "-D"], tmp_path).returncode == 0
    try:
        ui = Client.connect(tmp_path, skim=True, tail=0)
        printer = Client.connect(tmp_path, tail=0)
        ui_view, printer_view = ui.get("flood.1"), printer.get("flood.1")
        # How often each client was given the line (as a runner line, or among output lines),
        # where the printer's count of lines stood then, and whether the client fell behind: a
        # client that did (a loaded machine; the test's own loop is busy with 3M lines) is
        # resynced from what the keeper still has, which may no longer hold the line. It never
        # gets it twice, and a client that kept up gets it exactly once.
        copies = {"ui": 0, "printer": 0}
        resynced = {"ui": 0, "printer": 0}
        said_at: list[int] = []

        def counter(name: str, view: ProcessView):
            def look(event: object) -> None:
                if isinstance(event, Resynced):
                    resynced[name] += 1
                elif isinstance(event, RunnerLine):
                    copies[name] += "is not ready" in event.text
                    if name == "printer" and "is not ready" in event.text:
                        said_at.append(view.buffer.total)
                elif isinstance(event, ProcessOutput):
                    copies[name] += sum("is not ready" in line for line in event.lines)

            return look

        ui.subscribe(counter("ui", ui_view))
        printer.subscribe(counter("printer", printer_view))
        await ui.start()
        await printer.start()
        for _ in range(2400):
            if ui_view.buffer.total == printer_view.buffer.total > lines:
                break
            await asyncio.sleep(0.05)
        if not resynced["printer"]:
            assert len(said_at) == 1 and 0 < said_at[0] < lines  # said during the flood
        for name in ("ui", "printer"):
            assert copies[name] == 1 or (resynced[name] and copies[name] == 0), (copies, resynced)
        # The UI's copy has the line once: as many lines as the printer's, the same last ones.
        assert ui_view.buffer.total == printer_view.buffer.total > lines
        assert ui_view.buffer.tail(20) == printer_view.buffer.tail(20)
        ui.close()
        printer.close()
    finally:
        run_cli(["down"], tmp_path)


@pytest.mark.parametrize("command", [["ps"], ["ps", "--json"], ["restart", "web"], ["logs"]])
def test_no_run_is_a_one_line_error(tmp_path, command):
    result = run_cli(command, tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == f"tuirunner: error: no tuirunner is running in {tmp_path}\n"


# --- only the user ------------------------------------------------------------------------------


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to another uid needs root")
def test_a_client_of_another_uid_is_refused(tmp_path, mark):
    write_files(tmp_path, {"Procfile": f"web: {sleeper(mark)}\n"})
    assert run_cli(["start", "-D"], tmp_path).returncode == 0
    paths = Client.connect(tmp_path, output=False, tail=0).paths
    private = [paths.socket.parent, paths.socket.parent.parent]  # ours, and XDG_RUNTIME_DIR
    try:
        # Through the private directory, nobody else even reaches the socket.
        assert as_nobody(paths.socket) == "Permission denied"
        # Open the way (as a misconfigured system might): the keeper itself refuses.
        for directory in private:
            directory.chmod(0o711)
        paths.socket.chmod(0o666)
        assert as_nobody(paths.socket) == "refused: this run belongs to uid 0"
    finally:
        for directory in private:
            directory.chmod(0o700)
        run_cli(["down"], tmp_path)


def as_nobody(socket_path) -> str:
    """Connect as uid 65534 (in a forked child) and say hello: what the keeper answers."""
    import socket

    from tuirunner.protocol import PROTOCOL, Hello, decode_event, encode
    from tuirunner.wire import FrameReader

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.setgid(65534)
            os.setuid(65534)
            sock = socket.socket(socket.AF_UNIX)
            sock.settimeout(10)
            try:
                sock.connect(str(socket_path))
                sock.sendall(encode(Hello(v=PROTOCOL)))
                frames = [decode_event(f) for _, f in FrameReader().feed(sock.recv(65536))]
                answer = " ".join(f"{type(m).__name__.lower()}: {m.error}" for m in frames)
                if sock.recv(65536) != b"":
                    answer += " (and the connection stayed open)"
            except OSError as exc:
                answer = exc.strerror or str(exc)
            os.write(write, answer.encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as f:
        return f.read()


# --- flow control -------------------------------------------------------------------------------


def test_a_stopped_client_slows_neither_the_processes_nor_the_other_clients(tmp_path, mark):
    lines = 300_000  # ~20 MB: far more than a client may fall behind before its output drops
    (tmp_path / "flood.py").write_text(
        "import os, sys, time\n"
        "print('waiting', flush=True)\n"
        "while not os.path.exists('go'): time.sleep(0.02)\n"
        # 3.3 MB/s: the client that reads keeps up on a loaded machine (unpaced, it fell behind
        # there, and was dropped); the stopped one is 4 MB behind in little more than a second.
        f"for start in range(0, {lines}, 5000):\n"
        "    for i in range(start, start + 5000):\n"
        "        print(f'{i:08d} a line of the flood that is long enough')\n"
        "    sys.stdout.flush(); time.sleep(0.1)\n"
        f"print('done', sys.argv[1], flush=True)\n"
        "time.sleep(600)\n"
    )
    write_files(tmp_path, {"Procfile": f"flood: {PY} flood.py {mark}\n"})
    assert run_cli(["start", "-D", "-t", "2"], tmp_path).returncode == 0
    outputs = [tmp_path / "a.out", tmp_path / "b.out"]
    clients = []
    try:
        for out in outputs:
            with open(out, "w") as f:
                clients.append(
                    subprocess.Popen(
                        [TUIRUNNER, "logs", "-f"], cwd=tmp_path, env=clean_env(), stdout=f
                    )
                )
        for out in outputs:
            wait_for(lambda out=out: "waiting" in out.read_text(), 20, message="a client ready")
        stopped = clients[0]
        stopped.send_signal(signal.SIGSTOP)
        (tmp_path / "go").touch()
        # The flood runs to its end, and the other client sees all of it, while one is stopped.
        wait_for(lambda: f"done {mark}" in outputs[1].read_text(), 120, message="b sees done")
        other = outputs[1].read_text().count(" a line of the flood")
        assert other == lines
        assert f"done {mark}" not in outputs[0].read_text()
        keeper = psutil.Process(Client.connect(tmp_path, output=False, tail=0).keeper_pid)
        assert keeper.memory_info().rss < 100 << 20  # its backlog for the stopped one is bounded
        stopped.send_signal(signal.SIGCONT)
        wait_for(lambda: f"done {mark}" in outputs[0].read_text(), 60, message="a catches up")
    finally:
        for c in clients:
            c.send_signal(signal.SIGCONT)
            c.kill()
        run_cli(["down"], tmp_path)


def test_the_keeper_runs_no_textual():
    code = (
        "import sys, tuirunner.keeper, tuirunner.guard; "
        "sys.exit(any(m.split('.')[0] in ('textual', 'rich') for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_the_socket_is_private(tmp_path):
    write_files(tmp_path, {"Procfile": "web: exec sleep 600\n"})
    assert run_cli(["start", "-D"], tmp_path).returncode == 0
    try:
        paths = Client.connect(tmp_path, output=False, tail=0).paths
        assert oct(paths.socket.stat().st_mode & 0o777) == "0o600"
        assert oct(paths.socket.parent.stat().st_mode & 0o777) == "0o700"
    finally:
        run_cli(["down"], tmp_path)
