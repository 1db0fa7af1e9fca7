"""always_on.py's key press figure for an everyday run (issue 23's first table): p50 and p90.

Part of ``always_on.py`` (``--only keys``); see bench/README.md.

Five processes printing a line a second (the idle figure's ``tick``), tmux 200×50; after
``--settle`` s, ``--key-presses`` presses 0.3 s apart, each timed from ``send-keys`` until the
screen shows its effect (``capture-pane`` polled every 2 ms):

- tuirunner: ``z``, zoom the focused pane in and out: in, until no ``p.2`` is on screen; out,
  until ``p.2`` is back (the five panes fit on the screen, so there is no pane to switch to
  that is not shown already; a zoom lays out the screen again, as a switch in list mode does);
- mprocs: ``j``/``k``, the process shown (``•p.2``, ``•p.1``), as in the 100-process figure;
- honcho has no keys: –. The floor: ``cat`` in the pane (the screen changes as the key echoes).

Each run gives the p50 and the p90 of its presses; the table shows their medians over runs.
"""

from __future__ import annotations

import statistics
import time

import always_on as ao

GOAL_P50_MS = 16.0
GOAL_P90_MS = 33.0
SHOWN = r"(?<![\w.])p\.2(?![\w.])"  # pane p.2's header: on screen unless p.1 is zoomed


def percentile(values: list[float], q: int) -> float:
    """The *q*-th percentile (inclusive method: the largest for q=100)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def measure_keys(peer: ao.Peer, args) -> list[float]:
    """The latencies (ms) of ``--key-presses`` view keys with five processes ticking."""
    with ao.Session(peer, args) as s:
        s.launch([("p", s.wrap(ao.IDLE_SCRIPTS["tick"]), 5)])
        s.wait_started(5, 120)
        s.wait_painted("tick")
        time.sleep(args.settle)
        out = []
        for i in range(args.key_presses):
            if peer.kind == "tuirunner":
                zoomed = i % 2 == 0
                seconds = ao.key_latency(s.tmux, "z", SHOWN, gone=zoomed)
            else:
                key, pattern = peer.focus_keys[i % len(peer.focus_keys)]
                seconds = ao.key_latency(s.tmux, key, pattern)
            out.append(seconds * 1000)
            time.sleep(0.3)
        return out


def run_keys(args, peers: list[ao.Peer], results: ao.Results) -> None:
    print(
        f"\n=== a key press shows: 5 processes × 1 line/s, {args.key_presses} presses per run"
        " (tuirunner: z in and out; mprocs: j/k) ===",
        flush=True,
    )
    for r in range(args.repeat):
        what = f"run {r + 1}, key floor (cat)"
        res = ao.attempt(results, what, lambda: {"ms": ao.measure_key_floor(args)})
        if res is not None:
            add(results, "floor", res["ms"])
            print(f"  {what}: {', '.join(f'{x:.1f}' for x in res['ms'])} ms", flush=True)
        for peer in peers:
            if peer.kind not in ("tuirunner", "mprocs"):
                continue
            what = f"run {r + 1}, {peer.label}"
            ms = ao.attempt(results, what, lambda p=peer: {"ms": measure_keys(p, args)})
            if ms is None:
                continue
            add(results, peer.label, ms["ms"])
            print(
                f"  {what}: p50 {percentile(ms['ms'], 50):.0f} ms, p90"
                f" {percentile(ms['ms'], 90):.0f} ms ({', '.join(f'{x:.0f}' for x in ms['ms'])})",
                flush=True,
            )


def add(results: ao.Results, label: str, ms: list[float]) -> None:
    results.add("keys_p50", label, percentile(ms, 50))
    results.add("keys_p90", label, percentile(ms, 90))


def report(args, peers: list[ao.Peer], results: ao.Results) -> dict:
    if "keys_p50" not in results.values:
        return {}
    labels = [p.label for p in peers if p.kind in ("tuirunner", "mprocs")]
    others = [x for x in labels if x != "tuirunner"]
    rows = [
        ao.Row(
            "keys_p50",
            "a key press shows, p50",
            "ms",
            0,
            f"<= {GOAL_P50_MS:g} ms",
            lambda v, _: v <= GOAL_P50_MS,
        ),
        ao.Row(
            "keys_p90",
            "a key press shows, p90",
            "ms",
            0,
            f"<= {GOAL_P90_MS:g} ms",
            lambda v, _: v <= GOAL_P90_MS,
        ),
    ]
    table = ao.print_table(
        f"Key presses, 5 processes × 1 line/s (medians [min–max] of {args.repeat} run(s) of"
        f" {args.key_presses} presses; floor: cat)",
        rows,
        [*labels, "floor"],
        "tuirunner",
        [*others, "floor"],
        results,
    )
    return {"keys_table": table}


def add_arguments(p) -> None:
    p.add_argument("--key-presses", type=int, help="presses per run of --only keys (20)")


def apply_defaults(args, quick: bool) -> None:
    if args.key_presses is None:
        args.key_presses = 6 if quick else 20
