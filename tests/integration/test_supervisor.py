"""The supervisor with real processes on real pseudo-terminals (in the test process: the
keeper's own behaviour is in test_keeper.py)."""

import asyncio
import os
import shlex
import signal
import time

from tests.helpers import (
    PYTHON,
    assert_no_leftovers,
    clean_env,
    free_port_block,
    port_is_free,
    stubborn,
    text,
    token,
    until,
)
from tuirunner.environment import load_environment
from tuirunner.events import Notice, NoticeKind, State, StateChanged
from tuirunner.procfile import formation, parse_procfile_text
from tuirunner.supervisor import Supervisor

PY = shlex.quote(PYTHON)


def make(tmp_path, procfile: str, timeout: float = 5.0, **env) -> Supervisor:
    pf = parse_procfile_text(procfile, tmp_path / "Procfile")
    environment = load_environment([], clean_env(**env), tmp_path)
    return Supervisor(formation(pf), environment, tmp_path, timeout=timeout)


async def test_stdout_and_stderr_interleave_in_order_and_colour_survives(tmp_path, cleanup):
    script = (
        "import sys\nfor i in range(3):\n"
        "    print('out', i, flush=True); print('err', i, file=sys.stderr, flush=True)\n"
        "print(sys.stdout.isatty(), sys.stdin.isatty())\n"
    )
    (tmp_path / "child.py").write_text(script)
    sup = make(tmp_path, f"web: {PY} child.py\n")
    cleanup(sup)
    sup.start_all()
    web = sup.get("web.1")
    await until(lambda: web.state is State.EXITED, message="exit")
    assert web.buffer.snapshot() == [
        "out 0",
        "err 0",
        "out 1",
        "err 1",
        "out 2",
        "err 2",
        "True True",
    ]
    assert web.exit.code == 0 and web.exit.success


async def test_python_child_is_line_buffered_without_pythonunbuffered(tmp_path, cleanup):
    # No flush, no -u, no PYTHONUNBUFFERED: a pipe would hold the line until exit.
    sup = make(tmp_path, f"web: {PY} -c \"import time; print('early bird'); time.sleep(60)\"\n")
    cleanup(sup)
    assert "PYTHONUNBUFFERED" not in sup.environment.as_dict()
    sup.start_all()
    web = sup.get("web.1")
    await until(lambda: "early bird" in text(web), message="the line before exit")
    assert web.state is State.RUNNING
    await sup.stop_all()
    assert web.state is State.STOPPED


async def test_port_and_ps_per_instance(tmp_path, cleanup):
    pf = parse_procfile_text(
        'web: echo "$PS=$PORT"\nworker: echo "$PS=$PORT"\n', tmp_path / "Procfile"
    )
    env = load_environment([], clean_env(PORT="1"), tmp_path)
    base = free_port_block()  # (a port in use would add a line saying by whom)
    sup = Supervisor(
        formation(pf, concurrency={"web": 2, "worker": 2}, base_port=base), env, tmp_path
    )
    cleanup(sup)
    sup.start_all()
    await until(lambda: all(p.state is State.EXITED for p in sup), message="all exited")
    assert {p.name: text(p) for p in sup} == {
        "web.1": f"web.1={base}",
        "web.2": f"web.2={base + 1}",
        "worker.1": f"worker.1={base + 100}",
        "worker.2": f"worker.2={base + 101}",
    }
    assert str(sup.get("web.2").environment.variables["PORT"].source) == "tuirunner"


async def test_restart_gives_a_new_pid_and_counts(tmp_path, cleanup):
    sup = make(tmp_path, "web: echo started; sleep 60\n")
    cleanup(sup)
    events = []
    sup.subscribe(lambda e: events.append(e) if isinstance(e, StateChanged) else None)
    sup.start_all()
    web = sup.get("web.1")
    first = web.pid
    await sup.restart("web.1")
    assert web.state is State.RUNNING and web.pid != first and web.restart_count == 1
    states = [e.new for e in events]
    assert states == [State.RUNNING, State.RESTARTING, State.RUNNING]
    await until(lambda: "restarted" in text(web))
    await sup.stop("web.1")
    assert web.state is State.STOPPED and web.exit.signal == signal.SIGTERM
    await sup.start("web.1")
    assert web.state is State.RUNNING and web.restart_count == 2
    await sup.stop_all()


async def test_sigterm_ignoring_child_is_killed_after_the_timeout(tmp_path, cleanup, mark):
    sup = make(tmp_path, f"stubborn: {stubborn(mark)}\n", timeout=0.5)
    cleanup(sup)
    notices = []
    sup.subscribe(lambda e: notices.append(e) if isinstance(e, Notice) else None)
    sup.start_all()
    proc = sup.get("stubborn.1")
    await until(lambda: "ready" in text(proc))
    await asyncio.wait_for(sup.stop_all(), timeout=20)
    assert proc.state is State.STOPPED
    assert proc.exit.signal == signal.SIGKILL
    killed = [n for n in notices if n.message.startswith("sending SIGKILL to stubborn.1")]
    assert killed and all(n.kind is NoticeKind.KILLED for n in killed)
    # The SIGTERM before it is only worth a line.
    assert any(n.kind is NoticeKind.INFO and "SIGTERM" in n.message for n in notices)
    assert_no_leftovers(mark)


async def test_grandchild_holding_a_port_is_stopped_with_its_group(tmp_path, cleanup):
    # Like runserver's autoreloader: the process re-spawns itself; the child listens on PORT.
    mark = token()
    server = (
        "import os, socket, subprocess, sys, time\n"
        "if len(sys.argv) == 1:\n"
        "    subprocess.run([sys.executable, __file__, 'child'])\n"
        "else:\n"
        "    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        "    s.bind(('127.0.0.1', int(os.environ['PORT']))); s.listen()\n"
        "    print('listening', os.getpid(), flush=True); time.sleep(600)\n"
    )
    (tmp_path / f"server_{mark}.py").write_text(server)

    base = free_port_block()
    pf = parse_procfile_text(f"web: {PY} server_{mark}.py\n", tmp_path / "Procfile")
    sup = Supervisor(
        formation(pf, base_port=base), load_environment([], clean_env(), tmp_path), tmp_path
    )
    cleanup(sup)
    sup.start_all()
    web = sup.get("web.1")
    await until(lambda: "listening" in text(web), message="grandchild listening")
    assert not port_is_free(base)
    await sup.stop_all()
    assert_no_leftovers(mark)
    assert port_is_free(base)


async def test_leftover_background_children_of_an_exited_process_are_reaped(tmp_path, cleanup):
    mark = token()
    sup = make(tmp_path, f"web: sleep 600 && echo {mark} & echo spawned\n", timeout=1)
    cleanup(sup)
    sup.start_all()
    web = sup.get("web.1")
    await until(lambda: web.state is State.EXITED, message="exit")
    assert web.exit.code == 0
    assert_no_leftovers(mark)


async def test_exit_code_signal_and_last_output_are_kept(tmp_path, cleanup):
    sup = make(tmp_path, "bad: echo 'Traceback: boom'; exit 3\nsig: kill -9 $$\n")
    cleanup(sup)
    sup.start_all()
    bad, sig = sup.get("bad.1"), sup.get("sig.1")
    await until(lambda: bad.state is State.EXITED and sig.state is State.EXITED)
    assert bad.exit.code == 3 and bad.crashed and bad.exit.describe() == "exited with code 3"
    assert text(bad) == "Traceback: boom"
    assert sig.exit.signal == signal.SIGKILL and sig.exit.code == 137
    assert sig.exit.describe() == "killed by SIGKILL"


async def test_input_reaches_the_child_and_window_size_is_set(tmp_path, cleanup):
    script = (
        "import os, sys; print('cols', os.get_terminal_size().columns, flush=True); "
        "line = input('name? '); print('hello', line)"
    )
    sup = make(tmp_path, f"ask: {PY} -c {shlex.quote(script)}\n")
    cleanup(sup)
    proc = sup.get("ask.1")
    sup.set_window_size("ask.1", 123, 30)
    sup.start_all()
    await until(lambda: "name? " in text(proc), message="prompt")
    assert "cols 123" in text(proc)
    assert sup.write("ask.1", b"Ada\r")
    await until(lambda: proc.state is State.EXITED)
    assert "hello Ada" in text(proc)


async def test_garbage_output_does_not_break_the_runner(tmp_path, cleanup):
    script = (
        "import os, sys; os.write(1, bytes(range(256)) * 200 + b'\\x1b[31mred\\n' "
        "+ b'x' * 100000 + b'\\nend\\n')"
    )
    sup = make(tmp_path, f"noise: {PY} -c {shlex.quote(script)}\n")
    cleanup(sup)
    sup.start_all()
    proc = sup.get("noise.1")
    await until(lambda: proc.state is State.EXITED)
    assert proc.buffer.snapshot()[-1] == "end"
    assert max(len(x) for x in proc.buffer.lines) <= proc.buffer.line_cap


async def test_spawn_failure_is_reported_not_raised(tmp_path, cleanup):
    sup = make(tmp_path, "web: echo hi\n")
    cleanup(sup)
    sup.app_root = tmp_path / "missing"
    sup.start_all()
    web = sup.get("web.1")
    assert web.state is State.FAILED and "cannot start" in web.error
    assert web.crashed


async def test_stop_all_stops_in_parallel_within_one_timeout(tmp_path, cleanup):
    marks = [token() for _ in range(3)]
    lines = "".join(
        f"p{i}: {PY} -c 'import signal,time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        f"print(1, flush=True); time.sleep(600)' {m}\n"
        for i, m in enumerate(marks)
    )
    sup = make(tmp_path, lines, timeout=1.0)
    cleanup(sup)
    sup.start_all()
    await until(lambda: all(text(p) == "1" for p in sup))
    await asyncio.wait_for(sup.stop_all(), timeout=30)
    assert all(p.state is State.STOPPED for p in sup)
    for m in marks:
        assert_no_leftovers(m)
    assert os.getpgrp()  # the test process itself was not signalled


COUNT_TERMS = (
    "import signal, time\n"
    "got = []\n"
    "signal.signal(signal.SIGTERM, lambda *a: got.append(print('TERM', flush=True)))\n"
    "print('up', flush=True)\n"
    "while not got: time.sleep(0.01)\n"
    "time.sleep(0.5)\n"  # a second SIGTERM would come meanwhile
)


async def test_a_stop_of_all_sends_one_signal_each_and_says_so_once(tmp_path, cleanup):
    """stop_all signals the first wave in one loop ahead of the per-process work; the stop of
    each must then neither signal it again nor say so twice."""
    (tmp_path / "count.py").write_text(COUNT_TERMS)
    procfile = f"a: exec {PY} count.py\nb: exec {PY} count.py\ndb: exec {PY} count.py\n"
    sup = make(tmp_path, procfile, timeout=10)
    cleanup(sup)
    notices = []
    sup.subscribe(lambda e: notices.append(e.message) if isinstance(e, Notice) else None)
    sup.start_all()
    await until(lambda: all("up" in text(p) for p in sup))
    await asyncio.wait_for(sup.stop_all(), timeout=30)
    for proc in sup:
        assert text(proc).count("TERM") == 1, (proc.name, text(proc))
        said = [n for n in notices if n.startswith(f"sending SIGTERM to {proc.name} ")]
        assert len(said) == 1, notices
        assert proc.state is State.STOPPED


async def test_input_to_a_child_that_never_reads_does_not_block_the_runner(tmp_path, cleanup):
    sup = make(tmp_path, "deaf: echo up; sleep 600\n", timeout=1)
    cleanup(sup)
    sup.start_all()
    proc = sup.get("deaf.1")
    await until(lambda: "up" in text(proc))
    started = time.monotonic()
    for _ in range(64):
        assert sup.write("deaf.1", b"x" * 16384)  # far more than a PTY's input buffer
    await asyncio.sleep(0.1)  # the event loop still turns
    assert time.monotonic() - started < 5
    await asyncio.wait_for(sup.stop_all(), 20)
    assert proc.state is State.STOPPED


async def test_a_burst_larger_than_the_terminal_buffer_arrives_complete(tmp_path, cleanup):
    script = "import sys; sys.stdout.write(''.join(f'{i:06d}\\n' for i in range(200000)))"
    sup = make(tmp_path, f"burst: {PY} -c {shlex.quote(script)}\n")
    sup.processes[0].buffer = type(sup.processes[0].buffer)(maxlen=300_000)
    cleanup(sup)
    sup.start_all()
    proc = sup.get("burst.1")
    await until(lambda: proc.state is State.EXITED, timeout=60)
    lines = list(proc.buffer.lines)
    assert len(lines) == 200_000 and lines[0] == "000000" and lines[-1] == "199999"


async def test_children_that_leave_the_group_are_stopped_too(tmp_path, cleanup):
    # setsid puts the child in its own session and group: killpg cannot reach it.
    marks = [token(), token()]
    sup = make(
        tmp_path,
        f"exits: setsid {PY} -c 'import time; time.sleep(600)' {marks[0]} & sleep 0.3\n"
        f"stays: setsid {PY} -c 'import time; time.sleep(600)' {marks[1]} & exec sleep 600\n",
        timeout=1,
    )
    cleanup(sup)
    sup.start_all()
    from tests.helpers import processes_with

    await until(lambda: processes_with(marks[1]), message="the detached child")
    exits = sup.get("exits.1")
    await until(lambda: exits.state is State.EXITED, message="exit")
    assert_no_leftovers(marks[0])  # left behind by a process that exited on its own
    await sup.stop_all()
    assert_no_leftovers(marks[1])  # left the group of a process that was stopped


async def test_forced_kill_reaches_children_that_left_the_group(tmp_path, cleanup):
    mark = token()
    sup = make(
        tmp_path, f"web: setsid {PY} -c 'import time; time.sleep(600)' {mark} & exec sleep 600\n"
    )
    cleanup(sup)
    sup.start_all()
    from tests.helpers import processes_with

    await until(lambda: processes_with(mark), message="the detached child")
    sup.kill_all_now()
    assert_no_leftovers(mark)


async def test_a_quit_during_a_restart_leaves_the_process_stopped(tmp_path, cleanup):
    sup = make(tmp_path, "slow: trap '' TERM; echo up; while true; do sleep 0.1; done\n", timeout=1)
    cleanup(sup)
    sup.start_all()
    proc = sup.get("slow.1")
    await until(lambda: "up" in text(proc))
    restart = asyncio.create_task(sup.restart("slow.1"))
    await until(lambda: proc.state is State.RESTARTING)
    await asyncio.wait_for(sup.stop_all(), 20)
    await restart
    assert proc.state is State.STOPPED and proc.pid is None and not sup.any_alive


async def test_an_unspawnable_environment_fails_the_process_not_the_runner(tmp_path, cleanup):
    sup = make(tmp_path, "bad: echo never\ngood: echo fine\n")
    cleanup(sup)
    sup.set_environment(sup.environment.with_runner_vars({"BROKEN": "a\x00b"}))
    sup.start_all()
    assert sup.get("bad.1").state is State.FAILED
    assert "null" in sup.get("bad.1").error
