"""The merged view's costs (issue 18), as A/B ratios against the panes in the same run (the
machine is shared: absolute figures drift with its load).

    python bench/merged_view.py [--lines 1000000] [--repeat 3] [--only wall,idle,keys]

- **wall**: a child printing 1M lines (``line`` and ``block`` modes, bench/child.py), its wall
  time under tuirunner with the merged view open (``m`` pressed before the flood) over a bare
  PTY reader's (target <= 1.15), and over tuirunner's with the panes (the cost of the view);
  also over the bare reader's with the terminal in the mode tuirunner gives its children
  (ONLCR off, which saves the child kernel time: see bench/README.md);
- **idle**: CPU of tuirunner's processes (window, keeper, guard) with 5 processes printing a
  line a second, merged view shown vs panes (target <= 0.5 %), and the floor: the plainest
  Textual app that shows the same (``textual_floor_app.py --merged``: a ``Log``, one process);
  with ``--tuirunner-ref EXE``, another build's merged view too, in the same runs;
- **keys**: with 50,000 lines from 5 processes in the merged view, a key press until the
  screen shows its effect (tmux ``send-keys`` then ``capture-pane``; floor ~4 ms): ``t``
  (times), ``2`` (hide a process: the merge is redone from the buffers), End/PgUp (target
  100 ms).
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil
from common import BenchError, Tmux, cpu_seconds, find_tuirunner, run_bare, wait_for
from throughput import run_tuirunner


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def spread(values: list[float], fmt: str = "{:.3f}") -> str:
    return f"{fmt.format(median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def bench_wall(args, tuirunner: list[str]) -> None:
    python = sys.executable
    for mode in ("line", "block"):
        bare, plain, panes, merged = [], [], [], []
        for r in range(args.repeat):
            bare.append(float(run_bare(python, args.lines, mode, 200, 50)["elapsed"]))
            plain.append(float(run_bare(python, args.lines, mode, 200, 50, onlcr=False)["elapsed"]))
            panes.append(run_tuirunner(tuirunner, python, args.lines, mode, 200, 50).child_wall)
            merged.append(
                run_tuirunner(
                    tuirunner, python, args.lines, mode, 200, 50, keys_before="m"
                ).child_wall
            )
            print(
                f"  {mode} run {r + 1}: bare {bare[-1]:.2f}s (ONLCR off {plain[-1]:.2f}s), "
                f"panes {panes[-1]:.2f}s, merged {merged[-1]:.2f}s",
                flush=True,
            )
        ratio = [m / b for m, b in zip(merged, bare, strict=True)]
        same = [m / b for m, b in zip(merged, plain, strict=True)]
        vs = [m / p for m, p in zip(merged, panes, strict=True)]
        base = [p / b for p, b in zip(panes, bare, strict=True)]
        ok = median(ratio) <= 1.15
        print(
            f"wall {mode}: merged/bare {spread(ratio)} [{'PASS' if ok else 'MISS'} <= 1.15]; "
            f"merged/bare with ONLCR off as tuirunner's children have it {spread(same)}; "
            f"panes/bare {spread(base)}; merged/panes {spread(vs)}",
            flush=True,
        )


def _run(tuirunner, procfile: str, columns=200, rows=50):
    work = Path(tempfile.mkdtemp(prefix="tuirunner-bench-merged-"))
    (work / "Procfile").write_text(procfile)
    tmux = Tmux(work, columns, rows)
    tmux.start(f"exec {shlex.join(tuirunner)} --tui")
    return tmux


def _parts(tmux: Tmux) -> list[psutil.Process]:
    window = psutil.Process(tmux.pane_pid())
    return [window, *window.children(recursive=True)]


def _is_runner(p: psutil.Process) -> bool:
    """Whether *p* is a part of tuirunner (not a shell of the workload or its ``sleep``, which
    may be gone by now)."""
    try:
        return "tuirunner" in " ".join(p.cmdline()) or "python" in p.name()
    except psutil.Error:
        return False


def _runner_cpu(parts: list[psutil.Process], workload: set[int]) -> float:
    total = 0.0
    for p in parts:
        if p.pid in workload:
            continue
        with contextlib.suppress(psutil.Error):
            total += cpu_seconds(p)
    return total


def bench_idle(args, tuirunner: list[str], reference: list[str] | None = None) -> None:
    procfile = "".join(f"t{i}: while :; do echo tick; sleep 1; done\n" for i in range(5))
    kinds = ["panes", "merged", "floor"] + (["merged (ref)"] if reference else [])
    results: dict[str, list[float]] = {kind: [] for kind in kinds}
    floor_app = [sys.executable, str(Path(__file__).parent / "textual_floor_app.py"), "--merged"]
    for r in range(args.repeat):
        for kind in kinds:
            if kind == "floor":  # the plainest Textual app showing the same, in the same run
                tmux = Tmux(Path(tempfile.mkdtemp(prefix="tuirunner-bench-floor-")), 200, 50)
                tmux.start(f"exec {shlex.join(floor_app)}")
            else:
                tmux = _run(
                    reference if kind == "merged (ref)" and reference else tuirunner, procfile
                )
            try:
                wait_for(lambda t=tmux: t.capture().count("tick") >= 5, 60, "the ticks", 0.1)
                if kind.startswith("merged"):
                    tmux.send("m")
                    wait_for(lambda t=tmux: "following — lines" in t.capture(), 30, "merged", 0.05)
                time.sleep(args.settle)
                parts = _parts(tmux)
                # The workload: the shells and their sleeps (not tuirunner).
                workload = {p.pid for p in parts if not _is_runner(p)}
                c0, t0 = _runner_cpu(parts, workload), time.monotonic()
                time.sleep(args.idle_seconds)
                pct = 100 * (_runner_cpu(parts, workload) - c0) / (time.monotonic() - t0)
                results[kind].append(pct)
                print(f"  idle run {r + 1} {kind}: {pct:.2f}%", flush=True)
            finally:
                tmux.kill()
    merged = median(results["merged"])
    ok = merged <= 0.5
    print(
        f"idle (5 x 1 line/s): merged {spread(results['merged'], '{:.2f}')}% "
        f"[{'PASS' if ok else 'MISS'} <= 0.5%], panes {spread(results['panes'], '{:.2f}')}%, "
        f"ratio {merged / max(median(results['panes']), 1e-9):.2f}; floor (the plainest "
        f"Textual app showing the same, textual_floor_app.py --merged) "
        f"{spread(results['floor'], '{:.2f}')}%",
        flush=True,
    )
    if reference:
        ref = median(results["merged (ref)"])
        print(
            f"idle, merged view, the reference build ({shlex.join(reference)}): "
            f"{spread(results['merged (ref)'], '{:.2f}')}%, ratio {merged / max(ref, 1e-9):.2f}",
            flush=True,
        )


def _latency(tmux: Tmux, key: str) -> float:
    before = tmux.capture()
    t0 = time.monotonic()
    tmux.send(key)
    wait_for(lambda: tmux.capture() != before, 30, f"{key} to show", 0.002)
    return time.monotonic() - t0


def bench_keys(args, tuirunner: list[str]) -> None:
    n = args.key_lines // 5
    procfile = "".join(f"p{i}: seq -f 'p{i} line %g' 1 {n} && exec sleep 3600\n" for i in range(5))
    tmux = _run(tuirunner, procfile)
    panes: dict[str, list[float]] = {}
    times: dict[str, list[float]] = {}
    try:
        wait_for(lambda: tmux.capture().count(f"line {n}") >= 1, 120, "the lines", 0.1)
        time.sleep(2)
        # A: the same keys in a zoomed pane (10,000 lines), the view every pane is.
        tmux.send("z")
        time.sleep(1)
        for _ in range(args.repeat * 3):
            for key in ("t", "PPage", "End"):
                panes.setdefault(key, []).append(_latency(tmux, key))
                time.sleep(0.2)
        tmux.send("z")
        time.sleep(0.5)
        # B: the merged view of the 50,000 lines.
        tmux.send("m")
        wait_for(lambda: "following — lines" in tmux.capture(), 30, "the merged view", 0.05)
        time.sleep(1)
        for _ in range(args.repeat * 3):
            for key in ("t", "2", "PPage", "End"):
                times.setdefault(key, []).append(_latency(tmux, key))
                time.sleep(0.2)
    finally:
        tmux.kill()
    for key, values in times.items():
        ms = [v * 1000 for v in values]
        ok = median(ms) <= 100
        line = (
            f"key {key!r} in the merged view ({args.key_lines:,} lines, 5 processes): "
            f"{spread(ms, '{:.0f}')} ms [{'PASS' if ok else 'MISS'} <= 100 ms]"
        )
        if key in panes:
            base = [v * 1000 for v in panes[key]]
            line += f"; in a zoomed pane {spread(base, '{:.0f}')} ms, ratio "
            line += f"{median(ms) / median(base):.2f}"
        print(line, flush=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--key-lines", type=int, default=50_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--idle-seconds", type=float, default=20)
    p.add_argument("--settle", type=float, default=3)
    p.add_argument("--only", default="wall,idle,keys")
    p.add_argument("--tuirunner")
    p.add_argument(
        "--tuirunner-ref", help="another build's tuirunner: its merged view's idle CPU, same run"
    )
    args = p.parse_args()
    tuirunner = find_tuirunner(args.tuirunner)
    reference = find_tuirunner(args.tuirunner_ref) if args.tuirunner_ref else None
    only = set(args.only.split(","))
    try:
        if "keys" in only:
            bench_keys(args, tuirunner)
        if "idle" in only:
            bench_idle(args, tuirunner, reference)
        if "wall" in only:
            bench_wall(args, tuirunner)
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
