"""What the terminal UI imports only once it runs, imported while the keeper starts.

``cmd_start`` launches the keeper, imports the app and then waits for the keeper to listen
before the app can run; everything the app imports once it runs (its driver, Textual's driver,
layouts, scrollbars; ~10 ms) is on the way to the first frame after that wait, so it is imported
here, before it (see bench/always_on.py --only launch).
"""

from __future__ import annotations

import contextlib
import importlib

# What App.run imports before the first frame (found by comparing sys.modules before the app
# runs and once the first frame is written; Textual 8).
MODULES = (
    "textual.drivers.linux_driver",
    "textual.drivers._writer_thread",
    "textual._xterm_parser",
    "textual.layouts.factory",
    "textual.layouts.horizontal",
    "textual.layouts.stream",
    "textual.scrollbar",
    "textual.pilot",
    "tuirunner.tui.driver",
)


def preload() -> None:
    """Import :data:`MODULES` (one that is missing is the app's own business later)."""
    for name in MODULES:  # on another platform or Textual, a missing one is the app's business
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
