"""What a run is: the app root, the Procfile and formation, the env files, and the options.

The command line fills :class:`RunOptions`; the keeper receives the same options (as JSON) and
loads the project again itself, so that both see exactly the same thing, through one path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from tuirunner.environment import (
    EnvFileSpec,
    Environment,
    EnvSource,
    ProcessEnv,
    env_file_specs,
)
from tuirunner.errors import UserError
from tuirunner.limits import check_exec_limits
from tuirunner.options import DEFAULT_TIMEOUT, RunOptions
from tuirunner.output import DEFAULT_SCROLLBACK
from tuirunner.procfile import (
    DEFAULT_BASE_PORT,
    Instance,
    Procfile,
    formation,
    load_procfile,
    parse_concurrency,
)
from tuirunner.settings import Settings, load_settings


@dataclass
class Project:
    """A run's configuration: the options, with the settings filling in what they leave out
    (a flag on the command line wins; ``$PROCFILE`` and ``$PORT`` from the env files or the
    shell win over the settings' ``procfile`` and ``port``)."""

    app_root: Path
    environment: Environment
    procfile_path: Path
    base_port: int
    env_source: EnvSource
    options: RunOptions  # as given; the keeper loads the project again from them
    settings: Settings = field(default_factory=Settings)
    timeout: float = DEFAULT_TIMEOUT
    scrollback: int = DEFAULT_SCROLLBACK
    concurrency: dict[str, int] = field(default_factory=dict)

    def procfile(self) -> Procfile:
        procfile = load_procfile(self.procfile_path)
        self.settings.validate_processes(procfile)  # process names in the settings exist
        return procfile

    def selected(self) -> list[str]:
        """The types named on the command line, a group standing for its members."""
        groups = self.settings.groups
        return [m for name in self.options.processes for m in groups.get(name, (name,))]

    def instances(self, selected: list[str] | None = None) -> list[Instance]:
        """The formation (of the *selected* types, by default those of the options, with what
        they depend on); UserError if it is empty or invalid."""
        procfile = self.procfile()
        selected = self.selected() if selected is None else selected
        instances = formation(
            procfile,
            selected=self.with_dependencies(selected, procfile),
            concurrency=self.concurrency,
            base_port=self.base_port,
            ports=self.settings.fixed_ports(),
        )
        if not instances:
            raise UserError("nothing to start: the concurrency of every selected type is 0")
        return instances

    def autostarted(self, procfile: Procfile | None = None) -> set[str]:
        """The types a run starts by itself: those named on the command line, else those
        without ``autostart = false``; and, either way, what they depend on."""
        procfile = procfile or self.procfile()
        chosen = self.selected() or [
            name for name in procfile.names if self.settings.process(name).autostart
        ]
        return set(self.with_dependencies(chosen, procfile))

    def run_settings(self, procfile: Procfile | None = None) -> Settings:
        """The settings a run is supervised with: a type it does not start by itself (see
        :meth:`autostarted`) has ``autostart = false``."""
        procfile = procfile or self.procfile()
        started = self.autostarted(procfile)
        processes = dict(self.settings.processes)
        for name in procfile.names:
            ps = self.settings.process(name)
            if ps.autostart != (name in started):
                processes[name] = msgspec.structs.replace(ps, autostart=name in started)
        return msgspec.structs.replace(self.settings, processes=processes)

    def run_instances(self) -> list[Instance]:
        """Every instance of the run, started or not (``tuirunner web``: the other types are
        there, not started); what :meth:`validate_run` checks of the selection still holds."""
        selected = self.instances()
        every = self.instances(selected=[])
        return every if len(every) >= len(selected) else selected

    def with_dependencies(self, selected: list[str], procfile: Procfile) -> list[str]:
        """*selected* types and, transitively, the types they depend on (``tuirunner web``
        starts ``release`` too when web depends on it, as ``docker compose up web`` does).
        Nothing selected means every type. A type with concurrency 0 is not started all the
        same, and its dependents do not wait for it."""
        if not selected:
            return selected
        wanted: list[str] = []
        todo = list(selected)
        while todo:
            name = todo.pop(0)
            if name in wanted:
                continue
            wanted.append(name)
            if name in procfile.names:  # unknown names are formation()'s to report
                todo.extend(dep.name for dep in self.settings.dependencies_of(name))
        return wanted

    def validate_run(self) -> list[Instance]:
        """Everything a start checks before anything runs."""
        self.environment.raise_for_missing_files()
        if self.scrollback < 1:
            raise UserError("--scrollback must be at least 1")
        self.instances()  # the selection is valid
        instances = self.run_instances()
        check_exec_limits(instances, self.environment, self.procfile_path)
        return instances


def load_project(options: RunOptions) -> Project:
    app_root = Path(options.app_root or ".")
    if not app_root.is_dir():
        raise UserError(f"{app_root}: app root is not a directory")
    settings = load_settings(app_root, options.procfile)
    if not options.env and settings.env is not None:
        # Env files named in the settings may be missing (.env.local is per developer);
        # those named with -e must exist.
        specs = [EnvFileSpec(app_root / name, name, explicit=False) for name in settings.env]
    else:
        specs = env_file_specs(options.env, app_root)
    env_source = EnvSource(
        tuple(specs), dict(os.environ), app_root, process_envs(settings, app_root)
    )
    environment = env_source.load()
    procfile_name = (
        options.procfile or environment.get("PROCFILE") or settings.procfile or "Procfile"
    )
    if options.port is not None:
        base_port = options.port
    else:
        raw = environment.get("PORT")
        try:
            base_port = int(raw) if raw else settings.port or DEFAULT_BASE_PORT
        except ValueError:
            source = environment.variables["PORT"].source
            raise UserError(f"PORT={raw!r} (from {source}) is not a number") from None
    if not 0 < base_port < 65536:
        raise UserError(f"port {base_port} is out of range")
    concurrency = parse_concurrency(options.concurrency)
    if settings.formation:
        concurrency = settings.formation_with(concurrency)
    return Project(
        app_root,
        environment,
        app_root / procfile_name,
        base_port,
        env_source,
        options,
        settings,
        timeout=_first(options.timeout, settings.timeout, DEFAULT_TIMEOUT),
        scrollback=_first(options.scrollback, settings.scrollback, DEFAULT_SCROLLBACK),
        concurrency=concurrency,
    )


def process_envs(settings: Settings, app_root: Path) -> dict[str, ProcessEnv]:
    """The ``env`` of each process type's settings, with where it is written."""
    if settings.path is None:
        return {}
    try:
        shown = str(settings.path.relative_to(app_root))
    except ValueError:
        shown = str(settings.path)
    return {
        name: ProcessEnv(
            dict(ps.env),
            f"{shown} [{settings.key('processes', name, 'env')}]",
            {
                var: settings.origin("processes", name, "env")
                for var in ps.env
                if settings.file_of("processes", name, "env", var) == settings.local
                and settings.local is not None
            },
        )
        for name, ps in settings.processes.items()
        if ps.env
    }


def _first(*values):
    return next(v for v in values if v is not None)
