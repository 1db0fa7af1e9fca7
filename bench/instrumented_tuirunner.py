"""tuirunner with timers around its hot spots, for bench/throughput.py --instrument.

    python bench/instrumented_tuirunner.py [tuirunner arguments]

Runs tuirunner's own ``main()`` (no code of it is changed) after wrapping, at run time:

- ``Supervisor._on_readable``: one call per read of a child's terminal (start, duration, bytes);
- ``Screen._on_timer_update``: Textual's screen update, i.e. one rendered frame (start, duration);
- ``TuirunnerApp._flush``: the 30 Hz sync of the output views (start, duration).

At exit the records go, as JSON, to the file named by ``$TUIRUNNER_BENCH_STATS``. Times are
``time.monotonic()`` (system-wide), so the benchmark can keep only those inside the flood.
Its figures are for understanding where the time goes; it is slower than plain tuirunner (a little)
and uses more memory (the records), so the throughput figures come from uninstrumented runs.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import time
from array import array


def install(path: str) -> None:
    from textual.screen import Screen

    from tuirunner.supervisor import Supervisor
    from tuirunner.tui.app import TuirunnerApp

    clock = time.monotonic
    reads = array("d")  # start, duration, bytes (flattened)
    frames = array("d")  # start, duration
    flushes = array("d")  # start, duration

    on_readable = Supervisor._on_readable

    def timed_on_readable(self, proc):
        before = proc.buffer.bytes_in
        t = clock()
        on_readable(self, proc)
        reads.extend((t, clock() - t, proc.buffer.bytes_in - before))

    on_timer_update = Screen._on_timer_update

    def timed_on_timer_update(self):
        t = clock()
        on_timer_update(self)
        frames.extend((t, clock() - t))

    flush = TuirunnerApp._flush

    def timed_flush(self):
        t = clock()
        flush(self)
        flushes.extend((t, clock() - t))

    Supervisor._on_readable = timed_on_readable
    Screen._on_timer_update = timed_on_timer_update
    TuirunnerApp._flush = timed_flush

    def dump() -> None:
        with open(path, "w") as f:
            json.dump({"reads": list(reads), "frames": list(frames), "flushes": list(flushes)}, f)

    atexit.register(dump)


def main() -> int:
    path = os.environ.get("TUIRUNNER_BENCH_STATS")
    if path:
        install(path)
    from tuirunner.cli import main as tuirunner_main

    sys.argv[0] = "tuirunner"
    return tuirunner_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
