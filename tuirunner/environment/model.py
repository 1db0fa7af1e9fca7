"""The environment of a run as data: variables with their provenance (:class:`Source`,
:class:`Definition`, :class:`EnvVar`) and :class:`Environment`, which adds a process's layers
(its settings' ``env``, then ``PORT`` and ``PS``)."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from tuirunner.environment.change import EnvChange, changes
from tuirunner.environment.warning import EnvWarning, WarningKind
from tuirunner.errors import UserError
from tuirunner.names import type_of
from tuirunner.options import FilterMode
from tuirunner.protocol import DefinitionPayload, EnvPayload, VariablePayload
from tuirunner.secrets import MASK, describe_reason, mask_value, secret_reason
from tuirunner.tokenformats import prescan

RUN_ID_VARIABLE = "TUIRUNNER_RUN_ID"


class SourceKind(StrEnum):
    SHELL = "shell"
    FILE = "file"
    SETTINGS = "settings"  # a process's ``env`` in the settings
    RUNNER = "tuirunner"


@dataclass(frozen=True)
class Source:
    kind: SourceKind
    # The env file as the user named it; the settings table; for tuirunner's own variables,
    # why they have their value (``PORT``: ``tuirunner.toml [processes.web.port]``).
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        if self.kind is SourceKind.FILE:
            return f"{self.file}:{self.line}"
        if self.kind is SourceKind.SETTINGS and self.file:
            return self.file  # pyproject.toml [tool.tuirunner.processes.web.env]
        return self.kind.value  # a RUNNER's file says why (a note: see EnvVar.notes)


SHELL = Source(SourceKind.SHELL)
RUNNER = Source(SourceKind.RUNNER)


@dataclass(frozen=True)
class Definition:
    """One place that sets a variable."""

    value: str
    source: Source
    references: tuple[str, ...] = ()  # names interpolated with ${…}
    undefined: tuple[str, ...] = ()  # the references that were not set (and had no default)
    secret_from: tuple[str, ...] = ()  # secret variables its value was built from
    # In a masked copy (see Environment.to_wire) a secret value is replaced by what is shown of
    # it, and this keyed digest of the real value tells whether two values differ.
    digest: str | None = None

    @property
    def identity(self) -> str:
        """Equal for equal values, in masked copies too."""
        return self.value if self.digest is None else "\0" + self.digest


@dataclass(frozen=True)
class EnvVar:
    name: str
    definition: Definition  # the one that wins
    shadowed: tuple[Definition, ...] = ()  # the ones it overrides, oldest first
    masked_copy: bool = False  # values are what is shown by default, not the real ones
    copy_reason: str | None = None  # in a masked copy: why the real value is secret

    @property
    def value(self) -> str:
        return self.definition.value

    @property
    def source(self) -> Source:
        return self.definition.source

    def _shell_definition(self) -> Definition | None:
        for d in (*self.shadowed, self.definition):
            if d.source.kind is SourceKind.SHELL:
                return d
        return None

    @property
    def shell_value(self) -> str | None:
        """The value the shell had, whether or not it won."""
        d = self._shell_definition()
        return None if d is None else d.value

    @property
    def from_file(self) -> bool:
        return self.source.kind is SourceKind.FILE

    @property
    def differs_from_shell(self) -> bool:
        if self.source.kind is SourceKind.SHELL:
            return False
        shell = self._shell_definition()
        return shell is None or shell.identity != self.definition.identity

    @property
    def derived_secret(self) -> bool:
        """Its value was interpolated from a secret (``URL=…?key=${API_KEY}``)."""
        return any(d.secret_from for d in (*self.shadowed, self.definition))

    @property
    def secret_from(self) -> tuple[str, ...]:
        """The secret variables its value was built from."""
        names = (n for d in (*self.shadowed, self.definition) for n in d.secret_from)
        return tuple(dict.fromkeys(names))

    @property
    def secret_reason(self) -> str | None:
        """Why its value is masked (see :func:`tuirunner.secrets.secret_reason`; ``"built from
        API_KEY"`` for a value interpolated from a secret), or None."""
        if self.masked_copy:
            return self.copy_reason
        if not self.value:
            return None
        if self.derived_secret:
            return f"built from {', '.join(self.secret_from)}"
        return secret_reason(self.name, self.value)

    @property
    def secret(self) -> bool:
        return self.secret_reason is not None

    def mask(self, value: str) -> str:
        """*value* (this variable's, or one it shadowed) as shown by default."""
        if self.masked_copy:
            return value  # masked already
        if self.derived_secret:
            return MASK if value else ""
        return mask_value(self.name, value)

    def shown_value(self, reveal: bool = False) -> str:
        return self.value if reveal else self.mask(self.value)

    def notes(self, reveal: bool = False) -> list[str]:
        """Human-readable remarks: what it overrides, where else it is defined, …"""
        notes: list[str] = []
        if self.source.kind is SourceKind.RUNNER and self.source.file:
            notes.append(self.source.file)  # where a port comes from
        reason = self.secret_reason
        if reason is not None:
            notes.append(f"{'secret' if reveal else 'masked'}: {describe_reason(reason)}")
        shell = self.shell_value
        if self.source.kind is not SourceKind.SHELL and shell is not None:
            shown = shell if reveal else self.mask(shell)
            if self._shell_definition().identity == self.definition.identity:
                notes.append("same value as the shell")
            else:
                notes.append(f"overrides shell value {shown!r}")
        file_defs = [
            d for d in (*self.shadowed, self.definition) if d.source.kind is SourceKind.FILE
        ]
        if len(file_defs) > 1:
            places = ", ".join(str(d.source) for d in file_defs)
            winner = self.source if self.from_file else file_defs[-1].source
            if self.from_file:
                notes.append(f"defined in {places}; {winner} wins")
            else:
                notes.append(f"defined in {places}")
        if self.source.kind in (SourceKind.RUNNER, SourceKind.SETTINGS) and file_defs:
            notes.append(f"replaces {file_defs[-1].source}")
        if self.definition.references:
            refs = ", ".join("${" + r + "}" for r in self.definition.references)
            notes.append(f"interpolated from {refs}")
        if self.definition.undefined:
            notes.append(f"{', '.join(self.definition.undefined)} not set when interpolated")
        if self.value == "":
            notes.append("empty")
        return notes

    def to_json(self, reveal: bool = False) -> dict:
        def src(d: Definition) -> dict:
            return {
                "source": str(d.source),
                "kind": d.source.kind.value,
                "file": d.source.file,
                "line": d.source.line,
            }

        return {
            "name": self.name,
            "value": self.shown_value(reveal),
            "masked": (not reveal) and self.secret,
            "masked_because": None if reveal else self.secret_reason,
            "secret_reason": self.secret_reason,
            **src(self.definition),
            "interpolated_from": list(self.definition.references),
            "shadowed": [
                {"value": d.value if reveal else self.mask(d.value), **src(d)}
                for d in self.shadowed
            ],
            "notes": self.notes(reveal),
        }

    # --- a masked copy, for the keeper's socket ---------------------------------------------

    def to_wire(self, key: bytes) -> VariablePayload:
        """This variable as it may leave the keeper: secret values replaced by their masked form
        and a keyed digest (so that copies can still tell a changed value)."""
        definitions = []
        for d in (*self.shadowed, self.definition):
            shown = self.mask(d.value)
            digest = None if shown == d.value else _digest(key, d.value)
            src = d.source
            definitions.append(
                DefinitionPayload(
                    shown,
                    digest,
                    src.kind.value,
                    src.file,
                    src.line,
                    d.references,
                    d.undefined,
                    d.secret_from,
                )
            )
        return VariablePayload(self.name, self.secret_reason, definitions)

    @classmethod
    def from_wire(cls, data: VariablePayload) -> EnvVar:
        definitions = [
            Definition(
                d.shown,
                Source(SourceKind(d.kind), d.file, d.line),
                d.references,
                d.undefined,
                d.secret_from,
                d.digest,
            )
            for d in data.definitions
        ]
        return cls(data.name, definitions[-1], tuple(definitions[:-1]), True, data.secret_reason)


def _same_directory(a: str, b: str) -> bool:
    """Whether two paths name one directory, as a shell compares its PWD with where it runs (a
    PWD through a symbolic link is kept)."""
    if a == b:
        return True
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def _digest(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:24]


@dataclass(frozen=True)
class Environment:
    """The environment of a run (shell and env files), with provenance. ``processes`` holds the
    variables of each process type's settings (``env``), which :meth:`for_process` adds."""

    variables: Mapping[str, EnvVar]
    warnings: tuple[EnvWarning, ...] = ()
    processes: Mapping[str, Mapping[str, EnvVar]] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        var = self.variables.get(name)
        return None if var is None else var.value

    def as_dict(self) -> dict[str, str]:
        return {name: var.value for name, var in self.variables.items()}

    def identities(self) -> dict[str, str]:
        """Name → something equal for equal values (masked copies included)."""
        return {name: var.definition.identity for name, var in self.variables.items()}

    def scan_secrets_ahead(self) -> None:
        """Start the token-format scan of every value at once (see :func:`prescan`)."""
        layers = (self.variables, *self.processes.values())
        prescan(
            d.value
            for layer in layers
            for var in layer.values()
            for d in (*var.shadowed, var.definition)
        )

    def to_wire(self, key: bytes) -> EnvPayload:
        """A masked copy to send over the keeper's socket (see :meth:`EnvVar.to_wire`)."""
        self.scan_secrets_ahead()
        return EnvPayload(
            [var.to_wire(key) for var in self.variables.values()],
            [w.to_json() for w in self.warnings],
            {
                name: [var.to_wire(key) for var in layer.values()]
                for name, layer in self.processes.items()
            },
        )

    @classmethod
    def from_wire(cls, data: EnvPayload) -> Environment:
        variables = {}
        for raw in data.variables:
            var = EnvVar.from_wire(raw)
            variables[var.name] = var
        processes = {
            name: {var.name: var for var in map(EnvVar.from_wire, layer)}
            for name, layer in data.processes.items()
        }
        return cls(variables, tuple(EnvWarning.from_json(w) for w in data.warnings), processes)

    def with_runner_vars(
        self, values: Mapping[str, str], origins: Mapping[str, str] | None = None
    ) -> Environment:
        """A copy with variables set by the runner itself (``PORT``, ``PS``); *origins* says
        why a variable has its value (``PORT``: ``tuirunner.toml [processes.web.port]``)."""
        variables = dict(self.variables)
        origins = origins or {}
        for name, value in values.items():
            origin = origins.get(name)
            definition = Definition(
                value, RUNNER if origin is None else Source(RUNNER.kind, origin)
            )
            old = variables.get(name)
            shadowed = () if old is None else (*old.shadowed, old.definition)
            variables[name] = EnvVar(name, definition, shadowed)
        return Environment(variables, self.warnings, self.processes)

    def with_process_vars(self, process_type: str) -> Environment:
        """A copy with the variables of *process_type*'s settings (``env``) on top."""
        layer = self.processes.get(process_type)
        if not layer:
            return self
        variables = dict(self.variables)
        for name, var in layer.items():
            old = variables.get(name)
            shadowed = () if old is None else (*old.shadowed, old.definition)
            variables[name] = EnvVar(
                name, var.definition, shadowed, var.masked_copy, var.copy_reason
            )
        return Environment(variables, self.warnings)

    def for_process(
        self,
        name: str,
        port: int,
        run_id: str | None = None,
        *,
        port_from: str | None = None,
        peers: Iterable[PortHolder] = (),
        cwd: str | None = None,
    ) -> Environment:
        """What process *name* (``web.1``) gets: this, the ``env`` of its type's settings,
        :func:`runner_variables` and the ports of the run's types (:func:`port_variables` of
        *peers*, the run's processes). *port_from* says where its port comes from. *cwd*, its
        working directory (the app root): ``PWD`` says it where the shell's does not, as the
        process's own shell would."""
        env = self.with_process_vars(type_of(name))
        ports = port_variables(peers)
        if ports:
            env = env.with_runner_vars(
                {k: v for k, (v, _) in ports.items()}, {k: o for k, (_, o) in ports.items()}
            )
        variables = runner_variables(name, port, run_id)
        origins = {"PORT": port_from} if port_from else {}
        pwd = env.variables.get("PWD")
        if cwd is not None and (pwd is None or not _same_directory(pwd.value, cwd)):
            variables["PWD"] = cwd
            origins["PWD"] = "the process's working directory: the app root"
        return env.with_runner_vars(variables, origins)

    def for_instance(
        self,
        proc: PortHolder,
        peers: Iterable[PortHolder] = (),
        run_id: str | None = None,
        cwd: str | None = None,
    ) -> Environment:
        """:meth:`for_process` of *proc* (a ProcessInfo or an Instance) among *peers*."""
        return self.for_process(
            proc.name, proc.port, run_id, port_from=proc.port_from or None, peers=peers, cwd=cwd
        )

    def rows(self, mode: FilterMode = FilterMode.ALL, query: str = "") -> list[EnvVar]:
        """Variables sorted by name, filtered by *mode* and by a case-insensitive *query*
        matched against name, source and (unmasked only if not secret) value."""
        query = query.strip().lower()
        result = []
        for var in self.variables.values():
            if mode is FilterMode.FILES and not var.from_file:
                continue
            if mode is FilterMode.CHANGED and not var.differs_from_shell:
                continue
            if mode is FilterMode.SET and var.source.kind is SourceKind.SHELL:
                continue
            if query:
                haystack = f"{var.name}\n{var.source}\n{var.shown_value()}".lower()
                if query not in haystack:
                    continue
            result.append(var)
        result.sort(key=lambda v: v.name)
        return result

    def diff(self, newer: Environment) -> EnvChange:
        return changes(self.identities(), newer.identities())

    def raise_for_missing_files(self) -> None:
        """At start-up a file named explicitly with ``-e`` must exist or be readable."""
        for w in self.warnings:
            if w.kind in (WarningKind.MISSING_FILE, WarningKind.UNREADABLE):
                raise UserError(str(w))


class PortHolder(Protocol):
    """What the port variables need of a process: a ProcessInfo or a procfile Instance."""

    @property
    def name(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def port_from(self) -> str: ...


PORT_VARIABLE_PREFIX = "TUIRUNNER_PORT_"


def port_variable(type_name: str) -> str:
    """The variable that gives every process the port of *type_name*'s first instance:
    ``TUIRUNNER_PORT_WEB``; the name upper-cased, anything but a letter, digit or ``_`` made an
    ``_`` (``vite-dev`` → ``TUIRUNNER_PORT_VITE_DEV``)."""
    return PORT_VARIABLE_PREFIX + re.sub(r"[^A-Z0-9_]", "_", type_name.upper())


def port_variables(processes: Iterable[PortHolder]) -> dict[str, tuple[str, str]]:
    """``TUIRUNNER_PORT_<TYPE>`` for each type of *processes*: variable → (the port of the
    type's first instance, where it comes from). When two types give one name (``a-b`` and
    ``a_b``), the first keeps it."""
    result: dict[str, tuple[str, str]] = {}
    for proc in processes:
        kind, _, number = proc.name.rpartition(".")
        if number != "1":
            continue
        origin = f"the port of {proc.name}"
        if proc.port_from:
            origin += f" ({proc.port_from})"
        result.setdefault(port_variable(kind), (str(proc.port), origin))
    return result


def runner_variables(name: str, port: int, run_id: str | None = None) -> dict[str, str]:
    """What the runner sets for a process: ``PORT``, ``PS`` and, in a run, ``TUIRUNNER_RUN_ID``
    (which, with ``PS``, finds the children that leave the process group)."""
    variables = {"PORT": str(port), "PS": name}
    if run_id is not None:
        variables[RUN_ID_VARIABLE] = run_id
    return variables
