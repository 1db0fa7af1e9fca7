"""Health checks: a ready process's ``health`` probe, repeated every ``interval`` on the loop.

A probe is one attempt of an ``http``, ``port`` or ``command`` check (:func:`tuirunner.readiness.
attempt`, with the check's own ``timeout``). Probing starts when the process is ready (its ready
check passed), or, without a ready check, as soon as it is started: then failures count only
after a first probe passed (the process may still be starting). Each verdict goes to
*changed(proc, failure)* (None: it passed); counting the failures in a row, telling, and what
follows (:meth:`tuirunner.policy.Policy.unhealthy`: ``autorestart`` decides) are the caller's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from tuirunner.readiness import attempt
from tuirunner.spawn import Reaper

if TYPE_CHECKING:
    from tuirunner.environment import Environment
    from tuirunner.supervisor import ManagedProcess


class Health:
    """The health probes of a run's processes (see the module's docstring)."""

    def __init__(
        self,
        cwd: Path | str,
        shell: str,
        reaper: Callable[[], Reaper],
        environment_for: Callable[[ManagedProcess], Environment],
        changed: Callable[[ManagedProcess, str | None], None],
    ):
        self.cwd = cwd
        self.shell = shell
        self.reaper = reaper
        self.environment_for = environment_for
        self.changed = changed

    def start(self, proc: ManagedProcess) -> None:
        """*proc* is ready (or started, without a ready check): probe it, if it has a check."""
        if proc.settings.health is None:
            return
        self.cancel(proc)
        env = proc.environment or self.environment_for(proc)
        counting = proc.settings.ready is not None  # it passed its ready check already
        proc._health_task = asyncio.get_running_loop().create_task(
            self._probe(proc, env.as_dict(), counting), name=f"health {proc.name}"
        )

    def cancel(self, proc: ManagedProcess) -> None:
        task, proc._health_task = proc._health_task, None
        if task is not None and task is not _current_task():
            task.cancel()

    async def _probe(self, proc: ManagedProcess, env: dict[str, str], counting: bool) -> None:
        check = proc.settings.health
        assert check is not None
        while True:
            await asyncio.sleep(check.interval)
            failure = await attempt(
                check.probe,
                env,
                check.timeout,
                cwd=self.cwd,
                reaper=self.reaper(),
                shell=self.shell,
            )
            if failure is None:
                counting = True
                if proc.health_failures:
                    self.changed(proc, None)
            elif counting:
                self.changed(proc, failure)


def _current_task() -> asyncio.Task | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no loop running (kill_all_now at the very end)
        return None
