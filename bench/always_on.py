"""Always-on cost and scale (issue 10): tuirunner side by side with honcho and mprocs.

    python bench/always_on.py [--only idle,launch,restart,throughput,hundred] [--repeat 3]
                              [--quick] [--json FILE] [--no-peers]

See bench/README.md. Each runner runs in a private tmux server (200x50, no status line); the
runners are interleaved within each repeat so that a change in the machine's load hits all of
them. Figures (medians, with min and max):

- idle CPU of the runner with 5 processes printing a line a second ("tick", the issue's
  figure), printing a different line a second (a counter: every row of a full pane changes on
  every line), and silent;
- launch -> the child's first line on screen;
- restart key -> the new child running;
- 1M lines: the child's wall time over a bare PTY reader's, and the runner's CPU per million;
- 100 processes: time until all run, a key press until it shows, CPU, and quit (tuirunner's
  TUI and plain modes, honcho, mprocs).

"The runner" is every process of the run that is not the workload (see common.RunProcesses);
what was counted is printed. It is a benchmark, not a test: it prints PASS/MISS against the
issue's goals and exits 0 whatever the figures, 2 if something could not be measured.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import secrets
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

if __name__ == "__main__":  # thousand.py and keys.py import this module: one copy, not two
    sys.modules.setdefault("always_on", sys.modules[__name__])

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent

try:
    import psutil  # noqa: F401  (common needs it)
except ImportError:  # run with a Python that lacks psutil: use the repository's venv if any
    venv_python = REPO / ".venv" / "bin" / "python"
    if venv_python.exists() and Path(sys.prefix).resolve() != venv_python.parent.parent.resolve():
        os.execv(str(venv_python), [str(venv_python), __file__, *sys.argv[1:]])
    sys.exit("bench/always_on.py needs psutil: run it with the project's venv (.venv/bin/python)")

import keys  # noqa: E402
import thousand  # noqa: E402
from common import (  # noqa: E402  (after the psutil check above)
    CHILD,
    RUN_TOKEN_VAR,
    BenchError,
    CpuMeter,
    RunProcesses,
    Tmux,
    find_tuirunner,
    git_revision,
    read_json,
    read_proc,
    run_bare,
    wait_for,
)

FIGURES_ALL = ("idle", "launch", "restart", "keys", "throughput", "hundred", "rss", "thousand")

GOAL_IDLE_PCT = 0.25  # issue 23 (issue 10: 0.5)
GOAL_LAUNCH_S = 0.20  # issue 23 (issue 10: 0.30)
GOAL_RESTART_S = 0.010  # issue 23 (issue 10: 0.03)
GOAL_QUIT_CHILDREN_S = 0.10  # issue 23; never more than -t + 1
GOAL_QUIT_RUNNER_S = 0.25
GOAL_RATIO = 1.15
GOAL_CPU_PER_M = 1.0
GOAL_ALL_STARTED_S = 3.0
GOAL_KEY_MS = 100.0
GOAL_CPU_VS_PLAIN = 2.0
LONGEST_PANE_COMMAND = 4000  # longer pane commands go through a script (tmux has a limit)

TEXTUAL_FLOOR = "floor textual"  # launch: the plainest Textual app showing the line
LAUNCH_TEXT = "LAUNCH$((6*7))ED"  # what the child prints first; on screen once a shell ran it:
LAUNCH_SHOWN = "LAUNCH42ED"  # (the command text itself, which a runner may show, differs)


# --- the runners ---------------------------------------------------------------------------------


@dataclass
class Peer:
    """A runner and how to drive it."""

    label: str  # column: "tuirunner", "tuirunner plain", "honcho", "mprocs", "floor"
    kind: str  # "tuirunner", "honcho", "mprocs", "direct" (the command alone), "floor_runner"
    argv: list[str]
    names: tuple[str, ...] = ()  # words that name its processes on a command line
    quit_keys: tuple[str, ...] = ("q",)
    restart_key: str | None = None
    focus_first: tuple[str, ...] = ()  # keys that focus the first process
    # (key, regex): pressing the key shows a line matching the regex where there was none
    focus_keys: tuple[tuple[str, str], ...] = ()
    tui: bool = True

    def command(self, procs: list[tuple[str, str, int]], run_dir: Path, timeout: float) -> str:
        """The shell command that runs *procs* ((name, command, count), ...) from *run_dir*."""
        conc = ",".join(f"{name}={count}" for name, _, count in procs if count != 1)
        if self.kind in ("tuirunner", "honcho"):
            procfile = "".join(f"{name}: exec {cmd}\n" for name, cmd, _ in procs)
            (run_dir / "Procfile").write_text(procfile)
            if self.kind == "tuirunner":
                args = [*self.argv, "--tui" if self.tui else "--no-tui", "-t", f"{timeout:g}"]
            else:
                args = [*self.argv, "start"]
            return shlex.join(args + (["-c", conc] if conc else []))
        commands = [(f"{name}.{i + 1}", cmd) for name, cmd, count in procs for i in range(count)]
        if self.kind == "mprocs":
            names = ",".join(n for n, _ in commands)
            return shlex.join([*self.argv, "--names", names]) + "".join(
                " " + shlex.quote(f"exec {cmd}") for _, cmd in commands
            )
        if self.kind == "floor_runner":
            return shlex.join(self.argv) + "".join(
                " " + shlex.quote(f"exec {cmd}") for _, cmd in commands
            )
        if self.kind == "textual_floor":  # shows the line itself: nothing to run
            return shlex.join(self.argv)
        if self.kind == "direct":
            if len(commands) != 1:
                raise BenchError("the 'direct' floor runs exactly one command")
            return commands[0][1]
        raise BenchError(f"unknown runner kind {self.kind}")


def find_honcho(given: str | None, peers_dir: str | None = None) -> list[str] | None:
    if given:
        return shlex.split(given)
    candidates = [Path(sys.executable).parent / "honcho"]
    if peers_dir:  # a venv of its own there: DIR/honcho/bin/honcho (or DIR/bin/honcho)
        candidates[:0] = [
            Path(peers_dir) / "honcho" / "bin" / "honcho",
            Path(peers_dir) / "bin" / "honcho",
        ]
    found = next((str(c) for c in candidates if c.exists()), None) or shutil.which("honcho")
    return [found] if found else None


def find_mprocs(given: str | None, peers_dir: str | None = None) -> list[str] | None:
    if given:
        return shlex.split(given)
    arch = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}.get(
        platform.machine().lower(), platform.machine()
    )
    pattern = f"node_modules/mprocs/mprocs-*-linux-{arch}-musl/mprocs"
    found = sorted(Path(peers_dir).glob(pattern)) if peers_dir else []
    found = found or sorted(BENCH.glob(pattern))
    if found:
        return [str(found[-1])]
    which = shutil.which("mprocs")
    return [which] if which else None


def version_of(argv: list[str]) -> str:
    try:
        out = subprocess.run([*argv, "--version"], capture_output=True, text=True, timeout=20)
    except OSError:
        return "?"
    return (out.stdout or out.stderr).strip().splitlines()[0] if out.stdout or out.stderr else "?"


def honcho_kill_wait() -> str:
    try:
        import honcho.manager

        return f"{honcho.manager.KILL_WAIT:g} s (fixed)"
    except (ImportError, AttributeError):
        return "?"


def make_peers(args) -> tuple[list[Peer], dict[str, Peer], dict[str, str]]:
    """(the runners to compare, the floors, their versions)."""
    tuirunner = find_tuirunner(args.tuirunner)
    versions = {"tuirunner": f"{version_of(tuirunner)} ({git_revision()})"}
    tui = Peer(
        "tuirunner",
        "tuirunner",
        tuirunner,
        names=("tuirunner",),
        quit_keys=("q",),
        restart_key="r",
        focus_first=("1",),
        focus_keys=(("5", r"(?<![\w.])p\.5(?![\w.])"), ("3", r"(?<![\w.])p\.3(?![\w.])")),
    )
    peers = [tui]
    if args.tuirunner_ref:  # another build, side by side (before/after a change)
        ref = find_tuirunner(args.tuirunner_ref)
        versions["tuirunner ref"] = f"{version_of(ref)} ({shlex.join(ref)})"
        peers.insert(0, replace(tui, label="tuirunner ref", argv=ref))
    if not args.no_peers:
        honcho = find_honcho(args.honcho, args.peers)
        if honcho:
            versions["honcho"] = f"{version_of(honcho)}; kill timeout {honcho_kill_wait()}"
            peers.insert(0, Peer("honcho", "honcho", honcho, names=("honcho",), quit_keys=("C-c",)))
        else:
            print(
                "honcho: not found (pip install honcho, or --honcho PATH): its column stays empty"
            )
        mprocs = find_mprocs(args.mprocs, args.peers)
        if mprocs:
            versions["mprocs"] = version_of(mprocs)
            mp = Peer(
                "mprocs",
                "mprocs",
                mprocs,
                names=("mprocs",),
                quit_keys=("q",),
                restart_key="r",
                focus_keys=(("j", r"•p\.2(?![\w.])"), ("k", r"•p\.1(?![\w.])")),
            )
            peers.insert(len(peers) - 1, mp)
        else:
            print(
                "mprocs: not found (cd bench && npm install mprocs, or --mprocs PATH): "
                "its column stays empty"
            )
    floors = {
        "direct": Peer("floor", "direct", [], quit_keys=("C-c",)),
        "textual": Peer(
            TEXTUAL_FLOOR,
            "textual_floor",
            [sys.executable, str(BENCH / "textual_launch_floor.py")],
            names=("textual_launch_floor.py",),
            quit_keys=("C-q",),
        ),
        "floor_runner": Peer(
            "floor",
            "floor_runner",
            [sys.executable, str(BENCH / "floor_runner.py")],
            names=("floor_runner.py",),
            quit_keys=("q",),
            restart_key="r",
        ),
    }
    return peers, floors, versions


# --- one run of a runner in tmux -----------------------------------------------------------------


class Session:
    """One runner in a private tmux server, with its processes identified (see RunProcesses).

    The runner starts in ``run/``. Workload commands are made with :meth:`wrap`: they move to
    ``work/``, append their pid to ``run/started`` as they start, and carry the run's marker in
    their ``$0`` (``bw$((6*7))TOKEN``, which only the shell that runs them turns into
    ``bw42TOKEN``).
    """

    leftovers: list[str] = []  # of all sessions

    def __init__(self, peer: Peer, args):
        self.peer, self.args = peer, args
        self.base = Path(tempfile.mkdtemp(prefix="tuirunner-bench-"))
        self.run_dir = self.base / "run"
        self.run_dir.mkdir()
        self.work_dir = self.base / "work"  # the workload's, so that the runner's cwd is its own
        self.work_dir.mkdir()
        if "'" in str(self.run_dir) or " " in str(self.run_dir):
            raise BenchError(f"the temporary directory {self.run_dir} needs quoting: set TMPDIR")
        self.token = secrets.token_hex(6)
        self.marker_text = f"bw$((6*7)){self.token}"
        self.marker = f"bw42{self.token}"
        self.started = self.run_dir / "started"
        self.procs = RunProcesses(
            marker=self.marker, token=self.token, run_dir=str(self.run_dir), names=peer.names
        )
        self.tmux = Tmux(self.base, args.columns, args.rows)
        self.server: int | None = None
        self.closed = False

    def wrap(self, script: str) -> str:
        """A workload command: *script*, announced in ``started``, marked."""
        body = f"cd {self.work_dir} && echo $$ >> {self.started}; {script}"
        return f"sh -c {shlex.quote(body)} {self.marker_text}"

    def launch(self, procs: list[tuple[str, str, int]]) -> float:
        """Start the runner in the pane (replacing a placeholder); returns the time just before."""
        command = self.peer.command(procs, self.run_dir, self.args.timeout)
        self.tmux.start("exec sleep 86400")
        self.server = self.tmux.server_pid()
        self.procs.exclude.add(self.server)
        pane = (
            f"cd {shlex.quote(str(self.run_dir))} && export {RUN_TOKEN_VAR}={self.token}"
            f" && exec {command}"
        )
        if len(pane) > LONGEST_PANE_COMMAND:  # tmux refuses it ("command too long"): a script
            script = self.run_dir / "launch.sh"
            script.write_text(pane + "\n")
            pane = f"exec sh {shlex.quote(str(script))}"
        t0 = time.monotonic()
        self.tmux.cmd("respawn-pane", "-k", "-t", "bench", pane)
        try:
            self.procs.root = self.tmux.pane_pid()
        except BenchError:
            raise BenchError(f"{self.peer.label} exited at once; its command: {pane}") from None
        return t0

    def started_count(self) -> int:
        try:
            return self.started.read_bytes().count(b"\n")
        except FileNotFoundError:
            return 0

    def wait_started(self, n: int, timeout: float, interval: float = 0.005) -> float:
        wait_for(lambda: self.started_count() >= n, timeout, f"{n} processes to start", interval)
        return time.monotonic()

    def wait_painted(self, text: str | None = None, timeout: float = 60) -> None:
        """Until the screen shows *text* (or anything, if None)."""
        if text is None:
            wait_for(lambda: self.tmux.capture().strip(), timeout, "the screen", 0.02)
        else:
            wait_for(lambda: text in self.tmux.capture(), timeout, f"{text!r} on screen", 0.02)

    def server_cpu(self) -> float:
        p = read_proc(self.server) if self.server else None
        return p.cpu if p else 0.0

    def send(self, key: str) -> None:
        self.tmux.send(key)

    def quit(self, timeout: float = 60.0) -> tuple[float | None, float | None]:
        """Press the quit key; seconds until the last workload process, and until the last
        runner process, is gone (None: not within *timeout*)."""
        self.procs.classify()
        t0 = time.monotonic()
        for key in self.peer.quit_keys:
            self.tmux.send(key)
        t_work = t_run = None
        deadline = t0 + timeout
        while (t_work is None or t_run is None) and time.monotonic() < deadline:
            runner, workload = self.procs.classify()
            now = time.monotonic()
            if t_work is None and not workload:
                t_work = now - t0
            if t_run is None and not runner:
                t_run = now - t0
            time.sleep(0.01)
        return t_work, t_run

    def close(self, graceful: bool = True) -> None:
        """Quit (if *graceful*), then make sure nothing of the run is left; record leftovers."""
        if self.closed:
            return
        self.closed = True
        if graceful:
            with contextlib.suppress(BenchError, subprocess.SubprocessError):
                self.quit(timeout=30)
        self.tmux.kill()  # the runner gets SIGHUP if it is still there
        deadline = time.monotonic() + 15
        runner, workload = self.procs.classify()
        while (runner or workload) and time.monotonic() < deadline:
            time.sleep(0.1)
            runner, workload = self.procs.classify()
        for p in (*runner.values(), *workload.values()):
            Session.leftovers.append(f"{self.peer.label}: {p.pid} {p.text[:80]}")
            with contextlib.suppress(OSError):
                os.kill(p.pid, signal.SIGKILL)
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close(graceful=exc[0] is None)


def time_until(condition, t0: float, timeout: float, what: str, min_interval: float) -> float:
    """Seconds from *t0* until *condition()* holds. It is polled every *min_interval* at first,
    then every 2 % of the time elapsed (at most 20 ms): the error stays within ~2 %, and polling
    (a tmux client per capture-pane) does not compete for the CPU with a slow runner."""
    deadline = t0 + timeout
    while True:
        if condition():
            return time.monotonic() - t0
        now = time.monotonic()
        if now > deadline:
            raise BenchError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(min(0.02, max(min_interval, 0.02 * (now - t0))))


def key_latency(
    tmux: Tmux, key: str, pattern: str | None, timeout: float = 30, gone: bool = False
) -> float:
    """Press *key*; seconds until a line of the screen matches *pattern* where it did not
    before (pattern None: until the screen changes; *gone*: until no line matches it)."""
    before = tmux.capture()
    rows = before.split("\n")
    rx = re.compile(pattern) if pattern else None

    def shown() -> bool:
        now = tmux.capture()
        if rx is None:
            return now != before
        if gone:
            return not rx.search(now)
        for i, line in enumerate(now.split("\n")):
            if rx.search(line) and not (i < len(rows) and rx.search(rows[i])):
                return True
        return False

    t0 = time.monotonic()
    tmux.send(key)
    return time_until(shown, t0, timeout, f"{key!r} to show", 0.002)


def cpu_window(s: Session, seconds: float) -> tuple[float, float, float, dict[str, int]]:
    """(runner CPU seconds, tmux server CPU seconds, wall seconds, processes counted)."""
    meter = CpuMeter(s.procs)
    meter.sample(first=True)
    tmux0 = s.server_cpu()
    t0 = time.monotonic()
    end = t0 + seconds
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(5.0, left))
        meter.sample()
    wall = time.monotonic() - t0
    return meter.total(), s.server_cpu() - tmux0, wall, meter.counted()


def fmt_counted(counted: dict[str, int]) -> str:
    return ", ".join(f"{name}×{n}" for name, n in counted.items()) or "nothing"


# --- the measurements ----------------------------------------------------------------------------


IDLE_SCRIPTS = {
    "tick": "while :; do echo tick; sleep 1; done",
    "counter": "i=0; while :; do i=$((i+1)); echo tick $i; sleep 1; done",
    "silent": "while :; do sleep 5; done",
}
IDLE_WHAT = {"tick": "1 line/s", "counter": "1 distinct line/s", "silent": "silent"}


def measure_idle(peer: Peer, args, kind: str) -> dict:
    with Session(peer, args) as s:
        script = IDLE_SCRIPTS[kind]
        s.launch([("t", s.wrap(script), 5)])
        s.wait_started(5, 120)
        time.sleep(args.settle)
        cpu, tmux_cpu, wall, counted = cpu_window(s, args.idle_seconds)
    return {"pct": 100 * cpu / wall, "tmux_pct": 100 * tmux_cpu / wall, "counted": counted}


def measure_idle_floor(args, kind: str) -> dict:
    """The idle figure's floor for a Textual front end: the plainest Textual app showing what
    tuirunner's panes show (textual_floor_app.py: five panes, each getting the line itself)."""
    app = [sys.executable, str(BENCH / "textual_floor_app.py"), "--lines", kind]
    peer = Peer(TEXTUAL_FLOOR, "direct", [], names=("textual_floor_app.py",), quit_keys=("C-q",))
    with Session(peer, args) as s:
        s.launch([("floor", shlex.join(app), 1)])
        s.wait_painted("tick")
        time.sleep(args.settle)
        cpu, tmux_cpu, wall, counted = cpu_window(s, args.idle_seconds)
    return {"pct": 100 * cpu / wall, "tmux_pct": 100 * tmux_cpu / wall, "counted": counted}


def measure_launch(peer: Peer, args) -> dict:
    with Session(peer, args) as s:
        t0 = s.launch([("w", s.wrap(f"echo {LAUNCH_TEXT}; while :; do sleep 5; done"), 1)])
        shown = time_until(
            lambda: LAUNCH_SHOWN in s.tmux.capture(), t0, 60, "the first line on screen", 0.003
        )
        return {"seconds": shown}


def measure_restart(peer: Peer, args) -> dict:
    with Session(peer, args) as s:
        s.launch(
            [
                ("a", s.wrap("while :; do sleep 1; done"), 1),
                ("b", s.wrap("while :; do sleep 5; done"), 1),
            ]
        )
        s.wait_started(2, 60)
        s.wait_painted()
        time.sleep(args.settle)
        for key in peer.focus_first:
            s.send(key)
            time.sleep(0.5)
        latencies = []
        for _ in range(args.presses):
            n0 = s.started_count()
            t0 = time.monotonic()
            s.send(peer.restart_key)
            latencies.append(
                time_until(
                    lambda n0=n0: s.started_count() > n0, t0, 30, "the restarted process", 0.0005
                )
            )
            time.sleep(1.0)  # let the runner finish with the old process
        return {"seconds": latencies}


def measure_flood(peer: Peer, args, lines: int, mode: str) -> dict:
    with Session(peer, args) as s:
        report = s.run_dir / s.marker
        report.mkdir()
        python = [sys.executable]
        if peer.kind == "honcho" and mode == "line":
            python.append("-u")  # one write(2) per line, as on a terminal (honcho uses pipes)
        child = [*python, str(CHILD), "--lines", str(lines), "--mode", mode]
        child += ["--wait-go", "--linger", "3600"]
        command = f"{shlex.join(child)} --report {s.run_dir}/{s.marker_text}"
        s.launch([("gen", command, 1)])
        wait_for(lambda: (report / "ready").exists(), 60, "the child to start")
        s.wait_painted("gen.1", 60)
        time.sleep(max(0.5, args.settle / 2))
        meter = CpuMeter(s.procs)
        meter.sample(first=True)
        tmux0 = s.server_cpu()
        (report / "go").touch()
        done = None
        deadline = time.monotonic() + max(120.0, lines / 20_000)
        next_sample = time.monotonic() + 1.0
        while done is None:
            if time.monotonic() > deadline:
                raise BenchError("timed out waiting for the child to finish printing")
            done = read_json(report / "done")
            if time.monotonic() > next_sample:
                meter.sample()
                next_sample += 1.0
            time.sleep(0.01)
        t_done = time.monotonic()
        last = f"{lines - 1:08d} "
        catch_up = time_until(
            lambda: last in s.tmux.capture(), t_done, 120, "the last line on screen", 0.005
        )
        meter.sample()
        cpu = meter.total()
        return {
            "child_wall": float(done["elapsed"]),
            "blocked": float(done.get("stalled", 0.0)),
            "cpu": cpu,
            "cpu_per_m": cpu / (lines / 1e6),
            "catch_up": catch_up,
            "tmux_cpu": s.server_cpu() - tmux0,
            "counted": meter.counted(),
        }


def measure_hundred(peer: Peer, args, n: int) -> dict:
    with Session(peer, args) as s:
        t0 = s.launch([("p", s.wrap("while true; do echo x; sleep 0.1; done"), n)])
        all_started = time_until(lambda: s.started_count() >= n, t0, 600, "all to start", 0.005)
        time.sleep(args.settle)
        cpu, tmux_cpu, wall, counted = cpu_window(s, args.hundred_seconds)
        keys = []
        if peer.focus_keys:
            for i in range(args.presses):
                key, pattern = peer.focus_keys[i % len(peer.focus_keys)]
                keys.append(key_latency(s.tmux, key, pattern))
                time.sleep(0.3)
        children_gone, runner_gone = s.quit(timeout=180)
        return {
            "all_started": all_started,
            "pct": 100 * cpu / wall,
            "tmux_pct": 100 * tmux_cpu / wall,
            "key_ms": [k * 1000 for k in keys],
            "children_gone": children_gone,
            "runner_gone": runner_gone,
            "counted": counted,
        }


def measure_key_floor(args) -> list[float]:
    """``send-keys`` then ``capture-pane`` until the screen changes, with ``cat`` in the pane."""
    peer = Peer("floor", "direct", [], quit_keys=("C-c",))
    with Session(peer, args) as s:
        s.launch([("cat", "cat", 1)])
        time.sleep(0.3)
        out = []
        for i in range(max(3, args.presses)):
            out.append(key_latency(s.tmux, "53"[i % 2], None) * 1000)
            time.sleep(0.1)
        return out


# --- results -------------------------------------------------------------------------------------


@dataclass
class Results:
    values: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    # figure -> peer -> the figure's value, where it is not the median of values (a ratio)
    overrides: dict[str, dict[str, float]] = field(default_factory=dict)
    counted: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    details: dict[str, dict[str, list]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def add(self, figure: str, peer: str, value: float | list[float] | None) -> None:
        if value is None:
            return
        values = value if isinstance(value, list) else [value]
        self.values.setdefault(figure, {}).setdefault(peer, []).extend(values)

    def detail(self, figure: str, peer: str, value) -> None:
        self.details.setdefault(figure, {}).setdefault(peer, []).append(value)

    def count(self, figure: str, peer: str, counted: dict[str, int]) -> None:
        self.counted.setdefault(figure, {})[peer] = counted

    def get(self, figure: str, peer: str) -> list[float]:
        return self.values.get(figure, {}).get(peer, [])

    def value(self, figure: str, peer: str) -> float | None:
        if peer in self.overrides.get(figure, {}):
            return self.overrides[figure][peer]
        values = self.get(figure, peer)
        return statistics.median(values) if values else None


def attempt(results: Results, what: str, fn: Callable[[], dict]) -> dict | None:
    try:
        return fn()
    except (BenchError, subprocess.SubprocessError, OSError) as exc:
        results.errors.append(f"{what}: {exc}")
        print(f"  {what}: FAILED: {exc}", flush=True)
        return None


def run_idle(args, peers: list[Peer], results: Results) -> None:
    print(
        f"\n=== idle CPU: 5 processes, {args.settle:g} s to settle, then {args.idle_seconds:g} s"
        " measured ===",
        flush=True,
    )
    for r in range(args.repeat):
        for kind in IDLE_SCRIPTS:
            fig = f"idle_{kind}"
            for peer in [*peers, None]:  # None: the plainest Textual app (the floor)
                label = TEXTUAL_FLOOR if peer is None else peer.label
                what = f"run {r + 1}, {IDLE_WHAT[kind]}, {label}"
                if peer is None:
                    res = attempt(results, what, lambda k=kind: measure_idle_floor(args, k))
                else:
                    res = attempt(results, what, lambda p=peer, k=kind: measure_idle(p, args, k))
                if res is None:
                    continue
                results.add(fig, label, res["pct"])
                results.add(f"{fig}_tmux", label, res["tmux_pct"])
                results.count(fig, label, res["counted"])
                print(
                    f"  {what}: runner {res['pct']:.2f} % (tmux server {res['tmux_pct']:.2f} %)"
                    f"  [counted: {fmt_counted(res['counted'])}]",
                    flush=True,
                )


def run_launch(args, peers: list[Peer], floors: dict[str, Peer], results: Results) -> None:
    print("\n=== launch -> the child's first line on screen ===", flush=True)
    for r in range(args.repeat):
        for peer in [floors["direct"], floors["textual"], *peers]:
            what = f"run {r + 1}, {peer.label}"
            res = attempt(results, what, lambda p=peer: measure_launch(p, args))
            if res is not None:
                results.add("launch", peer.label, res["seconds"])
                print(f"  {what}: {res['seconds'] * 1000:.0f} ms", flush=True)


def run_restart(args, peers: list[Peer], floors: dict[str, Peer], results: Results) -> None:
    print(
        f"\n=== restart key -> the new child running ({args.presses} presses per run) ===",
        flush=True,
    )
    for r in range(args.repeat):
        for peer in [floors["floor_runner"], *peers]:
            if peer.restart_key is None:
                continue
            what = f"run {r + 1}, {peer.label}"
            res = attempt(results, what, lambda p=peer: measure_restart(p, args))
            if res is not None:
                results.add("restart", peer.label, res["seconds"])
                ms = ", ".join(f"{x * 1000:.1f}" for x in res["seconds"])
                print(f"  {what}: {ms} ms", flush=True)


def run_throughput(args, peers: list[Peer], results: Results) -> None:
    for mode in args.modes:
        print(
            f"\n=== {args.lines:,} lines, mode {mode!r}: child wall time vs a bare PTY reader,"
            " runner CPU ===",
            flush=True,
        )
        bare: list[float] = []
        walls: dict[str, list[float]] = {}
        for r in range(args.repeat):
            try:
                done = run_bare(sys.executable, args.lines, mode, args.columns, args.rows)
            except (BenchError, subprocess.SubprocessError) as exc:
                results.errors.append(f"bare reader, {mode}: {exc}")
                print(f"  run {r + 1}, bare reader: FAILED: {exc}")
                continue
            b = float(done["elapsed"])
            bare.append(b)
            results.add(f"tp_bare_{mode}", "bare", b)
            print(f"  run {r + 1}, bare reader: {b:.3f} s", flush=True)
            for peer in peers:
                what = f"run {r + 1}, {peer.label}"
                res = attempt(
                    results, what, lambda p=peer, m=mode: measure_flood(p, args, args.lines, m)
                )
                if res is None:
                    continue
                walls.setdefault(peer.label, []).append(res["child_wall"])
                results.add(f"tp_ratio_{mode}", peer.label, res["child_wall"] / b)
                results.add(f"tp_cpu_{mode}", peer.label, res["cpu_per_m"])
                results.detail(f"tp_{mode}", peer.label, {k: res[k] for k in res if k != "counted"})
                results.count(f"tp_cpu_{mode}", peer.label, res["counted"])
                print(
                    f"  {what}: child {res['child_wall']:.3f} s (x{res['child_wall'] / b:.2f},"
                    f" blocked {res['blocked']:.2f} s), runner cpu {res['cpu']:.2f} s"
                    f" = {res['cpu_per_m']:.2f} s per million, catch-up"
                    f" {res['catch_up'] * 1000:.0f} ms, tmux cpu {res['tmux_cpu']:.2f} s"
                    f"  [counted: {fmt_counted(res['counted'])}]",
                    flush=True,
                )
        if bare:
            for label, w in walls.items():  # as throughput.py: median over median
                ratio = statistics.median(w) / statistics.median(bare)
                results.overrides.setdefault(f"tp_ratio_{mode}", {})[label] = ratio


def run_hundred(args, peers: list[Peer], results: Results) -> None:
    n = args.hundred
    print(
        f"\n=== {n} processes (p: while true; do echo x; sleep 0.1; done, -c p={n});"
        f" tuirunner -t {args.timeout:g} ===",
        flush=True,
    )
    plain = Peer(
        "tuirunner plain",
        "tuirunner",
        next(p.argv for p in peers if p.label == "tuirunner"),
        names=("tuirunner",),
        quit_keys=("C-c",),
        tui=False,
    )
    order = (
        [p for p in peers if p.kind != "tuirunner"]
        + [plain]
        + [p for p in peers if p.kind == "tuirunner"]
    )
    for r in range(args.repeat):
        what = f"run {r + 1}, key floor (cat)"
        res = attempt(results, what, lambda: {"ms": measure_key_floor(args)})
        if res is not None:
            results.add("h_key", "floor", res["ms"])
            print(f"  {what}: {', '.join(f'{x:.1f}' for x in res['ms'])} ms", flush=True)
        for peer in order:
            what = f"run {r + 1}, {peer.label}"
            res = attempt(results, what, lambda p=peer: measure_hundred(p, args, n))
            if res is None:
                continue
            label = peer.label
            results.add("h_started", label, res["all_started"])
            results.add("h_cpu", label, res["pct"])
            results.add("h_key", label, res["key_ms"] or None)
            results.add("h_children_gone", label, res["children_gone"])
            results.add("h_runner_gone", label, res["runner_gone"])
            results.add("h_cpu_tmux", label, res["tmux_pct"])
            results.count("h_cpu", label, res["counted"])
            if res["children_gone"] is None or res["runner_gone"] is None:
                results.errors.append(f"{what}: did not quit within 180 s")

            def s(x):
                return "not within 180 s" if x is None else f"{x:.2f} s"

            keys = ", ".join(f"{x:.0f}" for x in res["key_ms"])
            print(
                f"  {what}: all started after {res['all_started']:.2f} s; runner cpu"
                f" {res['pct']:.1f} % (tmux {res['tmux_pct']:.1f} %)"
                + (f"; keys {keys} ms" if keys else "")
                + f"; after quit: last child gone {s(res['children_gone'])}, runner gone"
                f" {s(res['runner_gone'])}  [counted: {fmt_counted(res['counted'])}]",
                flush=True,
            )


# --- the tables ----------------------------------------------------------------------------------


@dataclass
class Row:
    figure: str
    label: str
    unit: str
    digits: int
    goal: str
    ok: Callable[[float, Results], bool] | None = None
    scale: float = 1.0  # shown value = stored value * scale


def fmt_value(results: Results, row: Row, peer: str) -> str:
    v = results.value(row.figure, peer)
    if v is None:
        return "–"
    values = results.get(row.figure, peer)
    unit = f" {row.unit}" if row.unit not in ("×",) else "×"
    text = f"{v * row.scale:.{row.digits}f}{unit}"
    if len(values) > 1:
        lo, hi = min(values) * row.scale, max(values) * row.scale
        text += f" [{lo:.{row.digits}f}–{hi:.{row.digits}f}]"
    return text


def fmt_ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b <= 0:
        return "–"
    return f"{a / b:.2f}×"


def print_table(
    title: str,
    rows: list[Row],
    columns: list[str],
    subject: str,
    ratio_to: list[str],
    results: Results,
    names: dict[str, str] | None = None,
) -> list[str]:
    """A markdown table: a column per runner, the goal, PASS/MISS of *subject*, and the ratios
    of *subject* to the runners *ratio_to*. *names* renames columns in the header."""
    names = names or {}
    n = names.get
    header = [
        "figure",
        *(n(c, c) for c in columns),
        "goal",
        f"{n(subject, subject)} vs goal",
        *(f"{n(subject, subject)}/{n(c, c)}" for c in ratio_to),
    ]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for row in rows:
        cells = [row.label, *(fmt_value(results, row, c) for c in columns), row.goal]
        v = results.value(row.figure, subject)
        if v is None or row.ok is None:
            cells.append("–")
        else:
            cells.append("PASS" if row.ok(v, results) else "MISS")
        cells += [fmt_ratio(v, results.value(row.figure, c)) for c in ratio_to]
        lines.append("| " + " | ".join(cells) + " |")
    print(f"\n{title}\n")
    print("\n".join(lines))
    return lines


def report(args, peers: list[Peer], results: Results, versions: dict[str, str]) -> dict:
    labels = [p.label for p in peers]
    peer_labels = [x for x in labels if x != "tuirunner"]
    rows = [
        Row(
            "idle_tick",
            "idle CPU, 5 processes printing 1 line/s",
            "%",
            2,
            f"<= {GOAL_IDLE_PCT} %",
            lambda v, _: v <= GOAL_IDLE_PCT,
        ),
        Row(
            "idle_counter",
            "idle CPU, 5 processes printing 1 distinct line/s",
            "%",
            2,
            f"<= {GOAL_IDLE_PCT} %",
            lambda v, _: v <= GOAL_IDLE_PCT,
        ),
        Row(
            "idle_silent",
            "idle CPU, 5 processes printing nothing",
            "%",
            2,
            f"<= {GOAL_IDLE_PCT} %",
            lambda v, _: v <= GOAL_IDLE_PCT,
        ),
        Row(
            "launch",
            "launch → first child line on screen",
            "s",
            3,
            f"<= {GOAL_LAUNCH_S:.2f} s",
            lambda v, _: v <= GOAL_LAUNCH_S,
        ),
        Row(
            "restart",
            "restart key → new child running",
            "s",
            3,
            f"<= {GOAL_RESTART_S:.3f} s",
            lambda v, _: v <= GOAL_RESTART_S,
        ),
    ]
    million = f"{args.lines / 1e6:g}M" if args.lines >= 100_000 else f"{args.lines:,}"
    for mode in args.modes:
        what = "print per line" if mode == "line" else "64 KiB writes"
        rows.append(
            Row(
                f"tp_ratio_{mode}",
                f"{million} lines ({what}): child wall / bare PTY reader",
                "×",
                2,
                f"<= {GOAL_RATIO}×",
                lambda v, _: v <= GOAL_RATIO,
            )
        )
    for mode in args.modes:
        what = "print per line" if mode == "line" else "64 KiB writes"
        rows.append(
            Row(
                f"tp_cpu_{mode}",
                f"{million} lines ({what}): runner CPU per million lines",
                "s",
                2,
                f"<= {GOAL_CPU_PER_M:.1f} s",
                lambda v, _: v <= GOAL_CPU_PER_M,
            )
        )
    rows = [r for r in rows if r.figure in results.values]
    out: dict = {}
    if rows:
        out["table"] = print_table(
            f"Always-on cost (medians [min–max] of {args.repeat} run(s); tmux "
            f"{args.columns}x{args.rows})",
            rows,
            labels,
            "tuirunner",
            peer_labels,
            results,
        )

    if "h_started" in results.values:
        quit_goal = args.timeout + 1

        def cpu_ok(v: float, res: Results) -> bool:
            plain = res.value("h_cpu", "tuirunner plain")
            return plain is not None and v <= GOAL_CPU_VS_PLAIN * plain

        h_rows = [
            Row(
                "h_started",
                "all started",
                "s",
                2,
                f"<= {GOAL_ALL_STARTED_S:g} s",
                lambda v, _: v <= GOAL_ALL_STARTED_S,
            ),
            Row(
                "h_key",
                "a key press shows (tuirunner: 5/3; mprocs: j/k)",
                "ms",
                0,
                f"<= {GOAL_KEY_MS:g} ms",
                lambda v, _: v <= GOAL_KEY_MS,
            ),
            Row(
                "h_children_gone",
                "after quit: last child gone",
                "s",
                2,
                f"<= {GOAL_QUIT_CHILDREN_S:g} s (at most -t {args.timeout:g} + 1)",
                lambda v, _: v <= min(GOAL_QUIT_CHILDREN_S, quit_goal),
            ),
            Row(
                "h_runner_gone",
                "after quit: runner exited",
                "s",
                2,
                f"<= {GOAL_QUIT_RUNNER_S:g} s",
                lambda v, _: v <= min(GOAL_QUIT_RUNNER_S, quit_goal),
            ),
            Row("h_cpu", "runner CPU", "%", 1, f"<= {GOAL_CPU_VS_PLAIN:g}× plain", cpu_ok),
        ]
        h_cols = [*peer_labels, "tuirunner plain", "tuirunner"]
        out["hundred_table"] = print_table(
            f"{args.hundred} processes (`-c p={args.hundred}`; tuirunner = the TUI; quit: `q`"
            " in the TUIs, Ctrl+C in plain mode and honcho)",
            h_rows,
            h_cols,
            "tuirunner",
            ["tuirunner plain", *peer_labels],
            results,
            names={"tuirunner": "tuirunner TUI"},
        )

    floors = []
    if results.get("launch", "floor"):
        floors.append(f"launch: {fmt_value(results, rows_by(rows, 'launch'), 'floor')}")
    if results.get("launch", TEXTUAL_FLOOR):
        floors.append(
            f"launch, the plainest Textual app (bench/textual_launch_floor.py): "
            f"{fmt_value(results, rows_by(rows, 'launch'), TEXTUAL_FLOOR)}"
        )
    idle = [
        f"{what} {fmt_value(results, rows_by(rows, fig), TEXTUAL_FLOOR)}"
        for fig, what in (
            ("idle_tick", "1 line/s"),
            ("idle_counter", "1 distinct line/s"),
            ("idle_silent", "silent"),
        )
        if results.get(fig, TEXTUAL_FLOOR)
    ]
    if idle:
        floors.append(
            "idle, the plainest Textual app showing the same panes (bench/textual_floor_app.py): "
            + ", ".join(idle)
        )
    if results.get("restart", "floor"):
        floors.append(
            f"restart: {fmt_value(results, rows_by(rows, 'restart'), 'floor')}"
            " (bench/floor_runner.py)"
        )
    if results.get("h_key", "floor"):
        floors.append(f"key press: {fmt_value(results, Row('h_key', '', 'ms', 1, ''), 'floor')}")
    if floors:
        print("\nFloor of each method (no runner, or the least one): " + "; ".join(floors))

    tmux_rows = [
        ("idle_tick", "idle, 1 line/s"),
        ("idle_counter", "idle, 1 distinct line/s"),
        ("idle_silent", "idle, silent"),
        ("h_cpu", f"{args.hundred} processes"),
    ]
    tmux_notes = []
    for fig, what in tmux_rows:
        cells = [
            f"{label} {results.value(f'{fig}_tmux', label):.2f} %"
            for label in [*labels, "tuirunner plain"]
            if results.get(f"{fig}_tmux", label)
        ]
        if cells:
            tmux_notes.append(f"  {what}: {', '.join(cells)}")
    if tmux_notes:
        print("\ntmux server CPU (not the runner's; shows the repaint traffic), medians:")
        print("\n".join(tmux_notes))

    seen: dict[str, set[str]] = {}
    for per_peer in results.counted.values():
        for peer, counted in per_peer.items():
            seen.setdefault(peer, set()).add(fmt_counted(counted))
    if seen:
        print("\nProcesses counted as the runner (name×count, in the last run of each figure):")
    for peer, kinds in seen.items():
        print(f"  {peer}: {' | '.join(sorted(kinds))}")
    print(
        f"\nrunners: {'; '.join(f'{k}: {v}' for k, v in versions.items())};"
        f" tuirunner -t {args.timeout:g}"
    )
    if Session.leftovers:
        shown = "; ".join(Session.leftovers[:5])
        more = len(Session.leftovers) - 5
        print(f"LEFTOVERS (killed): {shown}" + (f" … and {more} more" if more > 0 else ""))
    else:
        print("cleanup: no process left behind")
    if results.errors:
        print(f"\n{len(results.errors)} measurement(s) failed:")
        for e in results.errors:
            print(f"  {e}")
    return out


def rows_by(rows: list[Row], figure: str) -> Row:
    return next((r for r in rows if r.figure == figure), Row(figure, "", "s", 3, ""))


# --- main ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--only",
        default=",".join(FIGURES_ALL),
        help=f"comma-separated subset of {','.join(FIGURES_ALL)} (default: all)",
    )
    p.add_argument("--repeat", type=int, help="runs per figure (default 3; --quick: 1)")
    p.add_argument("--quick", action="store_true", help="small sizes, one run: a smoke test")
    p.add_argument("--json", metavar="FILE", help="also write every measurement as JSON")
    p.add_argument("--idle-seconds", type=float, help="idle CPU window (default 20)")
    p.add_argument("--settle", type=float, help="seconds after start-up before measuring (3)")
    p.add_argument("--presses", type=int, help="key presses per run (default 5)")
    p.add_argument("--lines", type=int, help="lines per throughput run (default 1,000,000)")
    p.add_argument("--modes", default="line,block", help="throughput child modes: line,block")
    p.add_argument("--hundred", type=int, help="processes of the scale test (default 100)")
    p.add_argument("--hundred-seconds", type=float, help="its CPU window (default 10)")
    p.add_argument("--timeout", type=float, default=5.0, help="tuirunner -t (default 5)")
    p.add_argument("--columns", type=int, default=200)
    p.add_argument("--rows", type=int, default=50)
    p.add_argument("--tuirunner", help="the tuirunner command (default: next to this Python)")
    p.add_argument("--honcho", help="the honcho command (default: next to this Python, or PATH)")
    p.add_argument("--mprocs", help="the mprocs binary (default: bench/node_modules, or PATH)")
    p.add_argument(
        "--tuirunner-ref",
        metavar="CMD",
        help="another tuirunner build measured alongside (column 'tuirunner ref'), e.g. the"
        " revision before a change",
    )
    p.add_argument("--no-peers", action="store_true", help="tuirunner only")
    p.add_argument(
        "--peers",
        default=os.environ.get("TUIRUNNER_BENCH_PEERS"),
        help="a directory with honcho (DIR/honcho/bin/honcho, a venv) and mprocs"
        " (npm install --prefix DIR mprocs); default $TUIRUNNER_BENCH_PEERS",
    )
    thousand.add_arguments(p)
    keys.add_arguments(p)
    args = p.parse_args(argv)
    quick = args.quick
    defaults = {
        "repeat": (1, 3),
        "idle_seconds": (4.0, 20.0),
        "settle": (1.0, 3.0),
        "presses": (3, 5),
        "lines": (100_000, 1_000_000),
        "hundred": (20, 100),
        "hundred_seconds": (3.0, 10.0),
    }
    for name, (q, full) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, q if quick else full)
    thousand.apply_defaults(args, quick)
    keys.apply_defaults(args, quick)
    only = [x.strip() for x in args.only.split(",") if x.strip()]
    unknown = set(only) - set(FIGURES_ALL)
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if unknown or not only or set(args.modes) - {"line", "block"}:
        p.error(f"--only takes {','.join(FIGURES_ALL)}; --modes takes line,block")
    if args.hundred < 10:
        p.error("--hundred must be at least 10 (tuirunner shows a list from ten processes on)")
    if shutil.which("tmux") is None:
        print("tmux is required", file=sys.stderr)
        return 2

    try:
        peers, floors, versions = make_peers(args)
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 2
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    tmux_version = subprocess.run(["tmux", "-V"], capture_output=True, text=True).stdout.strip()
    print(f"command: {shlex.join(['python', 'bench/always_on.py', *sys.argv[1:]])}")
    for name, version in versions.items():
        print(f"{name}: {version}")
    print(f"python: {sys.executable}; {tmux_version}; cpus: {os.cpu_count()}; load average: {load}")
    if quick:
        print("QUICK RUN (--quick): small sizes and one run; the figures are a smoke test only")

    results = Results()
    started = time.monotonic()
    if "idle" in only:
        run_idle(args, peers, results)
    if "launch" in only:
        run_launch(args, peers, floors, results)
    if "restart" in only:
        run_restart(args, peers, floors, results)
    if "keys" in only:
        keys.run_keys(args, peers, results)
    if "throughput" in only:
        run_throughput(args, peers, results)
    if "hundred" in only:
        run_hundred(args, peers, results)
    if "rss" in only:
        thousand.run_rss(args, peers, results)
    if "thousand" in only:
        thousand.run_thousand(args, peers, results)
    print(f"\n(measured in {time.monotonic() - started:.0f} s)")
    tables = report(args, peers, results, versions)
    tables.update(keys.report(args, peers, results))
    tables.update(thousand.report(args, peers, results))
    if args.json:
        data = {
            "command": ["python", "bench/always_on.py", *sys.argv[1:]],
            "versions": versions,
            "load_average": os.getloadavg(),
            "cpus": os.cpu_count(),
            "settings": {k: v for k, v in vars(args).items() if k != "json"},
            "values": results.values,
            "overrides": results.overrides,
            "details": results.details,
            "counted": results.counted,
            "errors": results.errors,
            "leftovers": Session.leftovers,
            "tables": tables,
        }
        Path(args.json).write_text(json.dumps(data, indent=2))
    return 2 if results.errors or not results.values else 0


if __name__ == "__main__":
    sys.exit(main())
