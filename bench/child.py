"""The load generator of bench/throughput.py: prints N coloured log lines, timing itself.

    python bench/child.py --lines 1000000 --report DIR [--mode line|block] [--wait-go] [--linger S]

It times only the printing (from just before the first write to just after the last one
returned), so neither the interpreter's start-up nor the runner's is counted. Files it writes in
DIR (each written to a temporary name and renamed, so a reader never sees half a file):

- ``ready``     it is about to print (with ``--wait-go``, it then waits for ``DIR/go`` to exist);
- ``progress``  one line per million lines printed: ``<lines> <seconds since the first write>``;
- ``done``      JSON: ``{"lines": N, "elapsed": seconds, "stalls": n, "stalled": seconds, ...}``:
  ``stalls`` counts the groups of 100 lines (line mode) or the 64 KiB writes (block mode) that
  took more than 2 ms, i.e. the times the child was blocked because the terminal was full (or it
  was preempted); ``stalled`` is the time lost in them.

With ``--linger S`` it sleeps S seconds after ``done`` so that the runner keeps it (and its pane)
alive while the benchmark measures; the benchmark then quits the runner, which stops it.

Modes:
- ``line`` (default): ``print()`` per line; on a terminal Python's stdout is line-buffered, so
  this is one ``write(2)`` per line, like an ordinary chatty Python/Django process.
- ``block``: lines are joined and written 64 KiB at a time, the fastest a child can go: the
  harshest load for the reader.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time

STALL = 0.002  # seconds: a group of 100 lines normally takes ~0.4 ms, a 64 KiB write ~1 ms


def _publish(directory: str, name: str, text: str) -> None:
    tmp = os.path.join(directory, f".{name}.tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, os.path.join(directory, name))


def line(i: int) -> str:
    # 50 visible characters (58 bytes with the colour codes) plus the newline.
    return f"{i:08d} \x1b[32mINFO\x1b[0m GET /api/items/{i:08d} 200 12ms"


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--report", required=True, help="directory for ready/progress/done")
    p.add_argument("--mode", choices=("line", "block"), default="line")
    p.add_argument("--wait-go", action="store_true", help="wait for REPORT/go before printing")
    p.add_argument("--linger", type=float, default=0.0, help="seconds to sleep after done")
    p.add_argument("--checkpoint", type=int, default=1_000_000)
    args = p.parse_args()

    n, report, checkpoint = args.lines, args.report, args.checkpoint
    _publish(report, "ready", f"{os.getpid()}\n")
    if args.wait_go:
        go = os.path.join(report, "go")
        while not os.path.exists(go):
            time.sleep(0.005)

    progress = open(os.path.join(report, "progress"), "a", buffering=1)  # noqa: SIM115
    out = sys.stdout
    written = 0
    t0 = time.perf_counter()
    clock = time.perf_counter
    stalls = 0  # groups of lines (or 64 KiB writes) that took longer than STALL seconds
    stalled = 0.0  # the time spent in them beyond the usual
    if args.mode == "line":
        write = out.write
        group = 100  # look at the clock once per 100 lines only: its cost must not count
        usual = None
        for start in range(0, n, checkpoint):
            stop = min(n, start + checkpoint)
            for g in range(start, stop, group):
                t = clock()
                for i in range(g, min(stop, g + group)):
                    write(line(i) + "\n")  # line-buffered on a tty: one write(2) per line
                dt = clock() - t
                if usual is None or dt < usual:
                    usual = dt
                if dt > STALL:
                    stalls += 1
                    stalled += dt - usual
            progress.write(f"{stop} {clock() - t0:.6f}\n")
    else:
        fd = out.fileno()
        out.flush()
        chunk: list[str] = []
        size = 0
        for start in range(0, n, checkpoint):
            stop = min(n, start + checkpoint)
            for i in range(start, stop):
                s = line(i) + "\n"
                chunk.append(s)
                size += len(s)
                if size >= 65536:
                    data = "".join(chunk).encode()
                    view = memoryview(data)
                    t = clock()
                    while view:
                        view = view[os.write(fd, view) :]
                    dt = clock() - t
                    if dt > STALL:
                        stalls += 1
                        stalled += dt
                    written += len(data)
                    chunk, size = [], 0
            if chunk:
                data = "".join(chunk).encode()
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                written += len(data)
                chunk, size = [], 0
            progress.write(f"{stop} {time.perf_counter() - t0:.6f}\n")
    out.flush()
    elapsed = time.perf_counter() - t0
    progress.close()
    done = {"lines": n, "elapsed": elapsed, "mode": args.mode, "stalls": stalls, "stalled": stalled}
    _publish(report, "done", json.dumps(done))
    if args.linger > 0:
        with contextlib.suppress(KeyboardInterrupt):
            time.sleep(args.linger)
    return 0


if __name__ == "__main__":
    sys.exit(main())
