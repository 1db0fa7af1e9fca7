"""Pieces shared by the benchmarks in bench/ (throughput.py, always_on.py): a private tmux
server, the load generator's command line and the bare reference reader, small helpers, and
finding the processes of a run in /proc.

Import it after making sure psutil is importable (the scripts re-run themselves with the
project's venv otherwise).
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent

CHILD = BENCH / "child.py"
BARE = BENCH / "bare_pty_reader.py"

MB = 1024 * 1024


class BenchError(Exception):
    pass


# --- helpers ------------------------------------------------------------------------------------


def wait_for(condition, timeout: float, what: str, interval: float = 0.01):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def vm_hwm(pid: int) -> int | None:
    """Peak resident set size of *pid* (bytes), from /proc (Linux)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def cpu_seconds(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system


def fmt_spread(values: list[float], unit: str = "", digits: int = 2) -> str:
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:.{digits}f}{unit}"
    return (
        f"{med:.{digits}f}{unit} (min {min(values):.{digits}f}, max {max(values):.{digits}f},"
        f" n={len(values)})"
    )


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def child_command(
    python: str, lines: int, report: Path, mode: str, *, wait_go: bool, linger: float = 0.0
) -> list[str]:
    cmd = [python, str(CHILD), "--lines", str(lines), "--report", str(report), "--mode", mode]
    if wait_go:
        cmd.append("--wait-go")
    if linger:
        cmd += ["--linger", str(linger)]
    return cmd


# --- the reference: a bare pseudo-terminal reader ----------------------------------------------


def run_bare(python: str, lines: int, mode: str, columns: int, rows: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="tuirunner-bench-") as tmp:
        report = Path(tmp)
        cmd = [
            python,
            str(BARE),
            "--columns",
            str(columns),
            "--rows",
            str(rows),
            "--",
            *child_command(python, lines, report, mode, wait_go=False),
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        done = read_json(report / "done")
        if result.returncode != 0 or done is None:
            raise BenchError(f"bare reader run failed: {result.stdout}{result.stderr}")
        return done


# --- a terminal: tmux ----------------------------------------------------------------------------


class Tmux:
    """A private tmux server (its own socket), so nothing touches the user's sessions."""

    def __init__(self, workdir: Path, columns: int, rows: int):
        self.socket = f"tuirunner-bench-{os.getpid()}-{int(time.monotonic() * 1000) % 100000}"
        self.conf = workdir / "tmux.conf"
        self.conf.write_text("set -g status off\nset -g history-limit 0\n")
        self.workdir = workdir
        self.columns, self.rows = columns, rows
        self.started = False
        self.socket_path = ""

    def cmd(self, *args: str, check: bool = True, timeout: float = 10) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, "-f", str(self.conf), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise BenchError(f"tmux {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def start(self, command: str, env: dict[str, str] | None = None) -> None:
        env_term = os.environ.copy()
        env_term.pop("TMUX", None)
        extra = [f"-e{k}={v}" for k, v in (env or {}).items()]
        size = ["-x", str(self.columns), "-y", str(self.rows)]
        where = ["-s", "bench", "-c", str(self.workdir)]
        subprocess.run(
            ["tmux", "-L", self.socket, "-f", str(self.conf), "new-session", "-d", *size, *where,
             *extra, command],
            check=True, env=env_term, timeout=10,
        )  # fmt: skip
        self.started = True
        self.socket_path = self.cmd("display", "-p", "#{socket_path}").strip()

    def pane_pid(self) -> int:
        return int(self.cmd("display", "-p", "-t", "bench", "#{pane_pid}").strip())

    def server_pid(self) -> int:
        return int(self.cmd("display", "-p", "-t", "bench", "#{pid}").strip())

    def capture(self) -> str:
        return self.cmd("capture-pane", "-p", "-t", "bench", check=False)

    def send(self, *keys: str) -> None:
        self.cmd("send-keys", "-t", "bench", *keys)

    def kill(self) -> None:
        if self.started:
            self.cmd("kill-server", check=False)
            self.started = False
        if self.socket_path:  # tmux leaves its socket behind when the last session ends
            with contextlib.suppress(OSError):
                os.unlink(self.socket_path)


# --- finding things -----------------------------------------------------------------------------


def find_tuirunner(given: str | None) -> list[str]:
    if given:
        return shlex.split(given)
    for candidate in (Path(sys.executable).parent / "tuirunner", REPO / ".venv/bin/tuirunner"):
        if candidate.exists():
            return [str(candidate)]
    found = shutil.which("tuirunner")
    if not found:
        raise BenchError("tuirunner not found: pass --tuirunner PATH")
    return [found]


def git_revision() -> str:
    try:
        result = subprocess.run(
            ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except OSError:
        return "unknown revision"
    return f"revision {result.stdout.strip()}" if result.returncode == 0 else "unknown revision"
