"""What an export contains, whatever the format: the processes of the formation with their
settings, the variables of the env files, names, and the shell commands of ready checks.

Which variables are exported: those that an **env file** sets (``EnvVar.source.kind`` is
``file``), as tuirunner resolved them, plus each process's ``env`` from the settings, plus
``PORT`` and ``PS`` per instance. The shell environment of the machine that runs the export is
never exported (it is the developer's, not the app's). Whether a value is secret is decided in one
place, :attr:`EnvVar.secret` (``secrets.is_masked`` for the settings' ``env``), as in the
inspector.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import tuirunner
from tuirunner.environment import EnvFileSpec, Environment, EnvSource, SourceKind, port_variable
from tuirunner.errors import UserError
from tuirunner.procfile import Instance, Procfile, formation
from tuirunner.secrets import is_masked
from tuirunner.settings import (
    RESERVED_VARIABLES,
    AutoRestart,
    Condition,
    Dependency,
    ProcessSettings,
    ReadyCheck,
    ReadyKind,
    Settings,
)

from .formats import ALIASES, FORMATS  # noqa: F401 (re-exported)
from .quoting import sh_quote, sh_word_with_variables

_APP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_USES_PORT = re.compile(r"\$(?:PORT\b|\{PORT\})")

# Ready checks as shell commands, for formats that have no check of their own (systemd's
# ExecStartPost, Compose's healthcheck): Python is what a Django project's host or image has for
# sure, unlike curl or nc. A 2xx or 3xx answer (redirects followed) passes, as in tuirunner.
# The http probe sends the check's Host header and headers ("Name: value" arguments), as
# tuirunner does (Host: localhost for a URL on an IP address: Django's ALLOWED_HOSTS).
HTTP_PROBE = (
    "import sys, urllib.request as u; u.urlopen(u.Request(sys.argv[1], "
    "headers=dict(h.split(': ', 1) for h in sys.argv[2:])), timeout=5)"
)
PORT_PROBE = (
    "import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 5).close()"
)
PROBE_TIMEOUT = 5  # seconds an attempt may take


class ProjectLike(Protocol):
    """What the export needs of the project (:class:`tuirunner.project.Project`)."""

    app_root: Path
    environment: Environment
    procfile_path: Path
    base_port: int
    env_source: EnvSource
    settings: Settings
    concurrency: dict[str, int]  # the command line's -c applied on top of the settings

    def procfile(self) -> Procfile: ...


@dataclass(frozen=True)
class Variable:
    name: str
    value: str
    secret: bool
    origin: str  # ".env:3", "pyproject.toml [tool.tuirunner] processes.web.env", "tuirunner"


@dataclass(frozen=True)
class Process:
    """One process type of the formation (with at least one instance)."""

    name: str
    command: str
    instances: tuple[Instance, ...]
    settings: ProcessSettings
    timeout: float  # seconds between the stop signal and SIGKILL
    env: tuple[Variable, ...]  # ``env`` from the settings
    dependencies: tuple[Dependency, ...]  # ``depends_on``, on exported processes only
    on_demand: bool = False  # ``autostart = false``, and no process started with the rest needs it
    groups: tuple[str, ...] = ()  # the settings' groups it is in

    @property
    def count(self) -> int:
        return len(self.instances)

    @property
    def port(self) -> int:
        """The PORT of the first instance: in a container, every replica listens on it."""
        return self.instances[0].port

    @property
    def oneshot(self) -> bool:
        return self.settings.oneshot

    @property
    def autorestart(self) -> AutoRestart:
        return self.settings.autorestart

    @property
    def ready(self) -> ReadyCheck | None:
        return self.settings.ready

    @property
    def stop_signal(self) -> str:
        return self.settings.stop_signal.name

    @property
    def listens(self) -> bool:
        """Whether it serves on ``$PORT``: named ``web`` (Heroku's convention: gunicorn reads
        ``PORT`` itself), or ``$PORT`` in its command or ready check."""
        ready = self.settings.ready
        targets = [self.command]
        if ready is not None and ready.kind in (ReadyKind.HTTP, ReadyKind.PORT):
            targets.append(ready.target)
        return self.name == "web" or any(_USES_PORT.search(t) for t in targets)


@dataclass(frozen=True)
class OutputFile:
    name: str
    content: str
    secret: bool = False  # holds secret values: written with mode 0600


@dataclass
class Export:
    """Everything an exporter renders."""

    format: str
    app: str
    app_root: Path  # absolute
    location: Path  # absolute
    user: str | None  # -u, or None (supervisord and systemd then use the app name)
    log_dir: str  # absolute
    shell: str
    image: str | None
    variables: tuple[Variable, ...]  # from the env files, sorted by name
    processes: tuple[Process, ...]  # in Procfile order
    env_files: tuple[EnvFileSpec, ...]  # the env files that exist, in order
    sources: str  # "Procfile, .env and pyproject.toml [tool.tuirunner]"
    warnings: list[str] = field(default_factory=list)
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)  # exported members only

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    @property
    def host_user(self) -> str:
        """``User=`` / ``user=``: -u, else the app name (as honcho does)."""
        return self.user or self.app

    def process(self, name: str) -> Process:
        return next(p for p in self.processes if p.name == name)

    def environment(
        self, process: Process, instance: Instance | None = None
    ) -> dict[str, Variable]:
        """The variables of *process* (and of *instance*: ``PORT``, ``PS``), sorted by name:
        the env files', overridden by the process's ``env`` from the settings."""
        env = {v.name: v for v in self.variables}
        env.update(port_variables(self.processes))
        env.update({v.name: v for v in process.env})
        if instance is not None:
            env["PORT"] = Variable("PORT", str(instance.port), False, "tuirunner")
            env["PS"] = Variable("PS", instance.name, False, "tuirunner")
        return dict(sorted(env.items()))

    def start_order(self) -> list[Process]:
        """Dependencies first, otherwise in Procfile order."""
        order: list[Process] = []

        def visit(process: Process) -> None:
            if process in order:
                return
            for dep in process.dependencies:
                visit(self.process(dep.name))
            order.append(process)

        for process in self.processes:
            visit(process)
        return order

    def header(self, secrets: Sequence[str] = ()) -> list[str]:
        """The comment at the top of every file."""
        counts = " ".join(f"{p.name}={p.count}" for p in self.processes)
        version = tuirunner.__version__
        lines = [
            f"Generated by tuirunner {version} (tuirunner export {self.format}) for app "
            f"{self.app!r}",
            f"from {self.sources}; formation {counts}.",
            "Export again after changing those rather than editing this file.",
        ]
        if secrets:
            lines.append(
                f"It holds secret values ({', '.join(secrets)}): keep it out of version control."
            )
        return lines


# --- building the model --------------------------------------------------------------------------


def app_name(given: str | None, app_root: Path) -> str:
    """``-a``, checked, or the app root's directory name made safe (honcho uses the name of the
    current directory)."""
    if given is not None:
        if not _APP_NAME.fullmatch(given):
            raise UserError(
                f"invalid app name {given!r}: letters, digits, '_' and '-', starting with a "
                "letter or digit"
            )
        return given
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", app_root.resolve().name).strip("-_")
    return base or "app"


def file_variables(environment: Environment) -> tuple[Variable, ...]:
    """The variables the env files set (not the shell's), minus those tuirunner sets itself."""
    result = []
    for var in environment.variables.values():
        if var.source.kind is not SourceKind.FILE or var.name in RESERVED_VARIABLES:
            continue
        result.append(Variable(var.name, var.value, var.secret, str(var.source)))
    return tuple(sorted(result, key=lambda v: v.name))


def shell_references(environment: Environment) -> list[str]:
    """Warnings for env-file variables whose value took ``${NAME}`` from this machine's shell:
    the export holds the value it has here."""
    warnings = []
    for var in sorted(environment.variables.values(), key=lambda v: v.name):
        if var.source.kind is not SourceKind.FILE or var.name in RESERVED_VARIABLES:
            continue
        from_shell = [
            name
            for name in var.definition.references
            if name not in environment.variables
            or environment.variables[name].source.kind is SourceKind.SHELL
        ]
        if from_shell:
            refs = ", ".join("${" + n + "}" for n in from_shell)
            warnings.append(
                f"{var.name} ({var.source}) takes {refs} from this machine's shell: the export "
                "has the value it has here"
            )
    return warnings


def build(
    project: ProjectLike,
    *,
    format: str,
    location: Path,
    app: str | None,
    user: str | None,
    log_dir: str | None,
    shell: str,
    image: str | None,
    concurrency: Mapping[str, int],
    timeout: float,
    env_files: Sequence[EnvFileSpec],
) -> Export:
    procfile = project.procfile()
    settings = project.settings
    name = app_name(app, project.app_root)
    instances = formation(
        procfile,
        concurrency=dict(concurrency),
        base_port=project.base_port,
        ports=settings.fixed_ports(),
    )
    by_type: dict[str, list[Instance]] = {}
    for inst in instances:
        by_type.setdefault(inst.type.name, []).append(inst)
    if not by_type:
        raise UserError("nothing to export: the concurrency of every process type is 0")
    warnings: list[str] = []
    processes = []
    for ptype in procfile.types:
        if ptype.name not in by_type:
            continue
        ps = settings.process(ptype.name)
        deps = []
        for dep in ps.depends_on:
            if dep.name in by_type:
                deps.append(dep)
            else:
                warnings.append(
                    f"{ptype.name} depends on {dep.name}, which the formation leaves out "
                    f"({dep.name}=0): the dependency is not exported"
                )
        env_key = settings.key("processes", ptype.name, "env")
        env = tuple(
            Variable(k, v, is_masked(k, v), f"{settings.source} {env_key}")
            for k, v in sorted(ps.env.items())
        )
        processes.append(
            Process(
                name=ptype.name,
                command=ptype.command,
                instances=tuple(by_type[ptype.name]),
                settings=ps,
                timeout=timeout if ps.timeout is None else ps.timeout,
                env=env,
                dependencies=tuple(deps),
            )
        )
    processes = _on_demand(processes, settings)
    groups = {
        group: kept
        for group, members in settings.groups.items()
        if (kept := tuple(m for m in members if m in by_type))
    }
    existing = tuple(spec for spec in env_files if spec.path.is_file())
    app_root = project.app_root.resolve()
    export = Export(
        format=format,
        app=name,
        app_root=app_root,
        location=location.absolute(),
        user=user,
        log_dir=os.path.abspath(log_dir or f"/var/log/{name}"),
        shell=shell,
        image=image,
        variables=file_variables(project.environment),
        processes=tuple(processes),
        env_files=existing,
        sources=_sources(project, procfile, existing),
        warnings=warnings,
        groups=groups,
    )
    for warning in shell_references(project.environment):
        export.warn(warning)
    return export


def _on_demand(processes: list[Process], settings: Settings) -> list[Process]:
    """*processes* with ``on_demand`` and ``groups`` set: a type with ``autostart = false`` is
    on demand unless a type started with the rest depends on it (directly or not)."""
    by_name = {p.name: p for p in processes}
    started: set[str] = set()
    todo = [p.name for p in processes if p.settings.autostart]
    while todo:
        name = todo.pop()
        if name not in started:
            started.add(name)
            todo += [d.name for d in by_name[name].dependencies]
    return [
        dataclasses.replace(
            p,
            on_demand=p.name not in started,
            groups=tuple(g for g, members in settings.groups.items() if p.name in members),
        )
        for p in processes
    ]


def _sources(project: ProjectLike, procfile: Procfile, env_files: Sequence[EnvFileSpec]) -> str:
    parts = [_relative(procfile.path, project.app_root)]
    if env_files:
        parts.append(" ".join(spec.display for spec in env_files))
    settings = project.settings
    if settings.path is not None:
        name = _relative(settings.path, project.app_root)
        parts.append(f"{name} [{settings.prefix}]" if settings.prefix else name)
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


# --- shared helpers for the formats --------------------------------------------------------------


def ready_command(check: ReadyCheck) -> str | None:
    """A shell command that exits 0 when *check* passes, run with the process's environment
    (``$PORT`` and other variables are expanded by the shell); None for a ``log`` check, which
    only tuirunner can do (it reads the output)."""
    if check.kind is ReadyKind.COMMAND:
        return check.target
    if check.kind is ReadyKind.HTTP:
        url = sh_word_with_variables(check.target)
        headers = [f"Host: {host_header(check)}", *(f"{k}: {v}" for k, v in check.headers)]
        words = " ".join(sh_word_with_variables(h) for h in headers)
        return f"python3 -c {sh_quote(HTTP_PROBE)} {url} {words} >/dev/null 2>&1"
    if check.kind is ReadyKind.PORT:
        port = sh_word_with_variables(check.target)
        return f"python3 -c {sh_quote(PORT_PROBE)} {sh_quote(check.host)} {port} >/dev/null 2>&1"
    return None


def host_header(check: ReadyCheck) -> str:
    """The Host header of an ``http`` check as written (``localhost:$PORT``): its ``host``, or
    the URL's host and port, ``localhost`` for an IP address (see
    :meth:`~tuirunner.settings.ReadyCheck.host_header_for`, which needs the port's value)."""
    if check.host_header is not None:
        return check.host_header
    netloc = urlsplit(check.target).netloc.rpartition("@")[2]
    host, colon, port = netloc.rpartition(":") if not netloc.endswith("]") else (netloc, "", "")
    if not colon:
        host, port = netloc, ""
    name = check.host_header_for(f"http://{host}/")
    return f"{name}:{port}" if port else name


def port_variables(processes: Sequence[Process]) -> dict[str, Variable]:
    """``TUIRUNNER_PORT_<TYPE>`` of every exported type (its first instance's port), as
    tuirunner sets them."""
    result: dict[str, Variable] = {}
    for process in processes:
        name = port_variable(process.name)
        result.setdefault(name, Variable(name, str(process.port), False, "tuirunner"))
    return result


def waits_for_ready(export: Export, process: Process, dep: Dependency, format: str) -> bool:
    """Whether a ``ready`` dependency can be expressed (its ready check can be run outside
    tuirunner); warns when it is weakened to ``started``."""
    if dep.condition is not Condition.READY:
        return False
    check = export.process(dep.name).ready
    if check is not None and check.kind is not ReadyKind.LOG:
        return True
    export.warn(
        f"{process.name} waits for {dep.name} to be ready, but a log check has no equivalent "
        f"in {format}: it waits for {dep.name} to start"
    )
    return False


def seconds(value: float) -> int:
    """Whole seconds, rounded up (formats that take integers)."""
    return math.ceil(value)


def duration(value: float) -> str:
    """``10s``, ``500ms``: a duration for Compose and systemd."""
    if value == int(value):
        return f"{int(value)}s"
    return f"{round(value * 1000)}ms"


def number(value: float) -> str:
    """``0.5``, ``2``: seconds for sleep(1)."""
    return f"{value:g}"


def names_of(variables: Mapping[str, Variable], secret: bool) -> list[str]:
    return [name for name, var in variables.items() if var.secret is secret]
