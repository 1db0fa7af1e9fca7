"""tuirunner.heap: a long run's memory stays flat (glibc's large blocks, the collector's cycles),
and the pages a start freed go back to the system. Each probe runs in a process of its own: the
malloc and collector settings are the whole process's."""

import gc
import platform
import subprocess
import sys
import textwrap

import pytest

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc")

RSS = textwrap.dedent(
    """
    import resource, sys

    def rss_kb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() // 1024
    """
)


def probe(code: str, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", RSS + textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


GIVE_BACK = """
    from tuirunner.heap import give_back

    blocks = [bytes(1500) for _ in range(20_000)]  # ~30 MB of malloc's heap (not pymalloc's)
    keep = bytes(1500)  # above them: the freed ones are not at the heap's top
    del blocks
    before = rss_kb()
    give_back()
    print(before - rss_kb())
"""


@glibc
def test_the_pages_a_start_freed_leave_the_rss():
    assert int(probe(GIVE_BACK)) > 10_000  # kB, of ~30 MB freed in the middle of the heap


LARGE_BLOCKS = """
    from tuirunner.heap import steady_large_blocks

    if sys.argv[1] == "steady":
        steady_large_blocks()
    big = bytearray(4 << 20)  # freed: glibc would take 4 MB blocks from its heap from now on
    del big
    before = rss_kb()
    frames = [bytearray(700 << 10) for _ in range(8)]  # a flood's large blocks, ~5.6 MB
    del frames
    print(rss_kb() - before)  # what stays resident once they are freed
"""


@glibc
def test_a_floods_large_blocks_do_not_stay_resident_once_freed():
    steady = int(probe(LARGE_BLOCKS, "steady"))
    default = int(probe(LARGE_BLOCKS, "default"))
    assert steady < 1024  # kB: each block was a mapping of its own, gone with it
    assert default > 4096  # glibc's own way: they went to the heap, which keeps the pages


GARBAGE = """
    import collections, gc
    from tuirunner import heap

    gc.disable()  # as the window starts
    start = [[i] for i in range(100_000)]  # what the start keeps: modules, widgets…
    for _ in range(5_000):  # and the garbage it leaves: cycles
        a = []; a.append(a)
    if sys.argv[1] == "ours":
        heap.collect_after_start()
    else:
        gc.enable()
    assert gc.isenabled()

    class Strip:  # like Textual's: a strip caches itself
        alive = 0

        def __init__(self):
            Strip.alive += 1
            self.cache = {"self": self}

        def __del__(self):
            Strip.alive -= 1

    on_screen = collections.deque(maxlen=2_000)  # strips outlive a few young collections
    peak = 0
    for _ in range(200_000):
        on_screen.append(Strip())
        peak = max(peak, Strip.alive)
    print(peak - len(on_screen), gc.get_freeze_count())
"""


@pytest.mark.skipif(
    gc.get_threshold()[2] == 0,  # (3.14.0-3.14.4: two generations, the old one in increments)
    reason="an incremental collector: no third generation to wait for",
)
def test_a_floods_cycles_are_freed_soon_after_the_start():
    ours, frozen = map(int, probe(GARBAGE, "ours").split())
    python, _ = map(int, probe(GARBAGE, "python").split())
    assert frozen >= 100_000  # the start's objects: no full collection walks them again
    assert ours * 4 < python  # the cyclic garbage waiting for a full collection, at its peak
