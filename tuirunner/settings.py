"""Settings: ``[tool.tuirunner]`` in pyproject.toml, or a ``tuirunner.toml``.

The Procfile stays the list of processes and their commands; the settings give defaults for the
command-line options and a policy per process type (dependencies, readiness, restarts, watching,
stopping, extra environment, a log file). This module only reads and validates them; the runtime
applies them.

Discovery (:func:`load_settings`), one file only, never merged:

1. ``-f DIR/Procfile`` names a Procfile in another directory than the app root and
   ``DIR/tuirunner.toml`` exists: that file (settings made for that Procfile).
2. Otherwise, in the app root: the ``[tool.tuirunner]`` table of ``pyproject.toml``, or
   ``tuirunner.toml`` (same keys at the top level). Having both is an error. A pyproject.toml
   without the table is not an error.
3. Otherwise there are no settings, and everything behaves as without this module.

Every mistake is a :class:`SettingsError`, one line naming the file and the key path
(``pyproject.toml: tool.tuirunner.processes.web.ready.http: expected a string, got 5``); tomllib
gives no line numbers except for syntax errors, which name the line
(``pyproject.toml:12: invalid TOML: …``).
"""

from __future__ import annotations

import datetime
import functools
import json
import math
import os
import re
import signal
import stat
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePath
from typing import Any, NoReturn
from urllib.parse import urlsplit

from tuirunner.errors import UserError
from tuirunner.procfile import PORT_STEP, Procfile

PYPROJECT = "pyproject.toml"
SETTINGS_FILE = "tuirunner.toml"
PYPROJECT_PREFIX = "tool.tuirunner"
MAX_SETTINGS_BYTES = 1024 * 1024  # larger is not a settings file (and pyproject.toml is read whole)

MAX_CONCURRENCY = PORT_STEP  # each type has a block of PORT_STEP ports

DEFAULT_READY_TIMEOUT = 60.0
DEFAULT_READY_INTERVAL = 0.5
DEFAULT_READY_HOST = "127.0.0.1"
DEFAULT_BACKOFF_INITIAL = 1.0
DEFAULT_BACKOFF_MAX = 30.0
DEFAULT_BACKOFF_RESET_AFTER = 10.0
DEFAULT_LOG_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_LOG_BACKUPS = 3
#: Changes to watched files closer together than this are one restart (not a key: a constant
#: for the runtime).
WATCH_DEBOUNCE = 0.3
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
#: Signals whose default action does not end a process: refused as ``stop_signal``.
_NON_TERMINATING = frozenset(
    ("SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGCONT", "SIGCHLD", "SIGWINCH", "SIGURG")
)


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


class ReadyKind(StrEnum):
    HTTP = "http"  # an HTTP GET answers 2xx or 3xx
    PORT = "port"  # a TCP connection to host:port succeeds
    LOG = "log"  # a line of the process's output (ANSI codes stripped) matches a regex
    COMMAND = "command"  # a shell command exits 0


@dataclass(frozen=True)
class Dependency:
    """``depends_on``: start only after process *name* reached *condition*."""

    name: str
    condition: Condition = Condition.STARTED
    restart: bool = False  # restart the dependent when this dependency restarts


@dataclass(frozen=True)
class ReadyCheck:
    """``ready``: when a process counts as ready.

    *target* is the value as written: the URL (``http``), the port as digits or a variable such
    as ``$PORT`` (``port``), the regular expression (``log``) or the shell command (``command``,
    run with the process's environment in the app root).
    """

    kind: ReadyKind
    target: str
    host: str = DEFAULT_READY_HOST  # ``port`` checks only
    timeout: float = DEFAULT_READY_TIMEOUT  # from the start: not ready by then = failed
    interval: float = DEFAULT_READY_INTERVAL  # between attempts (not used by ``log``)

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

    @property
    def pattern(self) -> re.Pattern[str]:
        """The compiled regex of a ``log`` check."""
        return re.compile(self.target)


@dataclass(frozen=True)
class Backoff:
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


@dataclass(frozen=True)
class ProcessSettings:
    """The policy of one process type. ``ProcessSettings()`` is no policy: today's behaviour."""

    oneshot: bool = False
    depends_on: tuple[Dependency, ...] = ()
    ready: ReadyCheck | None = None
    autorestart: AutoRestart = AutoRestart.NO
    backoff: Backoff = Backoff()
    watch: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    stop_signal: signal.Signals = signal.SIGTERM
    timeout: float | None = None  # None: the global timeout (-t, ``timeout``, 5 s)
    env: dict[str, str] = field(default_factory=dict)
    log_file: str | None = None  # relative to the app root
    log_max_bytes: int = DEFAULT_LOG_MAX_BYTES
    log_backups: int = DEFAULT_LOG_BACKUPS

    def watches(self, path: str | PurePath) -> bool:
        """Whether a change to *path* (relative to the app root) restarts this process:
        it matches a ``watch`` pattern and neither an ``ignore`` pattern, a default ignore
        pattern (:data:`DEFAULT_WATCH_IGNORE`) nor the process's own log file."""
        rel = _relative(path)
        if not self.watch or not any(glob_matches(p, rel) for p in self.watch):
            return False
        if self.log_file and _is_log_file(rel, self.log_file):
            return False
        return not any(glob_matches(p, rel) for p in (*DEFAULT_WATCH_IGNORE, *self.ignore))


_DEFAULT_PROCESS = ProcessSettings()


@dataclass(frozen=True)
class Settings:
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
    formation: dict[str, int] = field(default_factory=dict)  # may contain "all"
    processes: dict[str, ProcessSettings] = field(default_factory=dict)

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
        return f"{self.source} ({configured})"

    def key(self, *parts: str | int) -> str:
        """The full key path as shown in messages: ``key("processes", "web", "ready")`` →
        ``tool.tuirunner.processes.web.ready``."""
        return _key_path(self.prefix, parts)

    def process(self, name: str) -> ProcessSettings:
        """The settings of a process type (``web``) or instance (``web.1``); the defaults for a
        process without a table."""
        return self.processes.get(name.partition(".")[0], _DEFAULT_PROCESS)

    def dependencies_of(self, name: str) -> tuple[Dependency, ...]:
        return self.process(name).depends_on

    def dependents_of(self, name: str) -> dict[str, Dependency]:
        """The process types that depend directly on *name*, each with its :class:`Dependency`
        (``dependency.restart``: restart it when *name* restarts)."""
        name = name.partition(".")[0]
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
        wanted = set(names)
        order: list[str] = []
        visiting: list[str] = []

        def visit(name: str) -> None:
            if name in order:
                return
            if name in visiting:  # only possible with a cycle, which loading refuses
                raise ValueError(f"dependency cycle: {' -> '.join([*visiting, name])}")
            visiting.append(name)
            for dep in self.dependencies_of(name):
                if dep.name in wanted:
                    visit(dep.name)
            visiting.pop()
            order.append(name)

        for name in names:
            visit(name)
        return order

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
        rel = _relative(path)
        return not any(
            ps.log_file and _is_log_file(rel, ps.log_file) for ps in self.processes.values()
        )

    def validate_processes(self, procfile: Procfile) -> None:
        """Every process named in the settings (``processes``, ``formation``, ``depends_on``)
        must be in *procfile*; SettingsError otherwise."""
        if self.path is None:
            return
        names = set(procfile.names)

        def check(name: str, *key: str | int) -> None:
            if name not in names:
                raise SettingsError(
                    self.path,
                    self.key(*key),
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


# --- loading -------------------------------------------------------------------------------------


def load_settings(app_root: Path, procfile: Path | str | None = None) -> Settings:
    """The settings of the project in *app_root*; *procfile* is the Procfile named with ``-f``
    (relative to the app root), if any. See the module's docstring for the discovery rule."""
    if procfile is not None:
        procfile_dir = (app_root / procfile).parent
        if _same_dir(procfile_dir, app_root) is False:
            beside = procfile_dir / SETTINGS_FILE
            if _present(beside):
                return settings_from_dict(_read_toml(beside), beside)
    pyproject = app_root / PYPROJECT
    own = app_root / SETTINGS_FILE
    if _present(pyproject):
        tool = _read_toml(pyproject).get("tool")
        if isinstance(tool, dict) and "tuirunner" in tool:
            if _present(own):
                raise SettingsError(
                    own,
                    "",
                    f"settings are also in {pyproject} [{PYPROJECT_PREFIX}]; keep only one of them",
                )
            return settings_from_dict(tool["tuirunner"], pyproject, PYPROJECT_PREFIX)
    if _present(own):
        return settings_from_dict(_read_toml(own), own)
    return Settings()


def settings_from_dict(table: Any, path: Path, prefix: str = "") -> Settings:
    """Validate an already parsed settings table (the ``[tool.tuirunner]`` table, or a whole
    ``tuirunner.toml``); *path* and *prefix* are used in messages."""
    return _Parser(path, prefix).settings(table)


def _same_dir(a: Path, b: Path) -> bool | None:
    try:
        return os.path.samefile(a, b)
    except OSError:  # the Procfile's directory does not exist: the Procfile error will say so
        return None


def _present(path: Path) -> bool:
    return path.exists() or path.is_symlink()  # a dangling link is reported, not skipped


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        st = os.stat(path)
    except OSError as exc:
        raise SettingsError(path, "", f"cannot read: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise SettingsError(path, "", "is a directory, not a settings file")
    if not stat.S_ISREG(st.st_mode):
        raise SettingsError(path, "", "not a regular file")
    too_large = f"too large for a settings file (at most {MAX_SETTINGS_BYTES} bytes)"
    if st.st_size > MAX_SETTINGS_BYTES:
        raise SettingsError(path, "", too_large)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_SETTINGS_BYTES + 1)
    except OSError as exc:
        raise SettingsError(path, "", f"cannot read: {exc.strerror}") from None
    if len(data) > MAX_SETTINGS_BYTES:
        raise SettingsError(path, "", too_large)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SettingsError(path, "", "not valid UTF-8", line=line) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(path, exc) from None


_TOML_POSITION = re.compile(r"^(.*) \(at line (\d+), column (\d+)\)$", re.S)


def _toml_error(path: Path, exc: tomllib.TOMLDecodeError) -> SettingsError:
    message = str(exc)
    line = getattr(exc, "lineno", None)  # Python >= 3.14
    column = getattr(exc, "colno", None)
    m = _TOML_POSITION.match(message)
    if m:
        message, line, column = m.group(1), int(m.group(2)), int(m.group(3))
    elif line is not None:
        message = getattr(exc, "msg", message)
    message = message[:1].lower() + message[1:]
    if column is not None:
        message = f"{message} (column {column})"
    return SettingsError(path, "", f"invalid TOML: {message}", line=line)


# --- validation ----------------------------------------------------------------------------------

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")

GLOBAL_KEYS = ("procfile", "env", "port", "timeout", "scrollback", "formation", "processes")
PROCESS_KEYS = (
    "oneshot",
    "depends_on",
    "ready",
    "autorestart",
    "backoff",
    "watch",
    "ignore",
    "stop_signal",
    "timeout",
    "env",
    "log_file",
    "log_max_bytes",
    "log_backups",
)
READY_KINDS = tuple(k.value for k in ReadyKind)
READY_KEYS = (*READY_KINDS, "host", "timeout", "interval")
BACKOFF_KEYS = ("initial", "max", "reset_after")
DEPENDENCY_KEYS = ("condition", "restart")


def _key_path(prefix: str, keys: Iterable[str | int]) -> str:
    out = prefix
    for key in keys:
        if isinstance(key, int):
            out += f"[{key}]"
            continue
        part = key if _BARE_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False)
        out = f"{out}.{part}" if out else part
    return out


def _describe(value: Any) -> str:
    """A value as the user wrote it in TOML, or its TOML type."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= 60 else text[:56] + '…"'
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, datetime.date | datetime.time):
        return "a date/time"
    return type(value).__name__


def _one_of(values: Iterable[str]) -> str:
    quoted = [f'"{v}"' for v in values]
    return ", ".join(quoted[:-1]) + f" or {quoted[-1]}" if len(quoted) > 1 else quoted[0]


def expand_variables(text: str, env: Mapping[str, str]) -> str:
    """``$NAME`` and ``${NAME}`` replaced by their value in *env*; ValueError if one is not
    set. Anything else, a lone ``$`` included, is kept."""

    def value(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        if name not in env:
            raise ValueError(f"${name} is not set")
        return env[name]

    return _VARIABLE.sub(value, text)


Key = tuple[str | int, ...]


class _Parser:
    def __init__(self, path: Path, prefix: str):
        self.path = path
        self.prefix = prefix

    def fail(self, keys: Key, reason: str) -> NoReturn:
        raise SettingsError(self.path, _key_path(self.prefix, keys), reason)

    def key(self, *keys: str | int) -> str:
        return _key_path(self.prefix, keys)

    # -- types --

    def expected(self, keys: Key, what: str, value: Any) -> NoReturn:
        self.fail(keys, f"expected {what}, got {_describe(value)}")

    def table(self, value: Any, keys: Key, allowed: Sequence[str] | None = None) -> dict:
        if not isinstance(value, dict):
            self.expected(keys, "a table", value)
        if allowed is not None:
            for name in value:
                if name not in allowed:
                    self.unknown_key(keys, name, allowed)
        return value

    def unknown_key(self, keys: Key, name: str, allowed: Sequence[str]) -> NoReturn:
        import difflib  # only for a mistake

        close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
        hint = f'did you mean "{close[0]}"?' if close else f"valid keys: {', '.join(allowed)}"
        if name == "tool" and not self.prefix and not keys:
            hint = f"in {SETTINGS_FILE} the keys are at the top level, without [tool.tuirunner]"
        self.fail((*keys, name), f"unknown key ({hint})")

    def string(self, value: Any, keys: Key) -> str:
        if not isinstance(value, str):
            self.expected(keys, "a string", value)
        if not value.strip():
            self.fail(keys, "must not be empty")
        if "\0" in value:
            self.fail(keys, "must not contain a NUL character")
        return value

    def boolean(self, value: Any, keys: Key) -> bool:
        if not isinstance(value, bool):
            self.expected(keys, "true or false", value)
        return value

    def number(self, value: Any, keys: Key, *, positive: bool = False) -> float:
        """A finite number of seconds, >= 0 (or > 0)."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.expected(keys, "a number (of seconds)", value)
        if not math.isfinite(value):
            self.fail(keys, f"must be a finite number, got {_describe(value)}")
        if positive and value <= 0:
            self.fail(keys, f"must be greater than 0, got {_describe(value)}")
        if value < 0:
            self.fail(keys, f"must not be negative, got {_describe(value)}")
        return float(value)

    def integer(self, value: Any, keys: Key, low: int, high: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.expected(keys, "an integer", value)
        if value < low or (high is not None and value > high):
            limits = f"from {low} to {high}" if high is not None else f"at least {low}"
            self.fail(keys, f"must be {limits}, got {value}")
        return value

    def strings(self, value: Any, keys: Key) -> tuple[str, ...]:
        if not isinstance(value, list):
            self.expected(keys, "an array of strings", value)
        return tuple(self.string(item, (*keys, i)) for i, item in enumerate(value))

    def choice(self, value: Any, keys: Key, choices: type[StrEnum]) -> Any:
        options = [c.value for c in choices]
        if not isinstance(value, str) or value not in options:
            self.expected(keys, _one_of(options), value)
        return choices(value)

    def patterns(self, value: Any, keys: Key) -> tuple[str, ...]:
        """Glob patterns relative to the app root."""
        result = self.strings(value, keys)
        for i, pattern in enumerate(result):
            if pattern.startswith("/") or pattern.startswith("~"):
                self.fail((*keys, i), f"{_describe(pattern)} must be relative to the app root")
            if ".." in pattern.split("/"):
                self.fail((*keys, i), f"{_describe(pattern)} must stay inside the app root")
        return result

    # -- tables --

    def settings(self, value: Any) -> Settings:
        t = self.table(value, (), GLOBAL_KEYS)
        procfile = self.string(t["procfile"], ("procfile",)) if "procfile" in t else None
        env = self.strings(t["env"], ("env",)) if "env" in t else None
        port = self.integer(t["port"], ("port",), 1, 65535) if "port" in t else None
        timeout = self.number(t["timeout"], ("timeout",)) if "timeout" in t else None
        scrollback = None
        if "scrollback" in t:
            scrollback = self.integer(t["scrollback"], ("scrollback",), 1)
        formation: dict[str, int] = {}
        for name, count in self.table(t.get("formation", {}), ("formation",)).items():
            formation[name] = self.integer(count, ("formation", name), 0, MAX_CONCURRENCY)
        processes = {
            name: self.process(name, spec)
            for name, spec in self.table(t.get("processes", {}), ("processes",)).items()
        }
        self.check_dependencies(processes)
        self.check_log_files(processes)
        return Settings(
            path=self.path,
            prefix=self.prefix,
            procfile=procfile,
            env=env,
            port=port,
            timeout=timeout,
            scrollback=scrollback,
            formation=formation,
            processes=processes,
        )

    def process(self, name: str, value: Any) -> ProcessSettings:
        k: Key = ("processes", name)
        t = self.table(value, k, PROCESS_KEYS)
        values: dict[str, Any] = {}
        if "oneshot" in t:
            values["oneshot"] = self.boolean(t["oneshot"], (*k, "oneshot"))
        if "depends_on" in t:
            values["depends_on"] = self.depends_on(t["depends_on"], (*k, "depends_on"))
        if "ready" in t:
            values["ready"] = self.ready(t["ready"], (*k, "ready"))
        if "autorestart" in t:
            restart = self.choice(t["autorestart"], (*k, "autorestart"), AutoRestart)
            if restart is AutoRestart.ALWAYS and values.get("oneshot"):
                self.fail(
                    (*k, "autorestart"),
                    '"always" contradicts oneshot = true (a oneshot runs to completion); '
                    'use "on-failure" to retry it until it succeeds',
                )
            values["autorestart"] = restart
        if "backoff" in t:
            values["backoff"] = self.backoff(t["backoff"], (*k, "backoff"))
        for key in ("watch", "ignore"):
            if key in t:
                values[key] = self.patterns(t[key], (*k, key))
        if "stop_signal" in t:
            values["stop_signal"] = self.stop_signal(t["stop_signal"], (*k, "stop_signal"))
        if "timeout" in t:
            values["timeout"] = self.number(t["timeout"], (*k, "timeout"))
        if "env" in t:
            values["env"] = self.env(t["env"], (*k, "env"))
        if "log_file" in t:
            log_file = self.string(t["log_file"], (*k, "log_file"))
            if log_file.endswith("/"):
                self.fail((*k, "log_file"), f"{_describe(log_file)} is a directory, not a file")
            values["log_file"] = log_file
        if "log_max_bytes" in t:
            values["log_max_bytes"] = self.integer(t["log_max_bytes"], (*k, "log_max_bytes"), 1)
        if "log_backups" in t:
            values["log_backups"] = self.integer(t["log_backups"], (*k, "log_backups"), 0, 1000)
        return ProcessSettings(**values)

    def depends_on(self, value: Any, keys: Key) -> tuple[Dependency, ...]:
        if isinstance(value, list):  # ["db", "redis"]: condition "started"
            names = self.strings(value, keys)
            for i, name in enumerate(names):
                if name in names[:i]:
                    self.fail((*keys, i), f"{_describe(name)} is listed twice")
            return tuple(Dependency(name) for name in names)
        if not isinstance(value, dict):
            self.expected(keys, "a table (or an array of process names)", value)
        deps = []
        conditions = _one_of(c.value for c in Condition)
        for name, spec in value.items():
            k = (*keys, name)
            if isinstance(spec, str):
                deps.append(Dependency(name, self.choice(spec, k, Condition)))
                continue
            if not isinstance(spec, dict):
                self.expected(k, f"{conditions} or a table {{ condition, restart }}", spec)
            self.table(spec, k, DEPENDENCY_KEYS)
            condition = Condition.STARTED
            if "condition" in spec:
                condition = self.choice(spec["condition"], (*k, "condition"), Condition)
            restart = self.boolean(spec["restart"], (*k, "restart")) if "restart" in spec else False
            deps.append(Dependency(name, condition, restart))
        return tuple(deps)

    def ready(self, value: Any, keys: Key) -> ReadyCheck:
        t = self.table(value, keys, READY_KEYS)
        kinds = [kind for kind in READY_KINDS if kind in t]
        if not kinds:
            self.fail(keys, f"needs one check: {', '.join(READY_KINDS[:-1])} or command")
        if len(kinds) > 1:
            self.fail(keys, f"{' and '.join(kinds)} cannot be combined; choose one check")
        kind = ReadyKind(kinds[0])
        k = (*keys, kind.value)
        raw = t[kind.value]
        target = self.ready_port(raw, k) if kind is ReadyKind.PORT else self.string(raw, k)
        if kind is ReadyKind.HTTP:
            self.check_url(target, k)
        elif kind is ReadyKind.LOG:
            try:
                re.compile(target)
            except re.error as exc:
                self.fail(k, f"invalid regular expression: {exc}")
        extra: dict[str, Any] = {}
        if "host" in t:
            if kind is not ReadyKind.PORT:
                self.fail((*keys, "host"), "only used with port; put the host in the URL")
            extra["host"] = self.string(t["host"], (*keys, "host"))
        if "timeout" in t:
            extra["timeout"] = self.number(t["timeout"], (*keys, "timeout"), positive=True)
        if "interval" in t:
            extra["interval"] = self.number(t["interval"], (*keys, "interval"), positive=True)
        return ReadyCheck(kind, target, **extra)

    def ready_port(self, value: Any, keys: Key) -> str:
        if isinstance(value, str) and _VARIABLE.fullmatch(value):
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            self.expected(keys, 'a port number or a variable such as "$PORT"', value)
        if not 0 < value < 65536:
            self.fail(keys, f"port {value} is out of range (1 to 65535)")
        return str(value)

    def check_url(self, url: str, keys: Key) -> None:
        probe = _VARIABLE.sub("1", url)  # "$PORT" is only known when the process starts
        try:
            parts = urlsplit(probe)
            parts.port  # noqa: B018 - raises ValueError when out of range or not a number
        except ValueError as exc:
            self.fail(keys, f"invalid URL {_describe(url)}: {exc}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.fail(
                keys,
                f"expected an http:// or https:// URL with a host, got {_describe(url)}",
            )

    def backoff(self, value: Any, keys: Key) -> Backoff:
        t = self.table(value, keys, BACKOFF_KEYS)
        values = {
            name: self.number(t[name], (*keys, name), positive=name != "reset_after")
            for name in BACKOFF_KEYS
            if name in t
        }
        backoff = Backoff(**values)
        if backoff.initial > backoff.max:
            where = "initial" if "initial" in t else "max"
            self.fail(
                (*keys, where),
                f"initial ({backoff.initial:g}) is greater than max ({backoff.max:g})",
            )
        return backoff

    def stop_signal(self, value: Any, keys: Key) -> signal.Signals:
        if not isinstance(value, str):
            self.expected(keys, 'a signal name such as "SIGINT"', value)
        name = value.strip().upper()
        if not name.startswith("SIG"):
            name = "SIG" + name
        try:
            sig = signal.Signals[name]
        except KeyError:
            self.fail(keys, f"unknown signal {_describe(value)}")
        if name in _NON_TERMINATING or name.startswith("SIGRT"):
            self.fail(
                keys,
                f"{name} does not stop a process; use SIGTERM, SIGINT, SIGQUIT, SIGHUP or SIGKILL",
            )
        return sig

    def env(self, value: Any, keys: Key) -> dict[str, str]:
        t = self.table(value, keys)
        result = {}
        for name, text in t.items():
            k = (*keys, name)
            if not _ENV_NAME.fullmatch(name):
                self.fail(k, "not a valid variable name (letters, digits and _)")
            if name in RESERVED_VARIABLES:
                self.fail(k, f"{name} is set by tuirunner for each process")
            if not isinstance(text, str):
                hint = f' (quote it: "{_describe(text)}")' if isinstance(text, int | float) else ""
                self.fail(k, f"expected a string, got {_describe(text)}{hint}")
            if "\0" in text:
                self.fail(k, "must not contain a NUL character")
            result[name] = text
        return result

    # -- across processes --

    def check_dependencies(self, processes: dict[str, ProcessSettings]) -> None:
        for name, ps in processes.items():
            for dep in ps.depends_on:
                target = processes.get(dep.name, _DEFAULT_PROCESS)
                k = ("processes", name, "depends_on", dep.name)
                if dep.condition is Condition.READY and target.ready is None:
                    self.fail(
                        k,
                        f'condition "ready" needs a ready check on {dep.name} '
                        f"({self.key('processes', dep.name, 'ready')})",
                    )
                if dep.condition is Condition.COMPLETED and not target.oneshot:
                    self.fail(
                        k,
                        f'condition "completed" needs {dep.name} to be a oneshot '
                        f"({self.key('processes', dep.name, 'oneshot')} = true)",
                    )
        cycle = _find_cycle(processes)
        if cycle:
            self.fail(
                ("processes", cycle[0], "depends_on"),
                f"dependency cycle {' -> '.join(cycle)}",
            )

    def check_log_files(self, processes: dict[str, ProcessSettings]) -> None:
        owners: dict[str, str] = {}
        for name, ps in processes.items():
            if ps.log_file is None:
                continue
            normal = os.path.normpath(ps.log_file)
            if normal in owners:
                self.fail(
                    ("processes", name, "log_file"),
                    f"{_describe(ps.log_file)} is also the log file of {owners[normal]}",
                )
            owners[normal] = name


def _find_cycle(processes: Mapping[str, ProcessSettings]) -> list[str] | None:
    """A dependency cycle as ``[a, b, a]``, or None. Depth-first, in table order."""
    done: set[str] = set()
    stack: list[str] = []

    def visit(name: str) -> list[str] | None:
        if name in stack:
            return [*stack[stack.index(name) :], name]
        if name in done:
            return None
        stack.append(name)
        for dep in processes.get(name, _DEFAULT_PROCESS).depends_on:
            found = visit(dep.name)
            if found:
                return found
        stack.pop()
        done.add(name)
        return None

    for name in processes:
        found = visit(name)
        if found:
            return found
    return None


# --- glob patterns (watch, ignore) ---------------------------------------------------------------


def _relative(path: str | PurePath) -> str:
    text = PurePath(path).as_posix()
    while text.startswith("./"):
        text = text[2:]
    return text


def _is_log_file(rel: str, log_file: str) -> bool:
    """*rel* is *log_file* or one of its rotated backups (``log/web.log.1``)."""
    log = _relative(os.path.normpath(log_file))
    return rel == log or rel.startswith(log + ".")


@functools.lru_cache(maxsize=512)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    p = _relative(pattern).rstrip("/")
    if "/" not in p:
        p = "**/" + p  # a bare name matches at any depth, as in .gitignore
    out: list[str] = []
    i = 0
    while i < len(p):
        if p.startswith("**/", i) and (i == 0 or p[i - 1] == "/"):
            out.append("(?:[^/]+/)*")
            i += 3
        elif p.startswith("**", i) and i + 2 == len(p) and (i == 0 or p[i - 1] == "/"):
            out.append(".*")
            i += 2
        elif p[i] == "*":
            while i < len(p) and p[i] == "*":
                i += 1
            out.append("[^/]*")
        elif p[i] == "?":
            out.append("[^/]")
            i += 1
        elif p[i] == "[" and (end := p.find("]", i + 2)) != -1:
            body = p[i + 1 : end]
            negate = body[:1] in ("!", "^")
            if negate:
                body = body[1:]
            chars = "".join("-" if c == "-" else re.escape(c) for c in body)
            out.append(f"(?!/)[{'^' if negate else ''}{chars}]")
            i = end + 1
        else:
            out.append(re.escape(p[i]))
            i += 1
    # A pattern matching a directory matches everything under it.
    return re.compile("".join(out) + "(?:/.*)?", re.S)


def glob_matches(pattern: str, path: str | PurePath) -> bool:
    """Whether *path* (relative to the app root, ``/``-separated) matches a ``watch`` or
    ``ignore`` pattern: ``*`` and ``?`` stay within a directory, ``**`` spans directories,
    ``[abc]`` is a class; a pattern without ``/`` matches a name at any depth (``*.py`` is
    ``**/*.py``); a pattern matching a directory matches everything inside it."""
    return _glob_regex(pattern).fullmatch(_relative(path)) is not None
