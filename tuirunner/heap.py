"""Keeping a long run's memory flat, and giving back what a start freed.

None of this is a leak of ours; each is how glibc's malloc or Python's collector behaves during
a flood, measured in bench/README.md ("The memory over 10M lines"):

- **Large blocks.** glibc serves a block of 128 KiB or more from a mapping of its own, returned
  when the block is freed, until one such block is freed: it then raises that threshold to the
  block's size (up to 32 MB), so that later blocks come from the heap, which keeps their pages
  once they are freed. A flood moves large blocks five times a second (the keeper's copies of a
  buffer's last lines, ~0.7 MB each, and the window's reads of them), and so each process's
  heap grew by ~1.5 MB a while into a flood. :func:`steady_large_blocks` fixes the threshold
  where it starts: a large block costs a map and an unmap, and is never resident once freed.
- **Cycles.** Textual's strips cache themselves (``Strip.adjust_cell_length`` and others), so
  every frame of a flood leaves reference cycles, which only a full collection frees. Python
  runs one after ten collections of the middle generation, and once a quarter of the old
  objects are new: in a flood, every ~7 s, by when ~40,000 blocks of garbage have made
  Python's allocator take arenas it keeps. :func:`collect_after_start` freezes what the start
  made (the modules, classes and widgets, ~50,000 objects the collector then never walks
  again), so that a full collection walks only what came after (a few milliseconds), and lets
  one run after every collection of the middle generation.
- **The start's garbage.** Importing and starting leave garbage behind (the bytecode read, the
  parser's and the first frame's temporaries). Python frees it, but glibc keeps the freed pages
  of its heap for later allocations. :func:`give_back` returns them (``malloc_trim(0)``).

Elsewhere than glibc (macOS's malloc, musl's) the malloc calls do nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import sys

AFTER_START = 2.0  # seconds after the start: its garbage is freed, the first frames are drawn
LARGE_BLOCK = 128 << 10  # glibc's own threshold for a block of its own mapping, kept fixed
_M_MMAP_THRESHOLD = -3  # mallopt's parameter (malloc.h)


def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None)
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def steady_large_blocks() -> None:
    """From now on, every block of LARGE_BLOCK or more has a mapping of its own, unmapped when
    it is freed (glibc; see the module docstring). First thing in a process that stays."""
    with contextlib.suppress(OSError):
        if (libc := _glibc()) is not None:
            libc.mallopt(_M_MMAP_THRESHOLD, LARGE_BLOCK)


def give_back() -> None:
    """Return the heap's free pages to the system (glibc); the next allocations take new ones."""
    with contextlib.suppress(OSError):
        if (libc := _glibc()) is not None:
            libc.malloc_trim(0)


def collect_after_start() -> None:
    """The collector on again, once the first frame is drawn (the start runs without it: it
    makes few cycles, and the collections would cost ~5 % of it). The start's garbage is freed
    (~8,000 blocks, ~12 ms), what is left of the start frozen out of the collector's walks, and
    a full collection follows each of the middle generation (see the module docstring)."""
    collect_and_freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, 0)
    gc.enable()


def thaw() -> bool:
    """Something the start made is gone for good (a pane removed at run time): frozen, its
    cycles would never be freed. Unfreeze; the caller calls :func:`collect_and_freeze` again
    once it is surely unreferenced. Whether anything was frozen."""
    frozen = gc.get_freeze_count() > 0
    gc.unfreeze()
    return frozen


def collect_and_freeze() -> None:
    """Collect everything (~15 ms), and freeze what is left out of the collector's walks."""
    gc.collect()
    gc.freeze()
    gc.collect()  # walks nothing: the collector's count of old objects is now theirs, none
