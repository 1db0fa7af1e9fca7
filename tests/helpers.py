"""Helpers for tests that run the real ``tuirunner`` command and real children."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psutil

PYTHON = sys.executable
TUIRUNNER = shutil.which("tuirunner", path=str(Path(sys.executable).parent)) or "tuirunner"


async def until(condition: Callable[[], object], timeout=20.0, message="condition") -> None:
    """Wait on the event loop until *condition()* is true (tests driving a Supervisor)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        await asyncio.sleep(0.02)


def text(proc) -> str:
    """A process's output buffer, as one string."""
    return "\n".join(proc.buffer.snapshot())


def token() -> str:
    """A unique marker to put in a child's command line, to find leftovers by."""
    return "tok" + uuid.uuid4().hex[:12]


def stubborn(mark: str) -> str:
    """A Procfile command that ignores SIGTERM, prints "ready", and is the group leader itself
    (``exec``: dash would otherwise stay as the parent). *mark* finds it afterwards."""
    script = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(600)"
    )
    return f"exec {shlex.quote(PYTHON)} -c {shlex.quote(script)} {mark}"


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without the variables that would change what we test."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONUNBUFFERED", "PORT", "PROCFILE", "NO_COLOR", "PS")
    }
    env.update(extra)
    return env


def wait_for(
    condition: Callable[[], object],
    timeout: float = 20.0,
    interval: float = 0.05,
    message: str = "condition",
) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def processes_with(marker: str) -> list[psutil.Process]:
    """Live (non-zombie) processes whose command line contains *marker*."""
    found = []
    me = os.getpid()
    for p in psutil.process_iter(["cmdline", "status"]):
        try:
            if p.pid == me or p.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if any(marker in part for part in p.info["cmdline"] or ()):
                found.append(p)
        except psutil.Error:
            continue
    return found


def assert_no_leftovers(marker: str, timeout: float = 10.0) -> None:
    wait_for(
        lambda: not processes_with(marker),
        timeout,
        message=f"no process with {marker!r} left (found {processes_with(marker)})",
    )


def kill_leftovers(marker: str) -> None:
    for p in processes_with(marker):
        with contextlib.suppress(psutil.Error):
            p.kill()


def port_is_free(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_block(size: int = 300) -> int:
    """A base port whose block [base, base + size) is currently free (best effort)."""
    import random

    for _ in range(200):
        base = random.randrange(20000, 60000 - size, 100)
        if all(port_is_free(base + off) for off in (0, 1, 100, 101, 200)):
            return base
    raise RuntimeError("no free port block")


def run_cli(
    args: list[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    input: str | None = None,
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [TUIRUNNER, *args],
        cwd=cwd,
        env=clean_env() if env is None else env,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
    )


class Runner:
    """``tuirunner`` started in the background with its output read as it comes."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str] | None = None):
        self.proc = subprocess.Popen(
            [TUIRUNNER, *args],
            cwd=cwd,
            env=clean_env() if env is None else env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_output(self, text: str, timeout: float = 20.0) -> None:
        try:
            wait_for(lambda: text in self.output, timeout, message=repr(text))
        except AssertionError:
            raise AssertionError(f"{text!r} not in output:\n{self.output}") from None

    def signal(self, sig: int = signal.SIGTERM) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 30.0) -> int:
        rc = self.proc.wait(timeout)
        self._reader.join(5)
        return rc

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc) -> None:
        self.kill()


def write_files(root: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


def run_in_pty(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> tuple[int, bytes]:
    """Run ``tuirunner ARGS`` with a pseudo-terminal as its terminal; (exit status, output)."""
    import pty
    import select

    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.chdir(cwd)
        os.execvpe(TUIRUNNER, [TUIRUNNER, *args], clean_env() if env is None else env)
    output = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    else:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), output


def openssl_mapped(pid: int) -> list[str]:
    """The files of OpenSSL's libraries (and Python's modules for them) a process has mapped
    (Linux); tuirunner/lean_imports.py keeps them out of a run's processes."""
    return _mapped(pid, ("libssl", "libcrypto", "_ssl.", "_hashlib."))


def archivers_mapped(pid: int) -> list[str]:
    """The same for bzip2's and xz's libraries, which shutil imports (lean_imports.py too)."""
    return _mapped(pid, ("libbz2", "liblzma", "_bz2.", "_lzma."))


def _mapped(pid: int, names: tuple[str, ...]) -> list[str]:
    with open(f"/proc/{pid}/maps") as f:
        return sorted({line.split()[-1] for line in f if any(name in line for name in names)})


def over_the_wire(payload):
    """*payload* (a protocol struct) as a client gets it: encoded, then decoded."""
    import msgspec

    return msgspec.json.decode(msgspec.json.encode(payload), type=type(payload))


def bytecode_env(prefix: Path, *, warm: bool) -> dict[str, str]:
    """An environment whose Python keeps its bytecode under *prefix* (PYTHONPYCACHEPREFIX) and
    may write it; *warm*: with the ``-OO`` bytecode of the keeper and the window written there
    first, as the keeper's warm-up does (tuirunner/bytecode.py)."""
    env = clean_env(PYTHONPYCACHEPREFIX=str(prefix), PYTHONDONTWRITEBYTECODE="")
    if warm:
        subprocess.run(
            [PYTHON, "-OO", "-m", "tuirunner.bytecode"], env=env, check=True, timeout=120
        )
    return env


def keepers_of(app_root: Path) -> list[psutil.Process]:
    """The keeper processes of the run in *app_root* (not their guard, which names them)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        keeper = cmdline and "tuirunner.keeper" in cmdline and not cmdline[0].endswith("sh")
        if keeper and str(app_root) in cmdline:
            found.append(proc)
    return found
