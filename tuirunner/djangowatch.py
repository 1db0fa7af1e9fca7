"""The keeper's eye on Django (issue 20): marks a process whose runserver reports unapplied
migrations (``ProcessInfo.migrations``), clears the mark once a process that runs ``migrate``
completes (or runserver ends, or checks again without the message), applies them on request
(:meth:`DjangoWatch.migrate_plan`), and with ``makemigrations_check = true`` runs ``makemigrations
--check --dry-run`` when runserver reloads for a ``models.py`` change.

It is a listener of the supervisor's events; what to read in the output is
:mod:`tuirunner.migrations` (pure, tested on real runserver output)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tuirunner import migrations
from tuirunner.events import Event, ProcessOutput, State, StateChanged
from tuirunner.spawn import spawn_plain

if TYPE_CHECKING:
    from tuirunner.supervisor import ManagedProcess, Supervisor

_RUNS = (State.STARTING, State.RUNNING)  # started, ready or not
log = logging.getLogger(__name__)

CHECK_TIMEOUT = 120.0  # seconds for makemigrations --check --dry-run
MIGRATE_PROCESS = "migrate"  # the name of the process added to run migrate (no release)


def is_django(proc: ManagedProcess) -> bool:
    return "manage.py" in proc.command or "runserver" in proc.command


@dataclass(frozen=True)
class MigratePlan:
    """How to apply the migrations: restart *release* (its instances' names), or add a
    process *name* running *command*."""

    release: tuple[str, ...] = ()
    name: str = MIGRATE_PROCESS
    command: str = ""


class DjangoWatch:
    def __init__(self, sup: Supervisor):
        self.sup = sup
        self.detectors: dict[str, migrations.MigrationDetector] = {}
        self.no_migration: dict[str, str] = {}  # process → "models changed, no migration (…)"
        self._checking: set[str] = set()
        self._tasks: set[asyncio.Task] = set()

    # --- events --------------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        if isinstance(event, ProcessOutput):
            proc = event.process
            if event.lines and is_django(proc):
                self._output(proc, event.lines)
        elif isinstance(event, StateChanged):
            self._state(event.process, event.old, event.new)

    def _detector(self, proc: ManagedProcess) -> migrations.MigrationDetector:
        found = self.detectors.get(proc.name)
        if found is None:
            found = self.detectors[proc.name] = migrations.MigrationDetector()
        return found

    def _output(self, proc: ManagedProcess, lines: list[str]) -> None:
        detector = self._detector(proc)
        if detector.feed(lines):
            self._show(proc)
        if detector.take_models_changed() and self.sup.settings.makemigrations_check:
            self.check_models(proc)

    def _state(self, proc: ManagedProcess, old: State, new: State) -> None:
        if new.alive:
            checking = self.sup.settings.makemigrations_check
            started = old not in _RUNS and new in _RUNS  # a new run: a restart's too
            if checking and started and "runserver" in proc.command:
                self.check_models(proc)
            return
        detector = self.detectors.get(proc.name)
        if detector is not None and detector.reset():
            self._show(proc)
        if (
            new is State.EXITED
            and proc.exit is not None
            and proc.exit.success
            and migrations.runs_migrate(proc.command)
        ):
            self.migrated()

    def migrated(self) -> None:
        """A migrate completed: nothing is pending any more."""
        for name, detector in self.detectors.items():
            if detector.pending is not None:
                detector.pending = None
                self._show(self.sup.get(name))

    def _show(self, proc: ManagedProcess) -> None:
        detector = self.detectors.get(proc.name)
        pending = detector.pending if detector is not None else None
        # both at once is common: a fresh project's runserver reports the built-in apps'
        # unapplied migrations while the check finds a model without one
        notes = (
            pending.describe() if pending is not None else None,
            self.no_migration.get(proc.name),
        )
        text = "; ".join(n for n in notes if n) or None
        if text != proc.migrations:
            proc.migrations = text
            self.sup.life.info_changed(proc)

    # --- applying ------------------------------------------------------------------------------

    def pending(self) -> list[ManagedProcess]:
        return [p for p in self.sup.processes if p.migrations and self._pending_of(p)]

    def _pending_of(self, proc: ManagedProcess) -> bool:
        detector = self.detectors.get(proc.name)
        return detector is not None and detector.pending is not None

    def migrate_plan(self, name: str | None = None) -> MigratePlan:
        """The project's ``release`` oneshot when it runs migrate (or is called release);
        else ``migrate`` of the manage.py that process *name* (or a Django process) runs."""
        oneshots = [p for p in self.sup.processes if p.oneshot]
        release = [p for p in oneshots if migrations.runs_migrate(p.command)] or [
            p for p in oneshots if p.type == "release"
        ]
        if release:
            first = release[0].type
            return MigratePlan(release=tuple(p.name for p in release if p.type == first))
        source = None
        if name is not None:
            source = self.sup.get(name)
        else:
            source = next(iter(self.pending()), None) or next(
                (p for p in self.sup.processes if is_django(p)), None
            )
        ran = source.command if source else ""
        if migrations.manage_py(ran) is None and not os.path.isfile(
            os.path.join(self.sup.app_root, "manage.py")
        ):
            raise ValueError(
                "no process of this run runs a manage.py, and the app root has none: "
                "there are no Django migrations to apply here"
            )
        return MigratePlan(command=migrations.migrate_command(ran))

    # --- makemigrations --check --------------------------------------------------------------

    def check_models(self, proc: ManagedProcess) -> None:
        if proc.name in self._checking:
            return
        self._checking.add(proc.name)
        task = asyncio.get_running_loop().create_task(self._check(proc))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _check(self, proc: ManagedProcess) -> None:
        try:
            apps = await self._makemigrations_check(proc)
        except Exception:  # a check that cannot run must not disturb the run
            log.exception("makemigrations --check failed for %s", proc.name)
            return
        finally:
            self._checking.discard(proc.name)
        if apps is None:
            return
        if apps:
            self.no_migration[proc.name] = migrations.no_migration_note(apps)
        else:
            self.no_migration.pop(proc.name, None)
        self._show(proc)

    async def _makemigrations_check(self, proc: ManagedProcess) -> list[str] | None:
        """The apps with model changes and no migration ([] if none), None if unknown."""
        command = migrations.makemigrations_check_command(proc.command)
        env = self.sup.environment_for(proc).as_dict()
        with tempfile.TemporaryFile() as out:
            pid = spawn_plain(
                [self.sup.shell, "-c", command], env, self.sup.app_root, log=out.fileno()
            )
            exited = self.sup.reaper.wait(pid)
            try:
                returncode = await asyncio.wait_for(asyncio.shield(exited), CHECK_TIMEOUT)
            except TimeoutError:
                with contextlib.suppress(OSError):
                    os.killpg(pid, 9)
                return None
            out.seek(0)
            text = out.read(1024 * 1024).decode("utf-8", "replace")
        if returncode == 0:
            return []
        apps = migrations.makemigrations_apps(text)
        return apps or None  # an error, not a model change
