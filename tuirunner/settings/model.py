"""The settings as the runtime reads them: frozen msgspec structs, built by :mod:`.load` from a
validated file (``ProcessSettings()`` and ``Settings()`` are the defaults: no policy at all)."""

from __future__ import annotations

import ipaddress
import json
import re
import signal
from collections.abc import Iterable, Iterator, Mapping, Sequence
from enum import StrEnum
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from msgspec import Struct

from tuirunner.errors import UserError
from tuirunner.names import type_of
from tuirunner.procfile import PORT_STEP
from tuirunner.settings import graph
from tuirunner.settings.expand import expand_variables
from tuirunner.settings.globs import glob_matches, is_log_file, relative

if TYPE_CHECKING:
    from tuirunner.procfile import Procfile

PYPROJECT = "pyproject.toml"
SETTINGS_FILE = "tuirunner.toml"
LOCAL_FILE = "tuirunner.local.toml"  # one developer's settings over the project's (git-ignored)
PYPROJECT_PREFIX = "tool.tuirunner"
MAX_SETTINGS_BYTES = 1024 * 1024  # larger is not a settings file (and pyproject.toml is read whole)

MAX_CONCURRENCY = PORT_STEP  # each type has a block of PORT_STEP ports

DEFAULT_READY_TIMEOUT = 60.0
#: Ready probes back off: the first try after READY_FIRST_DELAY, each delay doubled up to the
#: check's ``interval`` (by default DEFAULT_READY_INTERVAL).
READY_FIRST_DELAY = 0.25
DEFAULT_READY_INTERVAL = 5.0
DEFAULT_READY_HOST = "127.0.0.1"
#: The Host header of an http check whose URL names an IP address (127.0.0.1, ::1): what a
#: browser sends, and what Django's default ``ALLOWED_HOSTS`` for DEBUG accepts.
DEFAULT_HTTP_HOST = "localhost"
DEFAULT_HEALTH_INTERVAL = 10.0
DEFAULT_HEALTH_TIMEOUT = 5.0
DEFAULT_HEALTH_FAILURES = 3
DEFAULT_BACKOFF_INITIAL = 1.0
DEFAULT_BACKOFF_MAX = 30.0
DEFAULT_BACKOFF_RESET_AFTER = 10.0
DEFAULT_LOG_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_LOG_BACKUPS = 3
#: Always ignored by ``watch`` (with the user's ``ignore`` patterns and every ``log_file``).
DEFAULT_WATCH_IGNORE: tuple[str, ...] = (
    ".git",
    ".hg",
    ".svn",
    "__pycache__",
    "node_modules",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    ".idea",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "*.py[cod]",
    "*.sw?",
    "*~",
    ".#*",
    ".DS_Store",
    "*.log",
)
#: Variables tuirunner sets itself; a process's ``env`` may not set them.
RESERVED_VARIABLES = ("PORT", "PS", "TUIRUNNER_RUN_ID")

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def key_path(prefix: str, keys: Iterable[str | int]) -> str:
    """A key path as TOML writes it: ``tool.tuirunner.processes.web.env."A B"``, ``env[1]``."""
    out = prefix
    for key in keys:
        if isinstance(key, int):
            out += f"[{key}]"
            continue
        part = key if _BARE_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False)
        out = f"{out}.{part}" if out else part
    return out


class SettingsError(UserError):
    """A mistake in a settings file: ``FILE: KEY.PATH: reason`` (or ``FILE:LINE: reason``)."""

    def __init__(self, file: Path, key: str, reason: str, line: int | None = None):
        self.file = file
        self.key = key
        self.reason = reason
        self.line = line
        where = f"{file}:{line}" if line is not None else str(file)
        super().__init__(f"{where}: {key}: {reason}" if key else f"{where}: {reason}")


class Condition(StrEnum):
    """What a dependency must reach before its dependent starts."""

    STARTED = "started"  # its process has been started
    READY = "ready"  # its ``ready`` check passed
    COMPLETED = "completed"  # it is a oneshot and exited with status 0


class AutoRestart(StrEnum):
    NO = "no"
    ON_FAILURE = "on-failure"  # a non-zero exit or a signal
    ALWAYS = "always"  # any exit


class CrashNotice(StrEnum):
    """``notify_on_crash``: how the terminal UI tells of a crash besides the pane."""

    OFF = "off"
    BELL = "bell"  # the terminal's bell
    DESKTOP = "desktop"  # a desktop notification (notify-send, osascript), else the bell


class ReadyKind(StrEnum):
    HTTP = "http"  # an HTTP GET answers 2xx or 3xx
    PORT = "port"  # a TCP connection to host:port succeeds
    LOG = "log"  # a line of the process's output (ANSI codes stripped) matches a regex
    COMMAND = "command"  # a shell command exits 0
    URL = "url"  # the service a URL names (postgres://…, "$DATABASE_URL") accepts a connection


class Dependency(Struct, frozen=True):
    """``depends_on``: start only after process *name* reached *condition*."""

    name: str
    condition: Condition = Condition.STARTED
    restart: bool = False  # restart the dependent when this dependency restarts


class ReadyCheck(Struct, frozen=True):
    """``ready``: when a process counts as ready.

    *target* is the value as written: the URL (``http``), the port as digits or a variable such
    as ``$PORT`` (``port``), the regular expression (``log``) or the shell command (``command``,
    run with the process's environment in the app root).
    """

    kind: ReadyKind
    target: str
    host: str = DEFAULT_READY_HOST  # ``port`` checks only
    timeout: float = DEFAULT_READY_TIMEOUT  # from the start: not ready by then = failed
    interval: float = DEFAULT_READY_INTERVAL  # the longest delay between attempts (not ``log``)
    # ``http`` only: the Host header (None: the URL's host, ``localhost`` for an IP address)
    # and more headers, as (name, value) pairs in the order written.
    host_header: str | None = None
    headers: tuple[tuple[str, str], ...] = ()

    def host_header_for(self, url: str) -> str:
        """The Host header of an ``http`` check of *url*: ``host`` when set; else the URL's
        host and port, with ``localhost`` for an IP address (``http://127.0.0.1:8000/`` sends
        ``Host: localhost:8000``, which Django's ``ALLOWED_HOSTS`` in DEBUG accepts)."""
        if self.host_header is not None:
            return self.host_header
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        name = parts.hostname or DEFAULT_HTTP_HOST
        try:
            ipaddress.ip_address(name)
            name = DEFAULT_HTTP_HOST
        except ValueError:
            pass
        return name if parts.port is None else f"{name}:{parts.port}"

    def delays(self) -> Iterator[float]:
        """The delays before each attempt: :data:`READY_FIRST_DELAY`, doubled up to
        *interval*."""
        delay = min(READY_FIRST_DELAY, self.interval)
        while True:
            yield delay
            delay = min(delay * 2, self.interval)

    def url(self, env: Mapping[str, str]) -> str:
        """The URL of an ``http`` check with ``$VAR``/``${VAR}`` taken from *env*; ValueError
        if one is not set."""
        return self._expand(env)

    def address(self, env: Mapping[str, str]) -> tuple[str, int]:
        """(host, port) of a ``port`` check; ValueError if a variable is not set or the port
        is not a valid number."""
        value = self._expand(env)
        if not value.isdigit() or not 0 < int(value) < 65536:
            raise ValueError(f"ready.port: {self.target} is {value!r}, not a port number")
        return self.host, int(value)

    def _expand(self, env: Mapping[str, str]) -> str:
        try:
            return expand_variables(self.target, env)
        except ValueError as exc:
            raise ValueError(f"ready.{self.kind.value}: {exc}") from None

    def service(self, env: Mapping[str, str]):
        """The service of a ``url`` check (:class:`tuirunner.services.Service`), named after
        the variable it comes from; ValueError if it is not set or names nothing to check."""
        from tuirunner.services import parse_service

        value = self._expand(env)
        variable = self.target.strip().lstrip("$").strip("{}") if "$" in self.target else None
        label = variable or "ready.url"
        if not value:
            raise ValueError(f"ready.url: {label} is empty")
        service = parse_service(value, variable)
        if service is None:
            raise ValueError(f"ready.url: {label} names no server to wait for")
        return service

    @property
    def pattern(self) -> re.Pattern[str]:
        """The compiled regex of a ``log`` check."""
        return re.compile(self.target)


class HealthCheck(Struct, frozen=True):
    """``health``: a probe (an ``http``, ``port`` or ``command`` check, with the *timeout* of
    one attempt) repeated every *interval* seconds once the process is ready; *failures* in a
    row make it unhealthy, and its ``autorestart`` decides what follows."""

    probe: ReadyCheck
    interval: float = DEFAULT_HEALTH_INTERVAL
    timeout: float = DEFAULT_HEALTH_TIMEOUT
    failures: int = DEFAULT_HEALTH_FAILURES


class Backoff(Struct, frozen=True):
    """Delays between automatic restarts: *initial*, doubled after each failure up to *max*,
    back to *initial* once the process has run *reset_after* seconds."""

    initial: float = DEFAULT_BACKOFF_INITIAL
    max: float = DEFAULT_BACKOFF_MAX
    reset_after: float = DEFAULT_BACKOFF_RESET_AFTER

    def delay(self, failures: int) -> float:
        """Seconds to wait before restart number *failures* (1 for the first) in a row."""
        if failures <= 1:
            return min(self.initial, self.max)
        return min(self.initial * 2.0 ** min(failures - 1, 64), self.max)


class ProcessSettings(Struct, frozen=True):
    """The policy of one process type. ``ProcessSettings()`` is no policy: today's behaviour."""

    oneshot: bool = False
    autostart: bool = True  # False: in the run, "not started" until started by hand
    depends_on: tuple[Dependency, ...] = ()
    ready: ReadyCheck | None = None
    autorestart: AutoRestart = AutoRestart.NO
    backoff: Backoff = Backoff()
    watch: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    stop_signal: signal.Signals = signal.SIGTERM
    timeout: float | None = None  # None: the global timeout (-t, ``timeout``, 5 s)
    env: dict[str, str] = {}
    log_file: str | None = None  # relative to the app root
    log_max_bytes: int = DEFAULT_LOG_MAX_BYTES
    log_backups: int = DEFAULT_LOG_BACKUPS
    port: int | None = None  # its first instance's PORT, whatever its place in the Procfile
    stop_command: str | None = None  # run (shell, its environment) before the stop signal
    health: HealthCheck | None = None

    def watches(self, path: str | PurePath) -> bool:
        """Whether a change to *path* (relative to the app root) restarts this process:
        it matches a ``watch`` pattern and neither an ``ignore`` pattern, a default ignore
        pattern (:data:`DEFAULT_WATCH_IGNORE`) nor the process's own log file."""
        rel = relative(path)
        if not self.watch or not any(glob_matches(p, rel) for p in self.watch):
            return False
        if self.log_file and is_log_file(rel, self.log_file):
            return False
        return not any(glob_matches(p, rel) for p in (*DEFAULT_WATCH_IGNORE, *self.ignore))


DEFAULT_PROCESS = ProcessSettings()


def dependency_edges(processes: Mapping[str, ProcessSettings]) -> dict[str, list[str]]:
    """``depends_on`` as the edges of :mod:`.graph`."""
    return {name: [dep.name for dep in ps.depends_on] for name, ps in processes.items()}


class Settings(Struct, frozen=True):
    """Everything read from the settings file. ``Settings()`` is no settings at all.

    The global values are ``None`` when not set: the command line and the built-in defaults
    decide then. Treat the dicts as read-only.
    """

    path: Path | None = None  # the file read, as app_root / name
    prefix: str = ""  # "tool.tuirunner" in pyproject.toml, "" in tuirunner.toml
    procfile: str | None = None
    env: tuple[str, ...] | None = None  # () means no env file at all, not even .env
    port: int | None = None
    timeout: float | None = None
    scrollback: int | None = None
    formation: dict[str, int] = {}  # may contain "all"
    # On a models.py change seen by runserver: makemigrations --check --dry-run (issue 20).
    makemigrations_check: bool = False
    processes: dict[str, ProcessSettings] = {}
    groups: dict[str, tuple[str, ...]] = {}  # a name for several process types
    local: Path | None = None  # the per-developer file merged over *path* (LOCAL_FILE)
    overrides: tuple[str, ...] = ()  # the keys *local* sets (``processes.web.env.DEBUG``)
    editor: str | None = None  # opens a file at a line: "code -g {file}:{line}"
    notify_on_crash: CrashNotice = CrashNotice.OFF

    @property
    def source(self) -> str | None:
        """``pyproject.toml [tool.tuirunner]``, ``tuirunner.toml``, or None without settings."""
        if self.path is None:
            return None
        return f"{self.path} [{self.prefix}]" if self.prefix else str(self.path)

    def describe(self) -> str:
        """One line for ``tuirunner check``."""
        if self.path is None:
            return "no settings"
        n = len(self.processes)
        configured = {0: "no process configured", 1: "1 process configured"}.get(
            n, f"{n} processes configured"
        )
        described = f"{self.source} ({configured})"
        if self.local is not None:
            keys = ", ".join(self.overrides) or "nothing"
            described += f"; {self.local.name} over it: {keys}"
        return described

    def origin(self, *keys: str | int) -> str:
        """Where a key is set, as shown beside a value: ``tuirunner.local.toml
        [processes.web.env]`` when the override file sets it (or a key under it), else
        ``pyproject.toml [tool.tuirunner.processes.web.env]``."""
        if self.file_of(*keys) == self.local and self.local is not None:
            return f"{self.local.name} [{key_path('', keys)}]"
        name = self.path.name if self.path is not None else "?"
        return f"{name} [{self.key(*keys)}]"

    def file_of(self, *keys: str | int) -> Path | None:
        """The file that sets a key (or a key under it): the override file or *path*."""
        dotted = key_path("", keys)
        if any(o == dotted or o.startswith((dotted + ".", dotted + "[")) for o in self.overrides):
            return self.local
        return self.path

    def key(self, *parts: str | int) -> str:
        """The full key path as shown in messages: ``key("processes", "web", "ready")`` →
        ``tool.tuirunner.processes.web.ready``."""
        return key_path(self.prefix, parts)

    def group_members(self) -> dict[str, tuple[str, ...]]:
        """``groups`` (name → process types), for :func:`tuirunner.names.resolve`."""
        return self.groups

    def process(self, name: str) -> ProcessSettings:
        """The settings of a process type (``web``) or instance (``web.1``); the defaults for a
        process without a table."""
        return self.processes.get(type_of(name), DEFAULT_PROCESS)

    def fixed_ports(self) -> dict[str, tuple[int, str]]:
        """The process types with a ``port`` of their own: name → (port, where it is set,
        ``tuirunner.toml [processes.web.port]``)."""
        if self.path is None:
            return {}
        return {
            name: (ps.port, f"{self.path.name} [{self.key('processes', name, 'port')}]")
            for name, ps in self.processes.items()
            if ps.port is not None
        }

    def dependencies_of(self, name: str) -> tuple[Dependency, ...]:
        return self.process(name).depends_on

    def dependents_of(self, name: str) -> dict[str, Dependency]:
        """The process types that depend directly on *name*, each with its :class:`Dependency`
        (``dependency.restart``: restart it when *name* restarts)."""
        name = type_of(name)
        return {
            other: dep
            for other, ps in self.processes.items()
            for dep in ps.depends_on
            if dep.name == name
        }

    def start_order(self, names: Sequence[str]) -> list[str]:
        """*names* (process types) sorted so that each comes after its dependencies, otherwise
        keeping the given order (the Procfile's): a dependency moves just before the first process
        that needs it. Dependencies not in *names* are ignored. Reversed, it is an order to stop
        in."""
        return graph.start_order(names, dependency_edges(self.processes))

    def formation_with(self, command_line: Mapping[str, int]) -> dict[str, int]:
        """The concurrency: ``formation`` with ``-c`` on top. A type named with ``-c`` takes
        that count; ``-c all=N`` replaces the whole formation."""
        if "all" in command_line:
            return dict(command_line)
        return {**self.formation, **command_line}

    def watched(self, name: str, path: str | PurePath) -> bool:
        """:meth:`ProcessSettings.watches`, also ignoring every process's log file (so that
        one process's log does not restart another in a loop)."""
        process = self.process(name)
        if not process.watches(path):
            return False
        rel = relative(path)
        return not any(
            ps.log_file and is_log_file(rel, ps.log_file) for ps in self.processes.values()
        )

    def validate_processes(self, procfile: Procfile) -> None:
        """Every process named in the settings (``processes``, ``formation``, ``depends_on``)
        must be in *procfile*; SettingsError otherwise."""
        if self.path is None:
            return
        names = set(procfile.names)
        assert self.path is not None

        def check(name: str, *key: str | int) -> None:
            if name not in names:
                local = self.file_of(*key) == self.local and self.local is not None
                raise SettingsError(
                    self.file_of(*key) or self.path,
                    key_path("", key) if local else self.key(*key),
                    f"unknown process {name!r}; {procfile.path} defines "
                    f"{', '.join(procfile.names)}",
                )

        for name in self.formation:
            if name != "all":
                check(name, "formation", name)
        for name, ps in self.processes.items():
            check(name, "processes", name)
            for dep in ps.depends_on:
                check(dep.name, "processes", name, "depends_on", dep.name)
        for group, members in self.groups.items():
            if group in names:
                local = self.file_of("groups", group) == self.local and self.local is not None
                raise SettingsError(
                    self.file_of("groups", group) or self.path,
                    key_path("", ("groups", group)) if local else self.key("groups", group),
                    f"{group!r} is a process type of {procfile.path}; a group needs another name",
                )
            for i, member in enumerate(members):
                check(member, "groups", group, i)
