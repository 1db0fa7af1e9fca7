"""The set of processes of a run, changed while it runs (in the keeper).

- **Added by hand** (:class:`~tuirunner.protocol.Add`, ``tuirunner add NAME -- COMMAND``, the
  UI's ``a``): a process of a type of its own, with the run's environment and a port after the
  Procfile's blocks, a pane, restarts, and :class:`~tuirunner.protocol.Remove` (``x``). It is
  gone with the run: nothing is written to a file.
- **The Procfile and the settings reloaded** when they change (the keeper watches them as it
  watches env files): a valid edit is applied at once where that touches no running process —
  new types join the run (started unless ``autostart = false``), removed ones are stopped and
  leave it, a process that is not running takes its new command and policy — while a running
  process whose command, port or policy changed keeps them until it is restarted (``u``, or
  ``r``): its snapshot says so (``stale_settings``). An edit of a process's ``env`` changes the
  environment, announced as an env file's edit is. An invalid edit changes nothing and is
  reported (:class:`~tuirunner.protocol.SettingsChanged`, and ``ps``) until it is fixed.

Clients hear of a process joining or leaving by :class:`~tuirunner.protocol.Added` and
:class:`~tuirunner.protocol.Removed` (the processes after a removed one move down by one; each
session's bookkeeping of indexes moves with them).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

import msgspec

from tuirunner.errors import UserError
from tuirunner.events import InfoChanged, Notice, NoticeKind, State
from tuirunner.guard import note_longest_stop
from tuirunner.lifecycle import ManagedProcess
from tuirunner.procfile import MAX_PORT, PORT_STEP, Instance, ProcessType
from tuirunner.project import load_project
from tuirunner.protocol import Added, Removed, SettingsChanged, encode
from tuirunner.settings import LOCAL_FILE, PYPROJECT, SETTINGS_FILE, ProcessSettings
from tuirunner.watching import Stamp, stamps

if TYPE_CHECKING:
    from tuirunner.keeper import Keeper
    from tuirunner.project import Project
    from tuirunner.supervisor import Supervisor

log = logging.getLogger(__name__)

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
MAX_COMMAND = 64 * 1024


class Reshape:
    """What changes the processes of *keeper*'s run (see the module docstring)."""

    def __init__(self, keeper: Keeper, project: Project) -> None:
        self.keeper = keeper
        self.project = project
        self.added: set[str] = set()  # types added by hand
        self.error: str | None = None  # why the last edit of the files was not applied
        self.watcher: asyncio.Task | None = None  # the keeper's file watcher
        self._reloading: asyncio.Task | None = None
        self._reload_again = False

    @property
    def sup(self) -> Supervisor:
        assert self.keeper.supervisor is not None
        return self.keeper.supervisor

    # --- membership ---------------------------------------------------------------------------

    def new(self, instance: Instance, settings: ProcessSettings) -> ManagedProcess:
        sup = self.sup
        return ManagedProcess(instance, sup.scrollback, self.keeper.window, settings)  # type: ignore[arg-type]

    def register(self, proc: ManagedProcess) -> ManagedProcess:
        """*proc* joins the run (last); the clients hear of it."""
        sup = self.sup
        sup.processes.append(proc)  # in place: the terminator holds the same list
        sup._by_name[proc.name] = proc
        sup.index[proc] = len(sup.processes) - 1
        sup.policy.members.append(proc)
        sup.policy.by_type.setdefault(proc.type, []).append(proc)
        index = sup.index[proc]
        frame = encode(Added(p=index, info=proc.snapshot()))
        for session in list(self.keeper.sessions):
            if not session.hello:
                continue
            if session.follows_all:
                session.indexes.add(index)
                session.sent_total[index] = 0
            session.send(frame)
        return proc

    def unregister(self, proc: ManagedProcess) -> None:
        """*proc* (stopped) leaves the run; the clients hear of it."""
        sup = self.sup
        index = sup.index[proc]
        sup.processes.remove(proc)
        del sup._by_name[proc.name]
        sup.index.clear()
        sup.index.update({p: i for i, p in enumerate(sup.processes)})
        sup.policy.members.remove(proc)
        siblings = sup.policy.by_type.get(proc.type, [])
        if proc in siblings:
            siblings.remove(proc)
        if not siblings:
            sup.policy.by_type.pop(proc.type, None)

        def moved(i: int) -> int:
            return i if i < index else i - 1

        frame = encode(Removed(p=index))
        for session in list(self.keeper.sessions):
            session.indexes = {moved(i) for i in session.indexes if i != index}
            session.dropped = {moved(i) for i in session.dropped if i != index}
            session.sent_total = {moved(i): t for i, t in session.sent_total.items() if i != index}
            if session.hello:
                session.send(frame)

    # --- added by hand ------------------------------------------------------------------------

    def next_port(self) -> tuple[int, int]:
        """(position, port) for a type added by hand: the next free block of PORT_STEP ports
        after the Procfile's and the other added types'."""
        base = self.project.base_port
        taken = [p.instance.type.index for p in self.sup.processes]
        position = max([len(self.project.procfile().types) - 1, *taken]) + 1
        port = base + PORT_STEP * position
        if port > MAX_PORT:
            raise ValueError(f"no port left for another process (it would get {port})")
        return position, port

    async def add(self, name: str, command: str, start: bool = True) -> ManagedProcess:
        sup = self.sup
        if sup.shutting_down:
            raise ValueError("the run is ending")
        if not _NAME.fullmatch(name):
            raise ValueError(f"invalid process name {name!r} (letters, digits, '_' and '-' only)")
        types = {p.type for p in sup.processes}
        if name in types or name in sup.settings.groups:
            raise ValueError(f"{name!r} is already a process or group of this run")
        if not command.strip() or "\0" in command or len(command) > MAX_COMMAND:
            raise ValueError("the command is empty, too long, or has a NUL character")
        position, port = self.next_port()
        instance = Instance(ProcessType(name, command, position, 0), 1, port)
        proc = self.new(instance, ProcessSettings())
        proc.added = True
        proc.on_demand = not start  # --no-start: "not started", as autostart = false (R too)
        self.register(proc)
        self.added.add(name)
        sup.life.runner_line(proc, f"\x1b[2m── {name} added: {command} ──\x1b[0m")
        if start:
            await sup.start(proc.name)
        return proc

    async def remove(self, name: str) -> list[str]:
        sup = self.sup
        chosen = sup.select([name])
        kept = [p.name for p in chosen if p.type not in self.added]
        if kept:
            raise ValueError(
                f"{', '.join(kept)} is in the Procfile: stop it (s, tuirunner stop), or take "
                "it out of the Procfile"
            )
        await self.drop(chosen)
        for type_name in {p.type for p in chosen}:
            if type_name not in sup.policy.by_type:
                self.added.discard(type_name)
        return [p.name for p in chosen]

    async def drop(self, procs: list[ManagedProcess]) -> None:
        """Stop *procs* (together: dependents first), then take them out of the run."""
        sup = self.sup
        await asyncio.gather(*(sup.stop(p.name) for p in procs))
        for proc in procs:
            if proc in sup.index:
                self.unregister(proc)

    # --- the Procfile and the settings reloaded ---------------------------------------------

    @staticmethod
    def files_of(project: Project) -> list[str]:
        """The files a reload reads: the Procfile and the settings (and the override file),
        and those that would hold settings if created."""
        settings = project.settings
        files = [project.procfile_path]
        for path in (settings.path, settings.local):
            if path is not None:
                files.append(path)
        root = project.app_root
        for name in (PYPROJECT, SETTINGS_FILE, LOCAL_FILE):
            files.append(root / name)
        return [str(f) for f in dict.fromkeys(files)]

    @classmethod
    def stamps(cls, project: Project) -> dict[str, Stamp]:
        """The stamps of what the watcher looks at, as loaded: env files and :meth:`files_of`."""
        return stamps([*project.env_source.watched_files(), *cls.files_of(project)])

    def watch_options(self, project: Project) -> dict[str, Any]:
        """What :class:`~tuirunner.watching.FileWatch` needs to reload the files."""
        return {"config_files": self.files_of(project), "on_config": self.config_changed}

    def config_changed(self) -> None:
        """The Procfile or a settings file changed: reload them (one reload at a time)."""
        if self._reloading is not None and not self._reloading.done():
            self._reload_again = True
            return
        self._reloading = asyncio.get_running_loop().create_task(self._reload())

    async def _reload(self) -> None:
        try:
            while True:
                self._reload_again = False
                if self.keeper.stopping:
                    return
                await self.reload()
                if not self._reload_again:
                    return
        except Exception:  # a bug must not take the keeper down
            log.exception("reloading the settings failed")

    def restart_watching(self, project: Project) -> None:
        """After a reload: watch what the new settings say, and take their environment."""
        keeper = self.keeper
        keeper.procfile = str(project.procfile_path)
        keeper.reload_environment(project.env_source)
        if self.watcher is not None:
            self.watcher.cancel()
        watching = keeper.watch_files(project, self.stamps(project))
        self.watcher = asyncio.get_running_loop().create_task(watching)

    async def reload(self) -> None:
        keeper = self.keeper
        try:
            project = load_project(keeper.options)
            procfile = project.procfile()
            instances = project.validate_run()
            settings = project.run_settings(procfile)
        except UserError as exc:
            self.report(str(exc))
            return
        self.project = project
        sup = self.sup
        sup.settings = settings
        sup.policy.settings = settings
        wanted = {i.name: i for i in instances}
        summary: list[str] = []
        adopted = sorted(self.added & {i.type.name for i in instances})
        if adopted:  # added by hand, now in the Procfile too: the Procfile's from now on
            self.added.difference_update(adopted)
            for proc in sup.processes:
                if proc.type in adopted:
                    proc.added = False
            summary.append(f"{', '.join(adopted)} now in the Procfile (no longer added)")
        gone = [p for p in sup.processes if p.name not in wanted and p.type not in self.added]
        if gone:
            summary.append(f"removed {', '.join(p.name for p in gone)}")
        stale = []
        for proc in sup.processes:
            instance = wanted.get(proc.name)
            if instance is None or proc in gone:
                continue
            new = settings.process(proc.type)
            what = _differences(proc, instance, new)
            if not what:
                if proc.pending is not None:  # an edit undone before the restart
                    proc.pending = proc.stale_settings = None
                    sup._emit(InfoChanged(proc))
                continue
            if proc.state.alive or proc.busy:
                proc.pending = (instance, new)
                proc.stale_settings = ", ".join(what)
                stale.append(proc.name)
                sup._emit(InfoChanged(proc))
            else:
                proc.take(instance, new)
                sup._emit(InfoChanged(proc))
        new_names = [n for n in wanted if n not in sup._by_name]
        for name in new_names:
            instance = wanted[name]
            self.register(self.new(instance, settings.process(instance.type.name)))
        if new_names:
            summary.append(f"added {', '.join(new_names)}")
        if stale:
            summary.append(
                f"{', '.join(stale)} still run{'s' if len(stale) == 1 else ''} with the old "
                f"settings: press u to restart {', '.join(stale)}"
            )
        await self.drop(gone)
        for name in new_names:
            proc = sup._by_name.get(name)
            if proc is not None:
                sup.life.run(sup.policy.start_all(proc))
        for proc in list(sup.processes):  # what waits may start now (a dependency dropped)
            if proc.state is State.PENDING:
                sup.life.run(sup.policy.reconsider(proc))
        self.error = None
        # The guard stops what the keeper leaves: it waits for the longest stop, maybe new.
        note_longest_stop(str(keeper.paths.stop_timeout), sup.longest_stop)
        self.broadcast(None, "; ".join(summary) or None)
        self.restart_watching(project)

    def report(self, error: str) -> None:
        """An invalid edit: nothing changes; every client hears why (until it is fixed)."""
        if self.error == error:
            return
        self.error = error
        log.warning("not applied: %s", error)
        self.broadcast(error, None)

    def broadcast(self, error: str | None, summary: str | None) -> None:
        groups = {name: list(members) for name, members in self.sup.settings.groups.items()}
        frame = encode(SettingsChanged(error=error, groups=groups, summary=summary))
        for session in list(self.keeper.sessions):
            if session.hello:
                session.send(frame)
        if error is not None:
            message = f"the edit was not applied: {error}"
            self.sup._emit(Notice(None, message, NoticeKind.ERROR))


def _differences(proc: ManagedProcess, instance: Instance, new: ProcessSettings) -> list[str]:
    """What a restart of *proc* would change (its ``env`` is the environment's business)."""
    what = []
    if instance.command != proc.command:
        what.append("command")
    if instance.port != proc.port:
        what.append("port")
    old = proc.settings
    if msgspec.structs.replace(old, env={}) != msgspec.structs.replace(new, env={}):
        fields = [
            f
            for f in ProcessSettings.__struct_fields__
            if f != "env" and getattr(old, f) != getattr(new, f)
        ]
        what += fields
    return what
