"""heap.give_back: the heap's free pages go back to the system (glibc, Linux)."""

import platform
import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent(
    """
    import resource
    from tuirunner.heap import give_back

    def rss_kb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() // 1024

    blocks = [bytes(1500) for _ in range(20_000)]  # ~30 MB of malloc's heap (not pymalloc's)
    keep = bytes(1500)  # above them: the freed ones are not at the heap's top
    del blocks
    before = rss_kb()
    give_back()
    print(before - rss_kb())
    """
)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc_trim")
def test_the_pages_a_start_freed_leave_the_rss():
    freed = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    ).stdout
    assert int(freed) > 10_000  # kB, of ~30 MB freed in the middle of the heap
