"""Throughput benchmark of tuirunner's TUI: how much a flood of output costs, and whether it slows
the child down.

    python bench/throughput.py [--lines 1000000] [--big-lines 10000000] [--repeat 3]
                               [--mode line|block|both] [--skip-big] [--skip-responsiveness]
                               [--floor] [--profile]

See bench/README.md. In one run it measures, each repeated ``--repeat`` times (median and spread
reported), bare and tuirunner runs interleaved so that a change in the machine's load hits both:

1. the child's wall time printing N lines (timed from inside the child) under tuirunner in a real
   terminal (tmux, 200x50), versus under a bare pseudo-terminal reader (the limit), and the ratio;
2. tuirunner's CPU time (user + sys; all its processes: the window, the keeper, its guard) from
   just before the child starts printing until the window has shown the last line, per million
   lines;
3. tuirunner's peak RSS (all its processes together; polled, and VmHWM);
4. a run of ``--big-lines`` lines, with RSS after each million (the buffer is bounded: issue 23
   wants <= 100 MB after 10M lines, and <= +2 MB from 1M to 10M);
5. responsiveness: keys (``z``, zoom) sent during a flood, and how long until the screen shows it;
6. with ``--profile``: py-spy profiles of the keeper and of the window during the flood;
7. with ``--floor``: where the floor of the ratio in 1. is on this machine: how many cores the bare
   run keeps busy, the bare reader that also keeps the lines in tuirunner's buffer (the least a
   runner with a scrollback does), and the keeper alone (detached: no window, no client).

It is a benchmark, not a test: it prints PASS/MISS next to each target and exits 0 either way
(non-zero only when it could not measure).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent

try:
    import psutil
except ImportError:  # run with a Python that lacks psutil: use the repository's venv if any
    venv_python = REPO / ".venv" / "bin" / "python"
    if venv_python.exists() and Path(sys.prefix).resolve() != venv_python.parent.parent.resolve():
        os.execv(str(venv_python), [str(venv_python), __file__, *sys.argv[1:]])
    sys.exit("bench/throughput.py needs psutil: run it with the project's venv (.venv/bin/python)")

from common import (  # noqa: E402  (after the psutil check above)
    MB,
    BenchError,
    Tmux,
    child_command,
    cpu_seconds,
    find_tuirunner,
    fmt_spread,
    git_revision,
    read_json,
    run_bare,
    verdict,
    vm_hwm,
    wait_for,
)

TARGET_RATIO = 1.15  # child wall time under tuirunner / under the bare reader
TARGET_CPU_PER_M = 1.0  # tuirunner CPU seconds per million lines (all its processes)
TARGET_RSS_MB = 100.0  # peak RSS of all tuirunner's processes together
TARGET_GROWTH_MB = 2.0  # their RSS from 1M lines to the end of the memory run (issue 23)


# --- tuirunner in tmux ---------------------------------------------------------------------------


@dataclass
class TuiRun:
    lines: int
    child_wall: float = 0.0
    child_stalled: float = 0.0  # seconds the child spent blocked on a full terminal (approx.)
    cpu_flood: float = 0.0  # tuirunner CPU from "go" until the last line is on screen
    cpu_at_done: float = 0.0  # tuirunner CPU from "go" until the child's last write returned
    keeper_cpu: float = 0.0  # of cpu_flood: the keeper and its guard (the rest is the window)
    catch_up: float = 0.0  # seconds from the child's "done" until the last line is on screen
    rss_before: int = 0
    rss_peak_polled: int = 0
    rss_hwm: int = 0
    rss_at: dict[int, int] = field(default_factory=dict)  # lines printed → tuirunner RSS (sum)
    hwm_parts: dict[str, int] = field(default_factory=dict)  # window / keeper / guard → VmHWM
    tmux_cpu: float = 0.0  # the terminal's (tmux server's) CPU over the same span
    latencies: list[float] = field(default_factory=list)  # key → screen, during the flood
    idle_latencies: list[float] = field(default_factory=list)  # the same, after it
    leftovers: list[str] = field(default_factory=list)  # processes that outlived the quit
    t_go: float = 0.0  # time.monotonic() when the child was told to start
    t_done: float = 0.0  # ... and when its "done" marker was seen


def rss_sum(procs: list[psutil.Process]) -> int:
    total = 0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total


class RssSampler(threading.Thread):
    """Polls the summed RSS of some processes every *interval* seconds; keeps the peak."""

    def __init__(self, procs: list[psutil.Process], interval: float = 0.01):
        super().__init__(daemon=True)
        self.procs, self.interval = procs, interval
        self.peak = 0
        self.last = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.last = rss_sum(self.procs)
            self.peak = max(self.peak, self.last)
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def run_tuirunner(
    tuirunner: list[str],
    python: str,
    lines: int,
    mode: str,
    columns: int,
    rows: int,
    *,
    second_pane: bool = False,
    keys_during_flood: bool = False,
    checkpoint: int = 1_000_000,
    env: dict[str, str] | None = None,
    on_go=None,
    keys_before: str | None = None,
) -> TuiRun:
    """One run of the child under ``tuirunner --tui`` in a private tmux server.

    *tuirunner* is the command (argv) that runs tuirunner; *env* is added to its environment;
    *on_go(parts)*, if given, is called right after the child is told to start printing with
    ``{"window": pid, "keeper": pid}`` and may return a function, called once tuirunner has shown
    the last line. *keys_before*: keys pressed before the flood (``m``: the merged view).
    """
    run = TuiRun(lines)
    with tempfile.TemporaryDirectory(prefix="tuirunner-bench-") as tmp:
        workdir = Path(tmp)
        report = workdir / "report"
        report.mkdir()
        child = child_command(python, lines, report, mode, wait_go=True, linger=3600)
        child += ["--checkpoint", str(checkpoint)]
        procfile = f"gen: {shlex.join(child)}\n"
        if second_pane:
            procfile += "idle: sleep 3600\n"
        (workdir / "Procfile").write_text(procfile)
        tmux = Tmux(workdir, columns, rows)
        descendants: list[psutil.Process] = []
        term = proc = None
        try:
            tmux.start(f"exec {shlex.join(tuirunner)} --tui", env)
            pid = tmux.pane_pid()
            proc = psutil.Process(pid)
            term = psutil.Process(tmux.server_pid())
            # (read while the pane's process execs itself, its command line can be empty)
            wait_for(
                lambda: "tuirunner" in " ".join(proc.cmdline()), 10, f"pane pid {pid} to be ours"
            )
            # Up: the child is waiting for "go" and the pane is painted. Let start-up settle.
            wait_for(lambda: (report / "ready").exists(), 30, "the child to start")
            wait_for(lambda: "gen.1" in tmux.capture(), 30, "tuirunner to paint", 0.05)
            if keys_before:
                screen = tmux.capture()
                tmux.send(keys_before)
                wait_for(lambda: tmux.capture() != screen, 30, "the keys to show", 0.05)
            time.sleep(0.5)
            descendants = proc.children(recursive=True)
            # The keeper (which reads the children's terminals) and its guard are tuirunner too.
            guard = [c for c in descendants if "guard.py" in " ".join(c.cmdline())]
            keeper = [
                c
                for c in descendants
                if c not in guard and "tuirunner.keeper" in " ".join(c.cmdline())
            ]
            if len(keeper) != 1:
                raise BenchError(f"expected one keeper under tuirunner, found {len(keeper)}")
            backstage = keeper + guard
            parts = [proc, *backstage]

            def cpu_of(procs: list[psutil.Process]) -> float:
                total = 0.0
                for p in procs:
                    with contextlib.suppress(psutil.Error):
                        total += cpu_seconds(p)
                return total

            def runner_cpu() -> float:
                return cpu_of(parts)

            sampler = RssSampler(parts)
            run.rss_before = rss_sum(parts)
            cpu0, term0, keeper0 = runner_cpu(), cpu_seconds(term), cpu_of(backstage)
            sampler.start()
            run.t_go = time.monotonic()
            (report / "go").touch()
            finish = on_go({"window": pid, "keeper": keeper[0].pid}) if on_go else None

            progress = report / "progress"
            seen = 0
            done: dict | None = None
            key_thread = None
            if keys_during_flood:
                key_thread = threading.Thread(
                    target=_press_keys_during_flood, args=(tmux, report, run), daemon=True
                )
                key_thread.start()
            deadline = time.monotonic() + max(120.0, lines / 20_000)
            while done is None:
                if time.monotonic() > deadline:
                    raise BenchError("timed out waiting for the child to finish printing")
                with contextlib.suppress(OSError):
                    rows_ = progress.read_text().split("\n")
                    for row in rows_[seen:-1]:  # complete rows only
                        n = int(row.split()[0])
                        run.rss_at[n] = rss_sum(parts)
                        seen += 1
                done = read_json(report / "done")
                if done is None:
                    time.sleep(0.01)
            t_done = run.t_done = time.monotonic()
            run.cpu_at_done = runner_cpu() - cpu0
            run.child_wall = float(done["elapsed"])
            run.child_stalled = float(done.get("stalled", 0.0))
            last = f"{lines - 1:08d} "
            wait_for(lambda: last in tmux.capture(), 60, "the last line on screen", 0.005)
            run.catch_up = time.monotonic() - t_done
            run.cpu_flood = runner_cpu() - cpu0
            run.keeper_cpu = cpu_of(backstage) - keeper0
            run.tmux_cpu = cpu_seconds(term) - term0
            if finish is not None:
                finish()
            if key_thread is not None:
                key_thread.join()
            sampler.stop()
            run.rss_peak_polled = sampler.peak
            run.rss_hwm = sum(vm_hwm(p.pid) or 0 for p in parts)
            for name, part in zip(("window", "keeper", "guard"), parts, strict=False):
                run.hwm_parts[name] = vm_hwm(part.pid) or 0
            if keys_during_flood:
                time.sleep(0.5)
                for _ in range(6):
                    run.idle_latencies.append(_zoom_latency(tmux))

            # Quit: q stops the processes gracefully, and tuirunner exits (and the session).
            tmux.send("q")
            with contextlib.suppress(BenchError):
                wait_for(
                    lambda: not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE,
                    20,
                    "tuirunner to quit",
                    0.05,
                )
        finally:
            tmux.kill()
            if term is not None:
                with contextlib.suppress(psutil.Error):
                    term.wait(5)
                with contextlib.suppress(psutil.Error):
                    if term.is_running() and term.status() != psutil.STATUS_ZOMBIE:
                        run.leftovers.append(f"tmux server {term.pid}")
                        term.kill()
            # tuirunner itself must be gone too (if the bench failed half-way, killing the
            # terminal sends it SIGHUP; give it time to stop its children, then make sure).
            if proc is not None:
                with contextlib.suppress(psutil.Error):
                    proc.wait(10)
                with contextlib.suppress(psutil.Error):
                    if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                        run.leftovers.append(f"tuirunner {proc.pid}")
                        proc.kill()
            for p in descendants:
                with contextlib.suppress(psutil.Error):
                    if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                        run.leftovers.append(f"{p.pid} {' '.join(p.cmdline())[:80]}")
                        p.kill()
    return run


def _zoomed(screen: str) -> bool:
    return "idle.1" not in screen


def _zoom_latency(tmux: Tmux, timeout: float = 10.0) -> float:
    """Press z and time until the screen shows the other zoom state (the idle pane hidden or
    shown again)."""
    before = _zoomed(tmux.capture())
    t0 = time.monotonic()
    tmux.send("z")
    wait_for(lambda: _zoomed(tmux.capture()) != before, timeout, "the zoom to show", 0.0)
    return time.monotonic() - t0


def _press_keys_during_flood(tmux: Tmux, report: Path, run: TuiRun) -> None:
    """Toggle zoom repeatedly while the child prints (from 0.3 s after go until done)."""
    time.sleep(0.3)
    while not (report / "done").exists():
        with contextlib.suppress(BenchError):
            latency = _zoom_latency(tmux)
            if not (report / "done").exists():  # only count presses answered mid-flood
                run.latencies.append(latency)
        time.sleep(0.2)


# --- the benchmark -------------------------------------------------------------------------------


def find_py_spy(given: str | None) -> str | None:
    if given:
        return given
    candidate = Path(sys.executable).parent / "py-spy"
    return str(candidate) if candidate.exists() else shutil.which("py-spy")


# --- where the time goes: timers inside tuirunner, and py-spy ------------------------------------


def _quantile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else 0.0


def _norm_frame(frame: str) -> str:
    # "func (/path/to/site-packages/textual/strip.py:123)" -> "func (textual/strip.py)"
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "python3.11/", "python3.12/", "python3.13/", f"{REPO}/"):
        if marker in where:
            where = where.split(marker, 1)[1]
    return f"{name} ({where})" if where else name


PROFILE_GROUPS = {
    "keeper": [
        ("read the terminals (Terminal._on_readable)", "Terminal._on_readable"),
        ("  of which OutputBuffer.feed", "OutputBuffer.feed"),
        ("  of which Supervisor._emit (events)", "Supervisor._emit"),
        ("forward to the windows (Keeper.on_event)", "Keeper.on_event"),
        ("  of which Session.send_buffer_change", "Session.send_buffer_change"),
        ("write to the socket (asyncio transports)", "_SelectorSocketTransport"),
        ("asyncio's loop itself (BaseEventLoop._run_once)", "BaseEventLoop._run_once"),
    ],
    "window": [
        ("receive from the keeper (Client.receive)", "Client.receive"),
        ("  of which OutputBuffer.feed", "OutputBuffer.feed"),
        ("sync the views (TuirunnerApp._flush)", "TuirunnerApp._flush"),
        ("render frames (Screen._on_timer_update)", "Screen._on_timer_update"),
        ("  of which OutputView.render_lines", "OutputView.render_lines"),
        ("    of which line_to_text (ANSI decode)", "line_to_text"),
        ("  of which App._display (write to terminal)", "App._display"),
        ("message processing (MessagePump)", "MessagePump._process_messages"),
    ],
}


def profile_run(args, tuirunner: list[str], python: str, mode: str, py_spy: str) -> None:
    """One run with py-spy recording the keeper and the window from "go" to the last line."""
    import signal

    n = args.lines
    with tempfile.TemporaryDirectory(prefix="tuirunner-bench-prof-") as tmp:
        outs = {part: Path(tmp) / f"{part}.txt" for part in ("keeper", "window")}
        spies: list[subprocess.Popen] = []

        def on_go(parts: dict[str, int]):
            for part, out in outs.items():
                # --gil: only samples of a thread that holds the GIL, i.e. running Python (a
                # nap or a wait for input is not a cost; C that releases the GIL is missed).
                command = [py_spy, "record", "-p", str(parts[part]), "-r", "200", "-d", "600"]
                command.append("--gil")
                spies.append(
                    subprocess.Popen(
                        [*command, "--format", "raw", "-o", str(out)],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )

            def finish() -> None:
                for spy in spies:
                    spy.send_signal(signal.SIGINT)
                for spy in spies:
                    try:
                        spy.wait(30)
                    except subprocess.TimeoutExpired:
                        spy.kill()

            return finish

        try:
            t = run_tuirunner(tuirunner, python, n, mode, args.columns, args.rows, on_go=on_go)
        finally:
            for spy in spies:
                if spy.poll() is None:
                    spy.kill()
        print(
            f"   child {t.child_wall:.2f}s; CPU {t.cpu_flood:.2f}s "
            f"(keeper and guard {t.keeper_cpu:.2f}s, window {t.cpu_flood - t.keeper_cpu:.2f}s)"
        )
        for part, out in outs.items():
            if not out.exists():
                print(
                    "   py-spy wrote no profile (needs ptrace rights: run as root, or "
                    "kernel.yama.ptrace_scope=0)"
                )
                return
            if args.profile_dir:
                keep = Path(args.profile_dir)
                keep.mkdir(parents=True, exist_ok=True)
                shutil.copy(out, keep / out.name)
            stacks = []
            for row in out.read_text().splitlines():
                stack, _, count = row.rpartition(" ")
                if stack and count.isdigit():
                    stacks.append(([_norm_frame(f) for f in stack.split(";")], int(count)))
            _print_profile(part, stacks)


def _print_profile(part: str, stacks: list[tuple[list[str], int]]) -> None:
    total = sum(c for _, c in stacks)
    if not total:
        print(f"   {part}: no sample holding the GIL")
        return
    print(
        f"   {part}: {total} samples at 200 Hz of a thread holding the GIL "
        f"({total / 200:.2f}s). Shares of them:"
    )
    for label, needle in PROFILE_GROUPS[part]:
        c = sum(c for f, c in stacks if any(needle + " " in x for x in f))
        print(f"   {100 * c / total:5.1f}%  {label}")
    own: dict[str, int] = {}
    for f, c in stacks:
        own[f[-1]] = own.get(f[-1], 0) + c
    print("   top functions by own time:")
    for name, c in sorted(own.items(), key=lambda kv: -kv[1])[:10]:
        print(f"   {100 * c / total:5.1f}%  {name}")


def bench_mode(args, tuirunner: list[str], mode: str) -> dict:
    python = sys.executable
    n = args.lines
    per_m = n / 1_000_000
    print(
        f"\n=== mode {mode!r}: {n:,} lines, {args.repeat} repeat(s), "
        f"terminal {args.columns}x{args.rows} ===",
        flush=True,
    )
    if mode == "line":
        print("child: print() per line; line-buffered on a terminal, so one write(2) per line")
    else:
        print("child: lines written 64 KiB at a time (the harshest load for the reader)")

    bare: list[float] = []
    bare_stalled: list[float] = []
    tui: list[TuiRun] = []
    for r in range(args.repeat):
        done = run_bare(python, n, mode, args.columns, args.rows)
        b = float(done["elapsed"])
        bare.append(b)
        bare_stalled.append(float(done.get("stalled", 0.0)))
        t = run_tuirunner(tuirunner, python, n, mode, args.columns, args.rows)
        tui.append(t)
        print(
            f"  run {r + 1}: bare {b:.3f}s | tuirunner: child {t.child_wall:.3f}s "
            f"(x{t.child_wall / b:.2f}, blocked {t.child_stalled:.2f}s vs "
            f"{bare_stalled[-1]:.2f}s bare), cpu {t.cpu_flood:.2f}s (keeper {t.keeper_cpu:.2f}s; "
            f"{t.cpu_at_done:.2f}s at the "
            f"child's end), catch-up {t.catch_up * 1000:.0f}ms, "
            f"peak rss {t.rss_hwm / MB:.1f}MB ("
            + " ".join(f"{k} {v / MB:.1f}" for k, v in t.hwm_parts.items())
            + f"), tmux cpu {t.tmux_cpu:.2f}s"
            + (f", LEFTOVERS {t.leftovers}" if t.leftovers else ""),
            flush=True,
        )

    walls = [t.child_wall for t in tui]
    ratios = [t.child_wall / b for t, b in zip(tui, bare, strict=True)]
    ratio = statistics.median(walls) / statistics.median(bare)
    cpu_per_m = [t.cpu_flood / per_m for t in tui]
    cpu_done_per_m = [t.cpu_at_done / per_m for t in tui]
    peak = [max(t.rss_hwm, t.rss_peak_polled) / MB for t in tui]
    polled = [t.rss_peak_polled / MB for t in tui]
    before = [t.rss_before / MB for t in tui]
    lines_per_s_bare = [n / b for b in bare]
    lines_per_s_tui = [n / w for w in walls]

    print(f"\n1. child wall time for {n:,} lines (medians; spread in brackets)")
    print(
        f"   bare pty reader (limit): {fmt_spread(bare, 's', 3)}"
        f"  = {statistics.median(lines_per_s_bare) / 1000:.0f}k lines/s"
    )
    print(
        f"   under tuirunner --tui:   {fmt_spread(walls, 's', 3)}"
        f"  = {statistics.median(lines_per_s_tui) / 1000:.0f}k lines/s"
    )
    print(
        f"   ratio (median/median):   {ratio:.3f}   (per-pair ratios: {fmt_spread(ratios)})"
        f"   target <= {TARGET_RATIO}  {verdict(ratio <= TARGET_RATIO)}"
    )
    print(
        f"   time the child was blocked on a full terminal: bare {fmt_spread(bare_stalled, 's')}"
        f", tuirunner {fmt_spread([t.child_stalled for t in tui], 's')}"
    )
    print(
        "2. tuirunner CPU (user+sys; window + keeper + guard), from just before the first line"
        " until the last is shown"
    )
    print(
        f"   per million lines:       {fmt_spread(cpu_per_m, 's')}"
        f"   target <= {TARGET_CPU_PER_M}s  "
        f"{verdict(statistics.median(cpu_per_m) <= TARGET_CPU_PER_M)}"
    )
    print(
        f"   (until the child's last write: {fmt_spread(cpu_done_per_m, 's')} per million; "
        f"the terminal, tmux, used {fmt_spread([t.tmux_cpu / per_m for t in tui], 's')})"
    )
    print("3. tuirunner peak RSS, its processes together (max of summed VmHWM and 10 ms polling)")
    print(
        f"   peak:                    {fmt_spread(peak, ' MB', 1)}   target <= {TARGET_RSS_MB:g} MB"
        f"  {verdict(statistics.median(peak) <= TARGET_RSS_MB)}"
    )
    print(
        f"   (before the flood {fmt_spread(before, ' MB', 1)}; "
        f"polled peak during it {fmt_spread(polled, ' MB', 1)})"
    )
    result = {
        "mode": mode,
        "lines": n,
        "bare_wall": bare,
        "tui_wall": walls,
        "bare_blocked": bare_stalled,
        "tui_blocked": [t.child_stalled for t in tui],
        "ratio": ratio,
        "cpu_per_million": cpu_per_m,
        "cpu_at_done_per_million": cpu_done_per_m,
        "catch_up": [t.catch_up for t in tui],
        "tmux_cpu": [t.tmux_cpu for t in tui],
        "peak_rss_mb": peak,
        "rss_before_mb": before,
        "leftovers": [x for t in tui for x in t.leftovers],
    }

    if not args.skip_big:
        big = args.big_lines
        print(f"\n4. {big:,} lines: tuirunner RSS as the lines go by ({args.big_repeat} run(s))")
        runs = []
        for r in range(args.big_repeat):
            t = run_tuirunner(tuirunner, python, big, mode, args.columns, args.rows)
            runs.append(t)
            marks = ", ".join(
                f"{k // 1_000_000}M: {v / MB:.1f}MB" for k, v in sorted(t.rss_at.items())
            )
            print(
                f"  run {r + 1}: before {t.rss_before / MB:.1f}MB, {marks}; peak "
                f"{max(t.rss_hwm, t.rss_peak_polled) / MB:.1f}MB; child {t.child_wall:.2f}s; "
                f"cpu {t.cpu_flood / (big / 1e6):.2f}s per million"
                + (f"; LEFTOVERS {t.leftovers}" if t.leftovers else ""),
                flush=True,
            )
        marks_all = sorted({k for t in runs for k in t.rss_at})
        at = {k: [t.rss_at[k] / MB for t in runs if k in t.rss_at] for k in marks_all}
        first, lastk = marks_all[0], marks_all[-1]
        growth = [
            (t.rss_at[lastk] - t.rss_at[first]) / MB
            for t in runs
            if first in t.rss_at and lastk in t.rss_at
        ]
        print(f"   RSS after {first // 1_000_000}M lines: {fmt_spread(at[first], ' MB', 1)}")
        last_ok = statistics.median(at[lastk]) <= TARGET_RSS_MB
        print(
            f"   RSS after {lastk // 1_000_000}M lines: {fmt_spread(at[lastk], ' MB', 1)}   "
            f"target <= {TARGET_RSS_MB:g} MB  {verdict(last_ok)}"
        )
        print(
            f"   growth {first // 1_000_000}M -> {lastk // 1_000_000}M: "
            f"{fmt_spread(growth, ' MB', 1)}   target <= +{TARGET_GROWTH_MB:g} MB  "
            f"{verdict(statistics.median(growth) <= TARGET_GROWTH_MB)}"
        )
        bigpeak = [max(t.rss_hwm, t.rss_peak_polled) / MB for t in runs]
        print(
            f"   peak RSS: {fmt_spread(bigpeak, ' MB', 1)}   target <= {TARGET_RSS_MB:g} MB  "
            f"{verdict(statistics.median(bigpeak) <= TARGET_RSS_MB)}"
        )
        result["big"] = {
            "lines": big,
            "rss_at_mb": {str(k): v for k, v in at.items()},
            "growth_mb": growth,
            "peak_rss_mb": bigpeak,
            "child_wall": [t.child_wall for t in runs],
            "cpu_per_million": [t.cpu_flood / (big / 1e6) for t in runs],
            "leftovers": [x for t in runs for x in t.leftovers],
        }

    if not args.skip_responsiveness:
        print(
            f"\n5. responsiveness: z (zoom) pressed during the flood of {n:,} lines, "
            "two panes (gen + idle), time until the screen shows it"
        )
        during: list[float] = []
        idle: list[float] = []
        for _ in range(args.repeat):
            t = run_tuirunner(
                tuirunner,
                python,
                n,
                mode,
                args.columns,
                args.rows,
                second_pane=True,
                keys_during_flood=True,
            )
            during += t.latencies
            idle += t.idle_latencies
        if during:
            ms = [x * 1000 for x in during]
            print(
                f"   during the flood: {fmt_spread(ms, ' ms', 0)}, p90 {_quantile(ms, 0.9):.0f} ms"
            )
        else:
            print("   during the flood: no key press completed before the child finished")
        print(f"   idle, after it:   {fmt_spread([x * 1000 for x in idle], ' ms', 0)}")
        result["latency_during_ms"] = [x * 1000 for x in during]
        result["latency_idle_ms"] = [x * 1000 for x in idle]

    if args.profile:
        py_spy = find_py_spy(args.py_spy)
        print(f"\n6. py-spy profiles of tuirunner during the flood of {n:,} lines")
        if py_spy is None:
            print("   py-spy not found: pip install py-spy (or pass --py-spy PATH)")
        else:
            profile_run(args, tuirunner, python, mode, py_spy)

    if args.floor:
        result["floor"] = floor_runs(args, tuirunner, python, mode)

    leftovers = result["leftovers"] + result.get("big", {}).get("leftovers", [])
    print(f"\ncleanup: {'no process left behind' if not leftovers else f'LEFTOVERS {leftovers}'}")
    return result


def floor_runs(args, tuirunner: list[str], python: str, mode: str) -> dict:
    """Section 7: the references that show where the floor of the ratio is on this machine."""
    n = args.lines
    print(f"\n7. the floor, {n:,} lines: the child's wall time under less than the whole runner")
    bare: list[float] = []
    busy: list[float] = []
    keep: list[float] = []
    alone: list[float] = []
    for r in range(args.repeat):
        done = run_bare(python, n, mode, args.columns, args.rows)
        bare.append(float(done["elapsed"]))
        if done["busy_cores"] is not None:
            busy.append(done["busy_cores"])
        keep.append(float(run_bare(python, n, mode, args.columns, args.rows, keep=True)["elapsed"]))
        alone.append(run_keeper_alone(tuirunner, python, n, mode))
        print(
            f"  run {r + 1}: bare {bare[-1]:.3f}s | bare keeping the lines {keep[-1]:.3f}s "
            f"(x{keep[-1] / bare[-1]:.2f}) | keeper alone {alone[-1]:.3f}s "
            f"(x{alone[-1] / bare[-1]:.2f})",
            flush=True,
        )
    b = statistics.median(bare)
    cores = os.cpu_count() or 1
    if busy:
        print(
            f"   the bare run keeps {statistics.median(busy):.2f} of {cores} cores busy (the child,"
            " the kernel's terminal work, the reader): what is left for a runner"
        )
    print(
        f"   bare reader keeping the lines (OutputBuffer.feed per read): "
        f"{fmt_spread(keep, 's', 3)}  ratio {statistics.median(keep) / b:.3f}"
    )
    print(
        f"   keeper alone (start --detach, no window): "
        f"{fmt_spread(alone, 's', 3)}  ratio {statistics.median(alone) / b:.3f}"
    )
    return {"bare_wall": bare, "busy_cores": busy, "keep_wall": keep, "keeper_alone_wall": alone}


def run_keeper_alone(tuirunner: list[str], python: str, lines: int, mode: str) -> float:
    """The child's wall time under a detached keeper (no window, no client at all)."""
    with tempfile.TemporaryDirectory(prefix="tuirunner-bench-") as tmp:
        workdir = Path(tmp)
        report = workdir / "report"
        report.mkdir()
        child = child_command(python, lines, report, mode, wait_go=False, linger=3600)
        (workdir / "Procfile").write_text(f"gen: {shlex.join(child)}\n")
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "timeout": 60}
        subprocess.run([*tuirunner, "start", "--detach", "-d", tmp], check=True, **quiet)
        try:
            done = wait_for(
                lambda: read_json(report / "done"), max(120.0, lines / 20_000), "the child"
            )
        finally:
            subprocess.run([*tuirunner, "down", "-d", tmp], **quiet)
        return float(done["elapsed"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--lines", type=int, default=1_000_000, help="lines per run (default 1M)")
    p.add_argument(
        "--big-lines", type=int, default=10_000_000, help="lines of the memory run (default 10M)"
    )
    p.add_argument("--repeat", type=int, default=3, help="runs per measurement (default 3)")
    p.add_argument("--big-repeat", type=int, default=1, help="runs of the memory run (default 1)")
    p.add_argument(
        "--mode",
        choices=("line", "block", "both"),
        default="line",
        help="how the child writes: print() per line (default), 64 KiB blocks, both",
    )
    p.add_argument("--columns", type=int, default=200)
    p.add_argument("--rows", type=int, default=50)
    p.add_argument("--skip-big", action="store_true", help="skip the memory run")
    p.add_argument(
        "--floor",
        action="store_true",
        help="also measure where the floor of the wall-time ratio is on this machine",
    )
    p.add_argument("--skip-responsiveness", action="store_true")
    p.add_argument("--tuirunner", help="the tuirunner executable (default: next to this Python)")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    p.add_argument(
        "--profile",
        action="store_true",
        help="one more run under py-spy: where the keeper and the window spend their time",
    )
    p.add_argument("--py-spy", metavar="PATH", help="the py-spy executable (default: on PATH)")
    p.add_argument(
        "--profile-dir",
        metavar="DIR",
        help="with --profile: also keep py-spy's raw stacks (keeper.txt, window.txt) in DIR",
    )
    args = p.parse_args(argv)
    if shutil.which("tmux") is None:
        print("tmux is required", file=sys.stderr)
        return 2
    try:
        tuirunner = find_tuirunner(args.tuirunner)
        print(f"tuirunner: {shlex.join(tuirunner)} ({git_revision()})")
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"python: {sys.executable}; cpus: {os.cpu_count()}; load average: {load}")
        modes = ("line", "block") if args.mode == "both" else (args.mode,)
        results = [bench_mode(args, tuirunner, m) for m in modes]
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 2
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
