"""Keep OpenSSL out of the processes of a run, which never speak TLS through asyncio.

``asyncio`` imports ``ssl`` whether or not a program uses it, and ``hashlib`` and ``hmac`` import
``_hashlib``; either loads OpenSSL's libraries, ~4.5 MB of memory in every process that imports
them (the window and the keeper both did, for the life of a run) and ~7 ms of its start.
Both packages are written for a Python built without OpenSSL: a missing ``ssl`` leaves asyncio
without TLS, a missing ``_hashlib`` gives hashlib and hmac CPython's built-in implementations.

:func:`import_without_openssl` imports them that way, by marking the OpenSSL modules as
unavailable (``None`` in :data:`sys.modules`, which the import system documents as "not
importable") only while they are imported, and forgetting that mark afterwards. A later
``import ssl`` loads it as usual: an ``https`` ready check does (:mod:`tuirunner.readiness`,
which then speaks TLS in a thread, not through asyncio). Only a process's entry point calls it,
before anything else imports these: :func:`tuirunner.cli.main` (for ``start``, hashlib and hmac
only: ``cmd_start`` imports asyncio once the keeper is on its way), and the keeper's
``__main__``. In a process that already has them, it changes nothing.
"""

from __future__ import annotations

import importlib
import sys

OPENSSL_MODULES = ("ssl", "_ssl", "_hashlib")


def import_without_openssl(*, asyncio: bool = True) -> None:
    """Import hashlib, hmac and (if *asyncio*) asyncio with OpenSSL's modules unavailable,
    unless they are loaded already."""
    modules = ("hashlib", "hmac", "asyncio") if asyncio else ("hashlib", "hmac")
    marked = [name for name in OPENSSL_MODULES if name not in sys.modules]
    for name in marked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        for module in modules:
            importlib.import_module(module)
    finally:
        for name in marked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
