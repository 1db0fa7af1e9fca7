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
from dataclasses import dataclass
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


def run_bare(
    python: str,
    lines: int,
    mode: str,
    columns: int,
    rows: int,
    *,
    keep: bool = False,
    onlcr: bool = True,
) -> dict:
    """The child under bench/bare_pty_reader.py: its ``done`` report, plus ``busy_cores``, how
    many of the machine's cores were busy on average during the run (Linux; else None).
    *onlcr*: the terminal's default ``\\n`` → ``\\r\\n``, which tuirunner turns off."""
    with tempfile.TemporaryDirectory(prefix="tuirunner-bench-") as tmp:
        report = Path(tmp)
        cmd = [
            python,
            str(BARE),
            "--columns",
            str(columns),
            "--rows",
            str(rows),
            *(["--keep"] if keep else []),
            *([] if onlcr else ["--no-onlcr"]),
            "--",
            *child_command(python, lines, report, mode, wait_go=False),
        ]
        before = cpu_times()
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        after = cpu_times()
        done = read_json(report / "done")
        if result.returncode != 0 or done is None:
            raise BenchError(f"bare reader run failed: {result.stdout}{result.stderr}")
        done["busy_cores"] = None
        if before and after and after[0] > before[0]:
            total, idle = after[0] - before[0], after[1] - before[1]
            done["busy_cores"] = (total - idle) / total * (os.cpu_count() or 1)
        return done


def cpu_times() -> tuple[int, int] | None:
    """The machine's (all, idle) CPU time in ticks, from /proc/stat (Linux), or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return sum(fields), fields[3] + fields[4]  # idle + iowait


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


# --- the processes of a run, from /proc ---------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")
RUN_TOKEN_VAR = "TUIRUNNER_BENCH_RUN"  # put in the runner's environment: finds its processes


@dataclass(frozen=True)
class Proc:
    """One process, as /proc showed it at one moment."""

    pid: int
    ppid: int
    state: str  # "Z" for a zombie
    start: int  # clock ticks after boot; (pid, start) names a process for good
    cpu: float  # user + system seconds, all threads
    argv: tuple[str, ...]

    @property
    def key(self) -> tuple[int, int]:
        return (self.pid, self.start)

    @property
    def text(self) -> str:
        return " ".join(self.argv)


def read_proc(pid: int) -> Proc | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read()
    except OSError:  # gone
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last )
    rest = stat[stat.rindex(b")") + 2 :].split()
    return Proc(
        pid=pid,
        ppid=int(rest[1]),
        state=rest[0].decode(),
        start=int(rest[19]),
        cpu=(int(rest[11]) + int(rest[12])) / CLK_TCK,
        argv=tuple(a.decode(errors="replace") for a in cmdline.split(b"\0") if a),
    )


def scan_procs() -> dict[int, Proc]:
    procs = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            p = read_proc(int(name))
            if p is not None:
                procs[p.pid] = p
    return procs


def alive(key: tuple[int, int]) -> bool:
    """Whether the process *key* (pid, start) still exists and is not a zombie."""
    p = read_proc(key[0])
    return p is not None and p.start == key[1] and p.state != "Z"


def proc_label(argv: tuple[str, ...]) -> str:
    """A short name for a process: the program, or for Python the script or ``-m`` module."""
    if not argv:
        return "?"
    prog = os.path.basename(argv[0])
    if prog.startswith("python"):
        args = iter(argv[1:])
        for a in args:
            if a == "-m":
                return f"python -m {next(args, '?')}"
            if a == "-c":
                return "python -c"
            if not a.startswith("-"):
                return os.path.basename(a)
    return prog


class RunProcesses:
    """Which processes are a run's runner, and which its workload.

    - **Workload**: every process whose command line contains *marker*, and their descendants.
      The benchmark writes the marker into the workload's commands in a form that only a shell
      expands (``bw$((6*7))TOKEN`` becomes ``bw42TOKEN``), so a runner that has the commands in
      its own argv (mprocs does) is not mistaken for its workload.
    - **Runner**: the process launched in the tmux pane (*root*) and its descendants; any
      process whose command line contains *run_dir* or whose working directory is in it (the
      runner is started there); any process whose command line contains one
      of *names* (``tuirunner``, ``honcho``, ...) and whose environment holds this run's token
      (:data:`RUN_TOKEN_VAR`), so that a part that daemonized (left the tree) is still found and
      other people's tuirunner processes on the machine are not; and any process once found, as
      long as it lives. Minus the workload (and whatever was ever seen in it), tmux itself and
      the benchmark. (The workload should not run in *run_dir*: a child orphaned by a killed
      workload shell is no longer its descendant.)
    """

    def __init__(self, *, marker: str, token: str, run_dir: str, names: tuple[str, ...]):
        self.marker = marker
        self.token = f"{RUN_TOKEN_VAR}={token}".encode()
        self.run_dir = run_dir
        self.names = names
        self.root: int | None = None
        self.exclude: set[int] = {os.getpid()}
        self.known: set[tuple[int, int]] = set()
        self.workload_seen: set[tuple[int, int]] = set()
        self._env: dict[tuple[int, int], bool] = {}

    def _has_token(self, p: Proc) -> bool:
        if p.key not in self._env:
            try:
                with open(f"/proc/{p.pid}/environ", "rb") as f:
                    env = f.read()
            except OSError:
                env = b""
            self._env[p.key] = self.token in env.split(b"\0")
        return self._env[p.key]

    def _in_run_dir(self, p: Proc) -> bool:
        try:
            cwd = os.readlink(f"/proc/{p.pid}/cwd")
        except OSError:
            return False
        return cwd == self.run_dir or cwd.startswith(self.run_dir + "/")

    def classify(
        self, procs: dict[int, Proc] | None = None
    ) -> tuple[dict[int, Proc], dict[int, Proc]]:
        """(runner, workload) processes, each by pid; zombies are left out."""
        if procs is None:
            procs = scan_procs()
        live = {pid: p for pid, p in procs.items() if p.state != "Z"}
        children: dict[int, list[int]] = {}
        for p in live.values():
            children.setdefault(p.ppid, []).append(p.pid)

        def with_descendants(roots) -> set[int]:
            found, stack = set(), list(roots)
            while stack:
                pid = stack.pop()
                if pid not in found:
                    found.add(pid)
                    stack.extend(children.get(pid, ()))
            return found

        workload = with_descendants(pid for pid, p in live.items() if self.marker in p.text)
        candidates = with_descendants([self.root]) if self.root in live else set()
        for pid, p in live.items():
            text = p.text
            if (
                p.key in self.known
                or self.run_dir in text
                or self._in_run_dir(p)
                or (any(n in text for n in self.names) and self._has_token(p))
            ):
                candidates.add(pid)
        self.workload_seen |= {live[pid].key for pid in workload}
        runner = {}
        for pid in candidates - workload:
            p = live[pid]
            if (
                pid in self.exclude
                or p.key in self.workload_seen  # say, a child left behind by a killed shell
                or (p.argv and os.path.basename(p.argv[0]) == "tmux")
            ):
                continue
            runner[pid] = p
            self.known.add(p.key)
        return runner, {pid: live[pid] for pid in workload}

    def workload_pids(self) -> list[int]:
        return sorted(self.classify()[1])


def run_time(pid: int) -> float | None:
    """CPU seconds of *pid*'s live threads, to the nanosecond (the scheduler's own count in
    /proc/PID/task/*/schedstat), or None where there is no such count. /proc/PID/stat counts in
    clock ticks (10 ms): over an idle window of 20 s, one tick is 0.05 % of a core."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat", "rb") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # (a thread that just ended)
    return total / 1e9


class CpuMeter:
    """CPU time of a run's runner processes over a window: the scheduler's count of each one's
    threads (:func:`run_time`), or user + system time in clock ticks where there is none.

    ``sample(first=True)`` at the start, ``sample()`` at the end and now and then in between
    (to see processes that come and go). A process first seen after the start counts from
    zero; one that turns out to be the workload (a fork that exec'd a command) is dropped.
    """

    def __init__(self, run: RunProcesses):
        self.run = run
        self.base: dict[tuple[int, int], float] = {}
        self.last: dict[tuple[int, int], float] = {}
        self.label: dict[tuple[int, int], str] = {}
        self.dropped: set[tuple[int, int]] = set()
        self.precise: dict[tuple[int, int], float | None] = {}

    def sample(self, first: bool = False) -> None:
        runner, workload = self.run.classify()
        for p in runner.values():
            precise = run_time(p.pid)
            cpu = p.cpu if precise is None else precise
            if p.key in self.last and (precise is None) != (self.precise.get(p.key) is None):
                continue  # (one count or the other for a process, never both)
            self.precise[p.key] = precise
            self.base.setdefault(p.key, cpu if first else 0.0)
            self.last[p.key] = cpu
            self.label[p.key] = proc_label(p.argv)
        self.dropped |= {p.key for p in workload.values()}

    def total(self) -> float:
        return sum(self.last[k] - self.base[k] for k in self.last if k not in self.dropped)

    def counted(self) -> dict[str, int]:
        """How many processes of each kind were counted: {"tuirunner": 1, "relay.py": 1}."""
        out: dict[str, int] = {}
        for k, name in self.label.items():
            if k not in self.dropped:
                out[name] = out.get(name, 0) + 1
        return dict(sorted(out.items()))
