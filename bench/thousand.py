"""always_on.py's scale and memory figures (issue 23): 1,000 silent processes, and RSS.

Part of ``always_on.py`` (``--only thousand,rss``); see bench/README.md.

- **1,000 processes**: ten types (``p``, ``q``, … ``y``) × ``--thousand-per-type`` (100, the
  formation limit per type), each ``while :; do sleep 3600; done`` (silent, and next to no
  forks). From ``respawn-pane``: all started (every one appended its pid to ``run/started``);
  after ``--settle`` s the runner's idle CPU over ``--thousand-seconds`` and the RSS of the
  runner's own processes; a key press until it shows (tuirunner: ``5``/``3`` focus ``p.5``/
  ``p.3``; mprocs ``j``/``k``); then quit → all the workload gone, and the runner gone.
- **RSS, idle**: the summed RSS of the runner's processes with 5 processes printing a line a
  second (the idle figure), after ``--settle`` s and an ``--idle-seconds`` window. The floor:
  the plainest Textual app (``textual_floor_app.py``) plus a bare Python process (what a
  keeper in its own process costs at least).
"""

from __future__ import annotations

import shlex
import sys
import time

import always_on as ao
from common import BenchError, proc_label

GOAL_STARTED_S = 3.0
GOAL_QUIT_S = 0.5
GOAL_IDLE_PCT = 0.2
GOAL_RSS_MB = 150.0
GOAL_KEY_MS = 100.0
GOAL_IDLE_RSS_MB = 60.0
TYPES = "pqrstuvwxy"
SILENT = "while :; do sleep 3600; done"


def rss_mb(pids) -> float:
    """Summed VmRSS of *pids*, MB (a process gone meanwhile counts 0)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status", "rb") as f:
                for line in f:
                    if line.startswith(b"VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total / 1024


def runner_rss(s: ao.Session) -> tuple[float, dict[str, int]]:
    runner, _ = s.procs.classify()
    counted: dict[str, int] = {}
    for p in runner.values():
        name = proc_label(p.argv)
        counted[name] = counted.get(name, 0) + 1
    return rss_mb(runner), dict(sorted(counted.items()))


def measure_thousand(peer: ao.Peer, args) -> dict:
    types, per = args.thousand_types, args.thousand_per_type
    n = types * per
    with ao.Session(peer, args) as s:
        t0 = s.launch([(TYPES[i], s.wrap(SILENT), per) for i in range(types)])
        all_started = ao.time_until(lambda: s.started_count() >= n, t0, 600, "all to start", 0.01)
        time.sleep(args.settle)
        cpu, tmux_cpu, wall, counted = ao.cpu_window(s, args.thousand_seconds)
        rss, rss_counted = runner_rss(s)
        keys = []
        if peer.focus_keys:
            for i in range(args.presses):
                key, pattern = peer.focus_keys[i % len(peer.focus_keys)]
                keys.append(ao.key_latency(s.tmux, key, pattern))
                time.sleep(0.3)
        children_gone, runner_gone = s.quit(timeout=180)
        return {
            "all_started": all_started,
            "pct": 100 * cpu / wall,
            "tmux_pct": 100 * tmux_cpu / wall,
            "rss": rss,
            "key_ms": [k * 1000 for k in keys],
            "children_gone": children_gone,
            "runner_gone": runner_gone,
            "counted": counted,
            "rss_counted": rss_counted,
        }


def measure_idle_rss(peer: ao.Peer, args) -> dict:
    with ao.Session(peer, args) as s:
        s.launch([("t", s.wrap(ao.IDLE_SCRIPTS["tick"]), 5)])
        s.wait_started(5, 120)
        time.sleep(args.settle + args.idle_seconds)
        rss, counted = runner_rss(s)
    return {"rss": rss, "counted": counted}


def measure_rss_floor(args) -> dict:
    """The plainest Textual app (five Log panes, a line a second) + a bare Python process."""
    app = shlex.join([sys.executable, str(ao.BENCH / "textual_floor_app.py")])
    bare = shlex.join([sys.executable, "-c", "import time; time.sleep(3600)"])
    peer = ao.Peer("floor", "direct", [], names=("textual_floor_app.py",), quit_keys=("C-c",))
    with ao.Session(peer, args) as s:
        s.launch([("floor", f"sh -c {shlex.quote(f'{bare} & exec {app}')}", 1)])
        s.wait_painted("tick")
        time.sleep(args.settle + args.idle_seconds)
        runner, _ = s.procs.classify()
        pids = [
            p.pid
            for p in runner.values()
            if proc_label(p.argv) in ("textual_floor_app.py", "python -c")
        ]
        if len(pids) != 2:
            raise BenchError(f"floor: found {len(pids)} of its 2 processes")
        return {"rss": rss_mb(pids)}


def run_thousand(args, peers: list[ao.Peer], results: ao.Results) -> None:
    n = args.thousand_types * args.thousand_per_type
    per = args.thousand_per_type
    print(
        f"\n=== {n:,} silent processes ({args.thousand_types} types × {per}: {SILENT});"
        f" tuirunner -t {args.timeout:g} ===",
        flush=True,
    )
    if n > 3000:
        print(f"  (needs {n} pseudo-terminals: /proc/sys/kernel/pty/max)")
    for r in range(args.repeat):
        for peer in peers:
            what = f"run {r + 1}, {peer.label}"
            res = ao.attempt(results, what, lambda p=peer: measure_thousand(p, args))
            if res is None:
                continue
            label = peer.label
            results.add("k_started", label, res["all_started"])
            results.add("k_cpu", label, res["pct"])
            results.add("k_rss", label, res["rss"])
            results.add("k_key", label, res["key_ms"] or None)
            results.add("k_children_gone", label, res["children_gone"])
            results.add("k_runner_gone", label, res["runner_gone"])
            results.add("k_cpu_tmux", label, res["tmux_pct"])
            results.count("k_cpu", label, res["counted"])
            results.count("k_rss", label, res["rss_counted"])
            if res["children_gone"] is None or res["runner_gone"] is None:
                results.errors.append(f"{what}: did not quit within 180 s")

            def s(x):
                return "not within 180 s" if x is None else f"{x:.2f} s"

            keys = ", ".join(f"{x:.0f}" for x in res["key_ms"])
            print(
                f"  {what}: all started after {res['all_started']:.2f} s; runner cpu"
                f" {res['pct']:.2f} % (tmux {res['tmux_pct']:.2f} %); rss {res['rss']:.0f} MB"
                + (f"; keys {keys} ms" if keys else "")
                + f"; after quit: last child gone {s(res['children_gone'])}, runner gone"
                f" {s(res['runner_gone'])}  [counted: {ao.fmt_counted(res['rss_counted'])}]",
                flush=True,
            )


def run_rss(args, peers: list[ao.Peer], results: ao.Results) -> None:
    print(
        f"\n=== RSS of the runner's processes: 5 processes × 1 line/s, after"
        f" {args.settle + args.idle_seconds:g} s ===",
        flush=True,
    )
    for r in range(args.repeat):
        what = f"run {r + 1}, floor (textual_floor_app.py + a bare python)"
        res = ao.attempt(results, what, lambda: measure_rss_floor(args))
        if res is not None:
            results.add("rss_idle", "floor", res["rss"])
            print(f"  {what}: {res['rss']:.1f} MB", flush=True)
        for peer in peers:
            what = f"run {r + 1}, {peer.label}"
            res = ao.attempt(results, what, lambda p=peer: measure_idle_rss(p, args))
            if res is None:
                continue
            results.add("rss_idle", peer.label, res["rss"])
            results.count("rss_idle", peer.label, res["counted"])
            print(
                f"  {what}: {res['rss']:.1f} MB  [counted: {ao.fmt_counted(res['counted'])}]",
                flush=True,
            )


def report(args, peers: list[ao.Peer], results: ao.Results) -> dict:
    """The tables of this module's figures: goal / tuirunner / honcho / mprocs / floor."""
    labels = [p.label for p in peers]
    others = [x for x in labels if x != "tuirunner"]
    columns = [*labels, "floor"]
    out: dict = {}
    Row = ao.Row
    if "rss_idle" in results.values:
        rows = [
            Row(
                "rss_idle",
                "RSS of all the runner's processes, idle (5 processes × 1 line/s)",
                "MB",
                1,
                f"<= {GOAL_IDLE_RSS_MB:g} MB",
                lambda v, _: v <= GOAL_IDLE_RSS_MB,
            )
        ]
        out["rss_table"] = ao.print_table(
            "Memory (floor: the plainest Textual app + a bare Python process)",
            rows,
            columns,
            "tuirunner",
            [*others, "floor"],
            results,
        )
    if "k_started" in results.values:
        n = args.thousand_types * args.thousand_per_type
        quit_goal = min(GOAL_QUIT_S, args.timeout + 1)
        rows = [
            Row(
                "k_started",
                "all started",
                "s",
                2,
                f"<= {GOAL_STARTED_S:g} s",
                lambda v, _: v <= GOAL_STARTED_S,
            ),
            Row(
                "k_children_gone",
                "quit → all gone",
                "s",
                2,
                f"<= {quit_goal:g} s",
                lambda v, _: v <= quit_goal,
            ),
            Row(
                "k_runner_gone",
                "quit → runner exited",
                "s",
                2,
                f"<= {args.timeout + 1:g} s (-t + 1)",
                lambda v, _: v <= args.timeout + 1,
            ),
            Row(
                "k_cpu",
                "idle CPU of the runner",
                "%",
                2,
                f"<= {GOAL_IDLE_PCT:g} %",
                lambda v, _: v <= GOAL_IDLE_PCT,
            ),
            Row(
                "k_rss",
                "RSS of the runner's own processes",
                "MB",
                0,
                f"<= {GOAL_RSS_MB:g} MB",
                lambda v, _: v <= GOAL_RSS_MB,
            ),
            Row(
                "k_key",
                "a key press shows (tuirunner: 5/3; mprocs: j/k)",
                "ms",
                0,
                f"<= {GOAL_KEY_MS:g} ms",
                lambda v, _: v <= GOAL_KEY_MS,
            ),
        ]
        out["thousand_table"] = ao.print_table(
            f"{n:,} silent processes ({args.thousand_types} types × {args.thousand_per_type};"
            f" medians [min–max] of {args.repeat} run(s); quit: `q` in the TUIs, Ctrl+C in"
            " honcho)",
            rows,
            columns,
            "tuirunner",
            others,
            results,
        )
        if results.get("k_cpu_tmux", "tuirunner"):
            cells = [
                f"{label} {results.value('k_cpu_tmux', label):.2f} %"
                for label in labels
                if results.get("k_cpu_tmux", label)
            ]
            print(f"\ntmux server CPU during the {n:,}-process idle window: {', '.join(cells)}")
    return out


def add_arguments(p) -> None:
    p.add_argument("--thousand-types", type=int, help="types of the scale test (10; max 10)")
    p.add_argument("--thousand-per-type", type=int, help="instances per type (100; --quick 20)")
    p.add_argument("--thousand-seconds", type=float, help="its idle CPU window (10; --quick 3)")


def apply_defaults(args, quick: bool) -> None:
    for name, q, full in (
        ("thousand_types", 10, 10),
        ("thousand_per_type", 20, 100),
        ("thousand_seconds", 3.0, 10.0),
    ):
        if getattr(args, name) is None:
            setattr(args, name, q if quick else full)
    if not 1 <= args.thousand_types <= len(TYPES):
        raise SystemExit(f"--thousand-types: 1 to {len(TYPES)}")
    if args.thousand_per_type < 5:  # the key presses focus p.5 and p.3
        raise SystemExit("--thousand-per-type: at least 5")
