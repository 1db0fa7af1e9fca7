"""Giving back to the system the memory a start freed.

Importing and starting leave garbage behind (the bytecode read, the parser's and the first
frame's temporaries). Python frees it, but glibc's malloc keeps the freed pages of its heap for
later allocations: resident, counted in the RSS. ``malloc_trim(0)`` returns them, once the start
is over: ~0.3 MB of the terminal UI, ~0.1 MB of the keeper (bench/README.md). Elsewhere (macOS's
malloc, musl's), nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys

AFTER_START = 2.0  # seconds after the start: its garbage is freed, the first frames are drawn


def give_back() -> None:
    """Return the heap's free pages to the system (glibc); the next allocations take new ones."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # (not glibc: no malloc_trim)
            ctypes.CDLL(None).malloc_trim(0)
