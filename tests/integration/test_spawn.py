"""A child on a pseudo-terminal, as both ways of starting one leave it (Linux: ``posix_spawn``;
elsewhere fork + ``_child_setup``, also run here): a session leader whose controlling terminal
is its PTY (so ^C typed into the PTY is a SIGINT), in the directory asked for, with no signal
ignored or blocked, found on the *child's* PATH; what cannot start raises, leaking nothing."""

import os
import select
import sys
import time

import pytest

from tuirunner import spawn

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX")

REPORT = (
    "import os, signal, sys, time\n"
    "print('leader', os.getsid(0) == os.getpid() == os.getpgrp(),\n"
    "      'ctty', os.tcgetpgrp(0) == os.getpgrp(), 'cwd', os.getcwd(), flush=True)\n"
    "signal.signal(signal.SIGINT, lambda *a: (print('got SIGINT', flush=True), sys.exit(3)))\n"
    "print('ready', flush=True)\n"
    "time.sleep(60)\n"
)


@pytest.fixture(params=["posix_spawn", "fork"])
def way(request, monkeypatch):
    if request.param == "posix_spawn" and not spawn.POSIX_SPAWN:
        pytest.skip("posix_spawn is used on Linux only")
    monkeypatch.setattr(spawn, "POSIX_SPAWN", request.param == "posix_spawn")
    return request.param


def read_until(fd: int, text: bytes, timeout: float = 30.0) -> bytes:
    got, deadline = b"", time.monotonic() + timeout
    while text not in got:
        assert time.monotonic() < deadline, got
        if select.select([fd], [], [], 0.5)[0]:
            try:
                got += os.read(fd, 4096)
            except OSError:  # EIO: the child is gone
                break
    return got


def open_fds() -> set[int]:
    return set(map(int, os.listdir("/proc/self/fd"))) if os.path.isdir("/proc/self/fd") else set()


def test_the_child_leads_a_session_on_its_terminal_and_gets_sigint_from_ctrl_c(tmp_path, way):
    here = os.getcwd()
    child = spawn.spawn_on_pty(
        [sys.executable, "-c", REPORT], dict(os.environ), tmp_path, (100, 30)
    )
    try:
        out = read_until(child.master, b"ready")
        assert f"leader True ctty True cwd {tmp_path}".encode() in out, out
        assert os.getcwd() == here  # the spawn's chdir is undone
        os.write(child.master, b"\x03")  # ^C, read by the terminal's line discipline
        out = read_until(child.master, b"got SIGINT")
        _, status = os.waitpid(child.pid, 0)
        assert os.waitstatus_to_exitcode(status) == 3, out
    finally:
        os.close(child.master)


def test_lines_arrive_as_written_on_a_terminal_the_child_still_sees(tmp_path, way):
    # No \r added to each \n (ONLCR off): the bytes a pipe would carry; still a terminal.
    code = "import sys; print('tty', sys.stdout.isatty()); print('two'); print('end')"
    child = spawn.spawn_on_pty([sys.executable, "-c", code], dict(os.environ), tmp_path, (80, 24))
    try:
        out = read_until(child.master, b"end\n")
        assert out == b"tty True\ntwo\nend\n", out
        os.waitpid(child.pid, 0)
    finally:
        os.close(child.master)


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc")
def test_no_signal_is_ignored_or_blocked_in_the_child(tmp_path, way):
    # This process (Python) ignores SIGPIPE and SIGXFSZ; a child must not inherit that. The
    # standard signals only: glibc's posix_spawn leaves its own two (32, 33) ignored.
    child = spawn.spawn_on_pty(["cat", "/proc/self/status"], dict(os.environ), tmp_path, (80, 24))
    try:
        out = read_until(child.master, b"SigCgt").decode()
        masks = dict(line.split(":\t") for line in out.splitlines() if line.startswith("Sig"))
        standard = (1 << 31) - 1  # signals 1-31: bit n-1
        assert int(masks["SigIgn"], 16) & standard == 0, out
        assert int(masks["SigBlk"], 16) & standard == 0, out
        os.waitpid(child.pid, 0)
    finally:
        os.close(child.master)


def test_the_program_is_found_on_the_childs_path(tmp_path, way):
    (tmp_path / "bin").mkdir()
    tool = tmp_path / "bin" / "only-here"
    tool.write_text("#!/bin/sh\necho found me in $PWD\n")
    tool.chmod(0o755)
    env = {"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin", "PWD": str(tmp_path)}
    child = spawn.spawn_on_pty(["only-here"], env, tmp_path, (80, 24))
    try:
        assert b"found me" in read_until(child.master, b"found me")
        os.waitpid(child.pid, 0)
    finally:
        os.close(child.master)


@pytest.mark.parametrize("what", ["program", "directory"])
def test_what_cannot_start_raises_and_leaks_no_descriptor(tmp_path, way, what):
    before = open_fds()
    argv, cwd = [sys.executable, "-c", "pass"], tmp_path
    if what == "program":
        argv = ["no-such-program-anywhere"]
    else:
        cwd = tmp_path / "gone"
    with pytest.raises(FileNotFoundError):
        spawn.spawn_on_pty(argv, {"PATH": "/usr/bin:/bin"}, cwd, (80, 24))
    assert open_fds() == before
