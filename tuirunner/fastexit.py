"""Leave a process the moment its work is done, without the interpreter's teardown.

At exit, CPython frees every object of every module one by one; in the window (Textual, its
widgets, the output kept for the panes) that took ~100 ms on our 2-core machine, and ~60 ms in
the keeper, after the last child was gone and the terminal restored: time a user waits for the
prompt. :func:`exit_now` does what a normal exit does that matters (non-daemon threads joined,
``atexit`` functions run, logging flushed, the standard streams flushed) and then ``_exit``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from collections.abc import Callable
from typing import NoReturn


def exit_code(code: object) -> int:
    """The status ``sys.exit(code)`` would give (a message is printed, as it would be)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    with contextlib.suppress(Exception):
        print(code, file=sys.stderr)
    return 1


def exit_now(code: object = 0) -> NoReturn:
    current = threading.current_thread()
    for thread in threading.enumerate():
        if thread is not current and not thread.daemon and thread.is_alive():
            thread.join()
    status = exit_code(code)
    atexit._run_exitfuncs()  # logging.shutdown() and whatever else was registered
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            if stream is not None:
                stream.flush()
    os._exit(status)


def run_then_exit(main: Callable[[], object]) -> NoReturn:
    """``sys.exit(main())``, then :func:`exit_now`. A closed standard output (``tuirunner env |
    head -1``: the reader has gone) ends it quietly as it ends ``cat``: status 141, no
    traceback."""
    try:
        code = main()
    except SystemExit as exc:
        code = exc.code
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # (what is buffered)
        code = 128 + 13  # SIGPIPE's number: the status a shell gives a process it killed
    exit_now(code)
