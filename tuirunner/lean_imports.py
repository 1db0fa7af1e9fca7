"""Keep OpenSSL, bzip2 and xz out of the processes of a run, which use none of them.

``asyncio`` imports ``ssl`` whether or not a program uses it, and ``hashlib`` and ``hmac`` import
``_hashlib``; either loads OpenSSL's libraries, ~4.5 MB of memory in every process that imports
them (the window and the keeper both did, for the life of a run) and ~7 ms of its start.
Both packages are written for a Python built without OpenSSL: a missing ``ssl`` leaves asyncio
without TLS, a missing ``_hashlib`` gives hashlib and hmac CPython's built-in implementations.

Likewise ``shutil`` imports ``bz2`` and ``lzma`` (and with them libbz2 and liblzma), ~0.35 MB a
process, for its archive functions alone (``make_archive``, ``unpack_archive``), which nothing in
a run calls; a missing one only takes its formats off those functions' lists. A run's processes
need ``shutil`` itself (``which``, ``get_terminal_size``), ``tempfile`` imports it, and so does
python-dotenv's.

:func:`import_without_openssl` and :func:`import_shutil_without_archivers` import them that way,
by marking those modules as unavailable (``None`` in :data:`sys.modules`, which the import system
documents as "not importable") only while these are imported, and forgetting that mark
afterwards. A later ``import ssl`` (or ``import lzma``) loads it as usual: an ``https`` ready
check does (:mod:`tuirunner.readiness`, which then speaks TLS in a thread, not through asyncio).
Only a process's entry point calls them, before anything else imports these:
:func:`tuirunner.cli.main` (shutil first of all, since argparse imports it to build the parser;
for ``start``, hashlib and hmac only: ``cmd_start`` imports asyncio once the keeper is on its
way), and the keeper's ``__main__``. In a process that already has them, they change nothing.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable

OPENSSL_MODULES = ("ssl", "_ssl", "_hashlib")
ARCHIVE_MODULES = ("bz2", "lzma")  # shutil's .tar.bz2 and .tar.xz


def import_without_openssl(*, asyncio: bool = True) -> None:
    """Import hashlib, hmac and (if *asyncio*) asyncio with OpenSSL's modules unavailable,
    unless they are loaded already."""
    modules = ("hashlib", "hmac", "asyncio") if asyncio else ("hashlib", "hmac")
    _import_without(modules, OPENSSL_MODULES)


def import_shutil_without_archivers() -> None:
    """Import shutil with bz2 and lzma unavailable, unless it is loaded already."""
    _import_without(("shutil",), ARCHIVE_MODULES)


def _import_without(modules: Iterable[str], unavailable: Iterable[str]) -> None:
    marked = [name for name in unavailable if name not in sys.modules]
    for name in marked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        for module in modules:
            importlib.import_module(module)
    finally:
        for name in marked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
