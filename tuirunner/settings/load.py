"""Finding, reading and validating the settings file.

The schema (:mod:`.schema`, checked by msgspec) says the types, ranges and keys; this module
adds what a schema cannot say — a check that needs another key (``ready`` has one check,
``host`` only with ``port``, ``autorestart = "always"`` is not for a oneshot, ``initial`` ≤
``max``), another process (dependency conditions and cycles, shared log files) or a parser (URLs,
regular expressions, signal names) — and builds the model (:mod:`.model`).
"""

from __future__ import annotations

import os
import re
import signal
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import msgspec

from tuirunner.settings import graph
from tuirunner.settings.checks import Checks
from tuirunner.settings.messages import Key, describe, schema_error
from tuirunner.settings.model import (
    DEFAULT_PROCESS,
    LOCAL_FILE,
    MAX_SETTINGS_BYTES,
    PYPROJECT,
    PYPROJECT_PREFIX,
    RESERVED_VARIABLES,
    SETTINGS_FILE,
    AutoRestart,
    Backoff,
    Condition,
    Dependency,
    ProcessSettings,
    Settings,
    SettingsError,
    dependency_edges,
    key_path,
)
from tuirunner.settings.schema import (
    BackoffTable,
    DependencyTable,
    ProcessTable,
    SettingsTable,
)

if TYPE_CHECKING:
    import tomllib

#: Signals whose default action does not end a process: refused as ``stop_signal``.
_NON_TERMINATING = frozenset(
    ("SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGCONT", "SIGCHLD", "SIGWINCH", "SIGURG")
)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_GROUP_NAME = re.compile(r"[A-Za-z0-9_-]+")


def load_settings(app_root: Path, procfile: Path | str | None = None) -> Settings:
    """The settings of the project in *app_root*; *procfile* is the Procfile named with ``-f``
    (relative to the app root), if any. See the package's docstring for the discovery rule.
    A :data:`LOCAL_FILE` beside the settings (or in the app root) is merged over them."""
    directory = app_root
    if procfile is not None:
        procfile_dir = (app_root / procfile).parent
        if _same_dir(procfile_dir, app_root) is False:
            directory = procfile_dir
    found = _project_table(app_root, directory)
    local = directory / LOCAL_FILE
    if not _present(local):
        return Settings() if found is None else settings_from_dict(*found)
    overrides = _read_toml(local)
    try:  # its own mistakes are named in it
        msgspec.convert(overrides, SettingsTable, strict=True)
    except msgspec.ValidationError as exc:
        raise schema_error(exc, overrides, SettingsTable, local, "") from None
    if found is None:
        return settings_from_dict(overrides, local)
    table, path, prefix = found
    keys = tuple(_leaf_keys(overrides))
    try:
        settings = settings_from_dict(_merged(table, overrides), path, prefix)
    except SettingsError as exc:
        bare = exc.key[len(prefix) + 1 :] if prefix and exc.key.startswith(prefix) else exc.key
        if any(bare == k or bare.startswith((k + ".", k + "[")) for k in keys):
            raise SettingsError(local, bare, exc.reason, exc.line) from None
        raise
    return msgspec.structs.replace(settings, local=local, overrides=keys)


def _merged(base: Any, over: Any) -> Any:
    """*over* merged into *base*: tables key by key, anything else replaced."""
    if not isinstance(base, dict) or not isinstance(over, dict):
        return over
    merged = dict(base)
    for key, value in over.items():
        merged[key] = _merged(base[key], value) if key in base else value
    return merged


def _leaf_keys(table: dict[str, Any], parents: tuple[str, ...] = ()) -> list[str]:
    """The key paths a table sets (``processes.web.env.DEBUG``), arrays as one key."""
    keys = []
    for key, value in table.items():
        if isinstance(value, dict) and value:
            keys += _leaf_keys(value, (*parents, key))
        else:
            keys.append(key_path("", (*parents, key)))
    return keys


def _project_table(app_root: Path, directory: Path) -> tuple[Any, Path, str] | None:
    """(table, file, prefix) of the project's own settings, or None."""
    if directory != app_root:
        beside = directory / SETTINGS_FILE
        if _present(beside):
            return _read_toml(beside), beside, ""
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
            return tool["tuirunner"], pyproject, PYPROJECT_PREFIX
    if _present(own):
        return _read_toml(own), own, ""
    return None


def settings_from_dict(table: Any, path: Path, prefix: str = "") -> Settings:
    """Validate an already parsed settings table (the ``[tool.tuirunner]`` table, or a whole
    ``tuirunner.toml``); *path* and *prefix* are used in messages."""
    try:
        parsed = msgspec.convert(table, SettingsTable, strict=True)
    except msgspec.ValidationError as exc:
        raise schema_error(exc, table, SettingsTable, path, prefix) from None
    return _Builder(path, prefix).settings(parsed)


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
    import tomllib  # only with a settings file

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(path, exc) from None
    except RecursionError:  # tomllib recurses once per level of arrays and inline tables
        raise SettingsError(path, "", "invalid TOML: nested too deeply") from None


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


class _Builder(Checks):
    """The model from a file that passed the schema, after the checks the schema cannot make."""

    def __init__(self, path: Path, prefix: str):
        self.path = path
        self.prefix = prefix

    def fail(self, keys: Key, reason: str) -> NoReturn:
        raise SettingsError(self.path, key_path(self.prefix, keys), reason)

    def key(self, *keys: str | int) -> str:
        return key_path(self.prefix, keys)

    def settings(self, t: SettingsTable) -> Settings:
        processes = {name: self.process(name, spec) for name, spec in t.processes.items()}
        self.check_dependencies(processes)
        self.check_log_files(processes)
        return Settings(
            path=self.path,
            prefix=self.prefix,
            procfile=t.procfile,
            env=tuple(t.env) if t.env is not None else None,
            port=t.port,
            timeout=t.timeout,
            scrollback=t.scrollback,
            formation=t.formation,
            makemigrations_check=t.makemigrations_check,
            processes=processes,
            groups=self.groups(t.groups),
            editor=self.editor(t.editor),
            notify_on_crash=t.notify_on_crash,
        )

    def groups(self, table: dict[str, list[str]]) -> dict[str, tuple[str, ...]]:
        for name, members in table.items():
            if not _GROUP_NAME.fullmatch(name) or name.startswith("-") or name == "all":
                self.fail(
                    ("groups", name),
                    "not a valid group name (letters, digits, '_' and '-'; not \"all\")",
                )
            if not members:
                self.fail(("groups", name), "an empty group; list the process types it names")
            for i, member in enumerate(members):
                if member in members[:i]:
                    self.fail(("groups", name, i), f"{describe(member)} is listed twice")
        return {name: tuple(members) for name, members in table.items()}

    def editor(self, value: str | None) -> str | None:
        """A command line with ``{file}`` (and ``{line}``), split as a shell would."""
        if value is None:
            return None
        import shlex

        try:
            words = shlex.split(value)
        except ValueError as exc:
            self.fail(("editor",), f"not a valid command line: {exc}")
        if not words or not any("{file}" in word for word in words):
            example = '"code -g {file}:{line}"'
            self.fail(("editor",), f"expected a command with {{file}}, such as {example}")
        return value

    def process(self, name: str, t: ProcessTable) -> ProcessSettings:
        k: Key = ("processes", name)
        values: dict[str, Any] = {"oneshot": t.oneshot}
        if t.autostart is not None:
            values["autostart"] = t.autostart
        if t.depends_on is not None:
            values["depends_on"] = self.depends_on(t.depends_on, (*k, "depends_on"))
        if t.ready is not None:
            values["ready"] = self.ready(t.ready, (*k, "ready"))
        if t.autorestart is not None:
            if t.autorestart is AutoRestart.ALWAYS and t.oneshot:
                self.fail(
                    (*k, "autorestart"),
                    '"always" contradicts oneshot = true (a oneshot runs to completion); '
                    'use "on-failure" to retry it until it succeeds',
                )
            values["autorestart"] = t.autorestart
        if t.backoff is not None:
            values["backoff"] = self.backoff(t.backoff, (*k, "backoff"))
        for key in ("watch", "ignore"):
            if getattr(t, key) is not None:
                values[key] = self.patterns(getattr(t, key), (*k, key))
        if t.stop_signal is not None:
            values["stop_signal"] = self.stop_signal(t.stop_signal, (*k, "stop_signal"))
        if t.timeout is not None:
            values["timeout"] = t.timeout
        if t.env is not None:
            values["env"] = self.env(t.env, (*k, "env"))
        if t.log_file is not None:
            if t.log_file.endswith("/"):
                self.fail((*k, "log_file"), f"{describe(t.log_file)} is a directory, not a file")
            values["log_file"] = t.log_file
        if t.log_max_bytes is not None:
            values["log_max_bytes"] = t.log_max_bytes
        if t.log_backups is not None:
            values["log_backups"] = t.log_backups
        if t.port is not None:
            values["port"] = t.port
        if t.stop_command is not None:
            values["stop_command"] = t.stop_command
        if t.health is not None:
            values["health"] = self.health(t.health, (*k, "health"))
        return ProcessSettings(**values)

    def patterns(self, patterns: list[str], keys: Key) -> tuple[str, ...]:
        """Glob patterns relative to the app root."""
        for i, pattern in enumerate(patterns):
            if pattern.startswith("/") or pattern.startswith("~"):
                self.fail((*keys, i), f"{describe(pattern)} must be relative to the app root")
            if ".." in pattern.split("/"):
                self.fail((*keys, i), f"{describe(pattern)} must stay inside the app root")
        return tuple(patterns)

    def depends_on(
        self, value: list[str] | dict[str, Condition | DependencyTable], keys: Key
    ) -> tuple[Dependency, ...]:
        if isinstance(value, list):  # ["db", "redis"]: condition "started"
            for i, name in enumerate(value):
                if name in value[:i]:
                    self.fail((*keys, i), f"{describe(name)} is listed twice")
            return tuple(Dependency(name) for name in value)
        return tuple(
            Dependency(name, spec)
            if isinstance(spec, Condition)
            else Dependency(name, spec.condition, spec.restart)
            for name, spec in value.items()
        )

    def backoff(self, t: BackoffTable, keys: Key) -> Backoff:
        values = {name: getattr(t, name) for name in t.__struct_fields__}
        backoff = Backoff(**{name: v for name, v in values.items() if v is not None})
        if backoff.initial > backoff.max:
            where = "initial" if t.initial is not None else "max"
            self.fail(
                (*keys, where),
                f"initial ({backoff.initial:g}) is greater than max ({backoff.max:g})",
            )
        return backoff

    def stop_signal(self, value: str, keys: Key) -> signal.Signals:
        name = value.strip().upper()
        if not name.startswith("SIG"):
            name = "SIG" + name
        try:
            sig = signal.Signals[name]
        except KeyError:
            self.fail(keys, f"unknown signal {describe(value)}")
        if name in _NON_TERMINATING or name.startswith("SIGRT"):
            self.fail(
                keys,
                f"{name} does not stop a process; use SIGTERM, SIGINT, SIGQUIT, SIGHUP or SIGKILL",
            )
        return sig

    def env(self, table: dict[str, str], keys: Key) -> dict[str, str]:
        for name, text in table.items():
            k = (*keys, name)
            if not _ENV_NAME.fullmatch(name):
                self.fail(k, "not a valid variable name (letters, digits and _)")
            if name in RESERVED_VARIABLES or name.startswith("TUIRUNNER_PORT_"):
                self.fail(k, f"{name} is set by tuirunner for each process")
            if "\0" in text:
                self.fail(k, "must not contain a NUL character")
        return table

    # -- across processes --

    def check_dependencies(self, processes: dict[str, ProcessSettings]) -> None:
        for name, ps in processes.items():
            for dep in ps.depends_on:
                target = processes.get(dep.name, DEFAULT_PROCESS)
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
        cycle = graph.find_cycle(dependency_edges(processes))
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
                    f"{describe(ps.log_file)} is also the log file of {owners[normal]}",
                )
            owners[normal] = name
