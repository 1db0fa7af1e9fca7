"""Memory of the output buffer's lines, with the arrival times (issue 18) and without (A/B).

    python bench/line_memory.py [--lines 1000000] [--base /work/main] [--repeat 3]

Feeds the same 1M lines of ~50 characters (as bench/child.py prints them, in 4 KiB reads) into
an ``OutputBuffer(maxlen=lines)`` of this tree and of *base*'s ``tuirunner/output.py`` (another
checkout: main), alternately in fresh subprocesses, and prints the memory the buffer holds
(tracemalloc) and the ratio. Target: <= 1.10.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CHILD = r"""
import importlib.util, json, sys, tracemalloc
spec = importlib.util.spec_from_file_location("output_under_test", sys.argv[1])
sys.path.insert(0, sys.argv[3])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
lines = int(sys.argv[2])
data = b"".join(b"%08d \x1b[32mINFO\x1b[0m GET /api/items/%08d 200 12ms\r\n" % (i, i)
                for i in range(lines))
tracemalloc.start()
before = tracemalloc.get_traced_memory()[0]
buf = module.OutputBuffer(maxlen=lines, max_bytes=1 << 40)
for at in range(0, len(data), 4096):
    buf.feed(data[at:at + 4096])
after = tracemalloc.get_traced_memory()[0]
assert buf.total == lines, buf.total
print(json.dumps({"bytes": after - before}))
"""


def measure(output_py: Path, root: Path, lines: int) -> int:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(output_py), str(lines), str(root)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)["bytes"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--base", default="/work/main", help="the checkout to compare with")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    base = Path(args.base)
    ours, theirs = [], []
    for _ in range(args.repeat):
        theirs.append(measure(base / "tuirunner/output.py", base, args.lines))
        ours.append(measure(REPO / "tuirunner/output.py", REPO, args.lines))
    a, b = statistics.median(theirs), statistics.median(ours)
    mb = 1 << 20
    print(f"{args.lines:,} lines: base {a / mb:.1f} MB, with times {b / mb:.1f} MB")
    print(f"ratio {b / a:.3f} (target <= 1.10): {'PASS' if b / a <= 1.10 else 'MISS'}")
    print(f"per line: base {a / args.lines:.1f} B, with times {b / args.lines:.1f} B")
    return 0


if __name__ == "__main__":
    sys.exit(main())
