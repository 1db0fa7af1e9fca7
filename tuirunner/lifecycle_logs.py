"""A process's log file as its lifecycle sees it: opened at its spawn, and heard from in the
writer's thread — an error (it cannot be written; tried again) or a note (it is someone else's
file: appended to, never rotated) becomes the process's state and a notice, and is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from tuirunner.events import Notice, NoticeKind
from tuirunner.logfile import RETRY, LogWriter

if TYPE_CHECKING:
    from tuirunner.lifecycle import ManagedProcess
    from tuirunner.supervisor import Supervisor

log = logging.getLogger("tuirunner.lifecycle")


class LogFiles:
    """The log-file part of :class:`~tuirunner.lifecycle.Lifecycle`."""

    sup: Supervisor
    logs: LogWriter | None
    _loop: asyncio.AbstractEventLoop | None

    info_changed: Callable[[ManagedProcess], None]  # Lifecycle's

    def log_error(self, proc: ManagedProcess, message: str | None) -> None:
        """Writing its log file failed (*message* says why) or works again (None); called in
        the writer's thread. Part of the process's state (``ps``, the pane), and logged."""
        if self._loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody to tell
            self._loop.call_soon_threadsafe(self._log_error, proc, message)

    def _log_error(self, proc: ManagedProcess, message: str | None) -> None:
        if message == proc.log_error:
            return
        was, proc.log_error = proc.log_error, message
        if message is not None:
            log.warning("%s: log file: %s (tried again every %g s)", proc.name, message, RETRY)
            self.sup._emit(Notice(proc, f"{proc.name}: {message}", NoticeKind.ERROR))
        else:
            log.info("%s: log file written again (%s)", proc.name, was)
            self.sup._emit(Notice(proc, f"{proc.name}: log file written again", NoticeKind.INFO))
        self.info_changed(proc)

    def log_note(self, proc: ManagedProcess, message: str) -> None:
        """Its log file is someone else's: appended to, not rotated (writer's thread)."""
        if self._loop is None:
            return
        log.warning("%s: %s", proc.name, message)
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(
                self.sup._emit, Notice(proc, f"{proc.name}: {message}", NoticeKind.INFO)
            )

    def open_log(self, proc: ManagedProcess) -> None:
        ps = proc.settings
        if ps.log_file is None or proc.log is not None:
            return
        if self.logs is None:
            self.logs = LogWriter()
            self._loop = asyncio.get_running_loop()
        siblings = len(self.sup.policy.by_type[proc.type])
        proc.log = self.logs.open(
            self.sup.app_root / ps.log_file,
            ps.log_max_bytes,
            ps.log_backups,
            prefix=f"{proc.name} | " if siblings > 1 else "",
            on_error=lambda message: self.log_error(proc, message),
            on_note=lambda message: self.log_note(proc, message),
        )
