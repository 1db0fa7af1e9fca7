"""Run the window and the keeper without docstrings (``python -OO``) where that is cheap.

Every module a process imports keeps its docstrings in memory with its code: Textual's, rich's,
asyncio's and ours. Under ``-OO`` Python loads the ``.opt-2.pyc`` bytecode instead, which has
none (and no ``assert`` statements, which nothing in a run relies on): the window is ~1.8 MB
smaller and the keeper ~0.8 MB (bench/README.md). But ``pip install`` writes only the ordinary
bytecode, and where the optimized one is missing, ``-OO`` compiles the sources: on every start
where Python may not write it (a distribution's standard library), or ~0.5 s more on the first.

So a run asks for ``-OO`` only where the optimized bytecode of what the process imports is there
and up to date (:func:`optimized`, a few ``stat`` calls and 16-byte reads): the keeper in its
command line (:mod:`tuirunner.launch`), the window by executing itself again before it imports
anything else (:mod:`tuirunner.entry`, ~10 ms). Where it is missing and Python may write it, the
keeper writes it for the next run, in the background once its processes have started, at the
lowest priority (:class:`tuirunner.warmup.WarmUp` runs :data:`WARM_UP`, ``python -OO -m
tuirunner.bytecode``, which imports what the keeper and the window import).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable
from importlib.util import MAGIC_NUMBER, cache_from_source, find_spec

# A module of each part of what the process imports: if these are compiled, the rest was too
# (the warm-up compiles it all at once, and a package's upgrade makes its module stale).
KEEPER = (
    "asyncio.base_events",
    "tuirunner.keeper",
    "tuirunner.supervisor",
    "msgspec",
    "psutil",
    "dotenv.main",
)
WINDOW = (
    "asyncio.base_events",
    "tuirunner.cli",
    "tuirunner.tui.app",
    "textual.app",
    "textual.widget",
    "rich.console",
    "msgspec",
)
# What the warm-up imports: the keeper's and the window's modules (as their entry points do).
WARM_UP_IMPORTS = ("tuirunner.keeper", "tuirunner.cli", "tuirunner.commands", "tuirunner.tui.app")
WARM_UP = [sys.executable, "-OO", "-m", "tuirunner.bytecode"]
WARM_UP_DELAY = 5.0  # s after the keeper is ready: not while the processes start
FLAGS = ("-OO",)


def flags(modules: Iterable[str]) -> list[str]:
    """The interpreter's options for a process that imports *modules*."""
    return list(FLAGS) if optimized(modules) else []


def optimized(modules: Iterable[str]) -> bool:
    """Whether the ``-OO`` bytecode of every module is there and matches its source."""
    for name in modules:
        source = _source(name)
        if source is None or not _current(source, cache_from_source(source, optimization=2)):
            return False
    return True


def warm_up_needed(modules: Iterable[str] = (*KEEPER, *WINDOW)) -> bool:
    """Whether the ``-OO`` bytecode is missing where Python may write it."""
    if sys.dont_write_bytecode:
        return False
    missing = False
    for name in modules:
        source = _source(name)
        if source is None:
            return False
        cached = cache_from_source(source, optimization=2)
        if not _current(source, cached):
            if not _may_write(os.path.dirname(cached)):
                return False
            missing = True
    return missing


def _source(name: str) -> str | None:
    """The source file of module *name*, found without importing it or its package."""
    top, _, rest = name.partition(".")
    spec = find_spec(top)  # (a top-level name: nothing is imported)
    if spec is None or not spec.submodule_search_locations:
        return None
    base = os.path.join(spec.submodule_search_locations[0], *rest.split(".") if rest else ())
    for path in (base + ".py", os.path.join(base, "__init__.py")):
        if os.path.isfile(path):
            return path
    return None


def _current(source: str, cached: str) -> bool:
    """Whether *cached* is bytecode Python would load for *source* (PEP 552's header: magic
    number, flags, then the source's modification time and size, or a hash)."""
    try:
        with open(cached, "rb") as f:
            header = f.read(16)
        stat = os.stat(source)
    except OSError:
        return False
    if len(header) < 16 or header[:4] != MAGIC_NUMBER:
        return False
    if int.from_bytes(header[4:8], "little") != 0:
        return True  # hash-based: checked (or not) by Python itself
    mtime = int.from_bytes(header[8:12], "little")
    size = int.from_bytes(header[12:16], "little")
    return mtime == int(stat.st_mtime) & 0xFFFFFFFF and size == stat.st_size & 0xFFFFFFFF


def _may_write(directory: str) -> bool:
    """Whether Python could write a file in *directory* (or create it)."""
    while not os.path.isdir(directory):
        parent = os.path.dirname(directory)
        if parent == directory:
            return False
        directory = parent
    return os.access(directory, os.W_OK | os.X_OK)


def main() -> None:
    """The warm-up: import what the keeper and the window import, which under ``-OO`` writes
    their optimized bytecode. At the lowest priority: a run is going on."""
    os.nice(19)
    import pkgutil

    from tuirunner.lean_imports import import_shutil_without_archivers, import_without_openssl

    import_shutil_without_archivers()
    import_without_openssl()
    # By name: this program compiles them; it uses none (see the import contracts). All of
    # the UI's modules, with those it imports only once a key asks (its screens and dialogs).
    for module in WARM_UP_IMPORTS:
        importlib.import_module(module)
    for module in importlib.import_module("tuirunner.tui.preload").MODULES:
        importlib.import_module(module)
    tui = importlib.import_module("tuirunner.tui")
    for found in pkgutil.walk_packages(tui.__path__, "tuirunner.tui."):
        importlib.import_module(found.name)


if __name__ == "__main__":
    main()
