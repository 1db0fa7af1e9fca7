"""The environment every process receives, and where each variable came from.

Order of precedence, lowest first (as honcho, foreman and overmind do):

1. the shell environment the runner was started in;
2. the env files, in the order given, later files winning (``-e .env,.env.local``);
3. the ``env`` of the process's settings (``[tool.tuirunner.processes.web.env]``), for that
   process type only;
4. what the runner sets per process: ``PORT`` and ``PS``.

Env files are parsed by python-dotenv (quotes, ``export``, multi-line values, ``${VAR}`` and
``${VAR:-default}`` interpolation). We use its statement parser rather than ``dotenv_values`` so
that every variable keeps its file and line, and so that ``${VAR}`` in ``.env.local`` can refer to
a variable of ``.env``; the interpolation itself is python-dotenv's.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from dotenv.parser import parse_stream
from dotenv.variables import Variable, parse_variables

from tuirunner.errors import UserError
from tuirunner.limits import FileRefused, read_limited
from tuirunner.options import FilterMode
from tuirunner.output import visible_controls
from tuirunner.secrets import (
    MASK,
    describe_reason,
    is_secret_name,
    is_wholly_masked,
    mask_value,
    secret_reason,
    token_format,
)

TEMPLATE_NAMES = (".env.example", ".env.sample", ".env.template")
RUN_ID_VARIABLE = "TUIRUNNER_RUN_ID"


class SourceKind(StrEnum):
    SHELL = "shell"
    FILE = "file"
    SETTINGS = "settings"  # a process's ``env`` in the settings
    RUNNER = "tuirunner"


@dataclass(frozen=True)
class Source:
    kind: SourceKind
    file: str | None = None  # the env file as the user named it; the settings table
    line: int | None = None

    def __str__(self) -> str:
        if self.kind is SourceKind.FILE:
            return f"{self.file}:{self.line}"
        if self.kind is SourceKind.SETTINGS and self.file:
            return self.file  # pyproject.toml [tool.tuirunner.processes.web.env]
        return self.kind.value


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

    def to_wire(self, key: bytes) -> list:
        """This variable as it may leave the keeper: secret values replaced by their masked form
        and a keyed digest (so that copies can still tell a changed value)."""
        definitions = []
        for d in (*self.shadowed, self.definition):
            shown = self.mask(d.value)
            digest = None if shown == d.value else _digest(key, d.value)
            src = d.source
            where = [src.kind.value, src.file, src.line]
            definitions.append([shown, digest, *where, d.references, d.undefined, d.secret_from])
        return [self.name, self.secret_reason, definitions]

    @classmethod
    def from_wire(cls, data: list) -> EnvVar:
        name, reason, raw = data
        definitions = [
            Definition(
                shown,
                Source(SourceKind(kind), file, line),
                tuple(references),
                tuple(undefined),
                tuple(secret_from),
                digest,
            )
            for shown, digest, kind, file, line, references, undefined, secret_from in raw
        ]
        return cls(name, definitions[-1], tuple(definitions[:-1]), True, reason)


def _digest(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:24]


class WarningKind(StrEnum):
    PARSE = "parse"  # python-dotenv could not parse a statement
    MISSING_FILE = "missing-file"  # an env file named with -e does not exist
    UNREADABLE = "unreadable"  # not UTF-8, a directory, permission denied
    NO_VALUE = "no-value"  # ``FOO`` alone on a line: declared, never set
    MISSING_VAR = "missing-var"  # listed in .env.example, defined nowhere


@dataclass(frozen=True)
class EnvWarning:
    kind: WarningKind
    message: str
    file: str | None = None
    line: int | None = None
    name: str | None = None
    text: str | None = None  # the offending line, value masked

    def __str__(self) -> str:
        """For people: control characters spelled out (``\\x1b``), so that an env file cannot
        send escape sequences to the terminal through a warning."""
        where = (
            f"{self.file}:{self.line}: " if self.line else (f"{self.file}: " if self.file else "")
        )
        text = f": {self.text}" if self.text else ""
        return visible_controls(f"{where}{self.message}{text}")

    def to_json(self) -> dict:
        return {
            "kind": self.kind.value,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "name": self.name,
            "text": self.text,
        }

    @classmethod
    def from_json(cls, data: dict) -> EnvWarning:
        return cls(**{**data, "kind": WarningKind(data["kind"])})


@dataclass(frozen=True)
class EnvFileSpec:
    """An env file to load: its path, and the name to show for it."""

    path: Path
    display: str
    explicit: bool  # named by the user (missing → error); the default ``.env`` may be absent


@dataclass(frozen=True)
class EnvChange:
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    @property
    def names(self) -> tuple[str, ...]:
        return (*self.added, *self.removed, *self.changed)

    def summary(self) -> str:
        parts = []
        for label, names in (
            ("added", self.added),
            ("removed", self.removed),
            ("changed", self.changed),
        ):
            if names:
                parts.append(f"{label} {', '.join(names)}")
        return "; ".join(parts) or "no change"


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

    def to_wire(self, key: bytes) -> dict:
        """A masked copy to send over the keeper's socket (see :meth:`EnvVar.to_wire`)."""
        return {
            "variables": [var.to_wire(key) for var in self.variables.values()],
            "warnings": [w.to_json() for w in self.warnings],
            "processes": {
                name: [var.to_wire(key) for var in layer.values()]
                for name, layer in self.processes.items()
            },
        }

    @classmethod
    def from_wire(cls, data: dict) -> Environment:
        variables = {}
        for raw in data["variables"]:
            var = EnvVar.from_wire(raw)
            variables[var.name] = var
        processes = {
            name: {var.name: var for var in map(EnvVar.from_wire, layer)}
            for name, layer in data.get("processes", {}).items()
        }
        return cls(variables, tuple(EnvWarning.from_json(w) for w in data["warnings"]), processes)

    def with_runner_vars(self, values: Mapping[str, str]) -> Environment:
        """A copy with variables set by the runner itself (``PORT``, ``PS``)."""
        variables = dict(self.variables)
        for name, value in values.items():
            definition = Definition(value, RUNNER)
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

    def for_process(self, name: str, port: int, run_id: str | None = None) -> Environment:
        """What process *name* (``web.1``) gets: this, the ``env`` of its type's settings, and
        :func:`runner_variables`."""
        env = self.with_process_vars(name.partition(".")[0])
        return env.with_runner_vars(runner_variables(name, port, run_id))

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
            if query:
                haystack = f"{var.name}\n{var.source}\n{var.shown_value()}".lower()
                if query not in haystack:
                    continue
            result.append(var)
        result.sort(key=lambda v: v.name)
        return result

    def diff(self, newer: Environment) -> EnvChange:
        old, new = self.identities(), newer.identities()
        return EnvChange(
            added=tuple(sorted(new.keys() - old.keys())),
            removed=tuple(sorted(old.keys() - new.keys())),
            changed=tuple(sorted(k for k in old.keys() & new.keys() if old[k] != new[k])),
        )

    def raise_for_missing_files(self) -> None:
        """At start-up a file named explicitly with ``-e`` must exist or be readable."""
        for w in self.warnings:
            if w.kind in (WarningKind.MISSING_FILE, WarningKind.UNREADABLE):
                raise UserError(str(w))


def runner_variables(name: str, port: int, run_id: str | None = None) -> dict[str, str]:
    """What the runner sets for a process: ``PORT``, ``PS`` and, in a run, ``TUIRUNNER_RUN_ID``
    (which, with ``PS``, finds the children that leave the process group)."""
    variables = {"PORT": str(port), "PS": name}
    if run_id is not None:
        variables[RUN_ID_VARIABLE] = run_id
    return variables


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_ASSIGNMENT = re.compile(r"^(\s*(?:export\s+)?([^=\s]+)\s*=)(.*)$", re.DOTALL)


def _masked_statement(text: str) -> str:
    """The first line of an unparseable statement, with what the masking rules call secret
    hidden: ``SECRET_KEY="abc`` → ``SECRET_KEY=••••``, but ``DEBUG="on`` stays as it is."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    m = _ASSIGNMENT.match(first)
    if m is None:
        # Not even NAME=…: a pasted password or token on its own line? A single word shows
        # nothing of itself, and neither does anything with a token in it.
        if not first.split(maxsplit=1)[1:] or token_format(first):
            return MASK
        return first
    head, name, value = m.groups()
    return head + mask_value(name, value)


def _read_text(spec: EnvFileSpec) -> tuple[str | None, EnvWarning | None]:
    try:
        data = read_limited(spec.path)
    except FileNotFoundError:
        if not spec.explicit:
            return None, None
        return None, EnvWarning(
            WarningKind.MISSING_FILE, "env file does not exist", file=spec.display
        )
    except IsADirectoryError:
        return None, EnvWarning(
            WarningKind.UNREADABLE, "is a directory, not an env file", file=spec.display
        )
    except FileRefused as exc:
        return None, EnvWarning(
            WarningKind.UNREADABLE, f"refusing to read this env file: {exc}", file=spec.display
        )
    except OSError as exc:
        return None, EnvWarning(
            WarningKind.UNREADABLE, f"cannot read env file: {exc.strerror}", file=spec.display
        )
    try:
        # A byte order mark is not part of the first name (python-dotenv >= 1.2 drops it too).
        return data.decode("utf-8").removeprefix("\ufeff"), None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, EnvWarning(
            WarningKind.UNREADABLE, "not valid UTF-8", file=spec.display, line=line
        )


def _parse_file(
    spec: EnvFileSpec,
    text: str,
    resolved: dict[str, str],
    definitions: dict[str, list[Definition]],
    warnings: list[EnvWarning],
) -> None:
    for binding in parse_stream(io.StringIO(text)):
        line = binding.original.line
        if binding.error:
            warnings.append(
                EnvWarning(
                    WarningKind.PARSE,
                    "python-dotenv could not parse this statement; it is ignored",
                    file=spec.display,
                    line=line,
                    text=_masked_statement(binding.original.string),
                )
            )
            continue
        if binding.key is None:  # comment or blank
            continue
        if binding.value is None and (
            not _IDENTIFIER.fullmatch(binding.key) or token_format(binding.key)
        ):
            # Not a name at all (a pasted token on its own line?): show none of it.
            warnings.append(
                EnvWarning(
                    WarningKind.PARSE,
                    "not a NAME=value statement; it is ignored",
                    file=spec.display,
                    line=line,
                    text=MASK,
                )
            )
            continue
        if binding.value is None:
            warnings.append(
                EnvWarning(
                    WarningKind.NO_VALUE,
                    f"{binding.key} has no value (no '='), so it is not set",
                    file=spec.display,
                    line=line,
                    name=binding.key,
                )
            )
            continue
        if "\x00" in binding.value:
            warnings.append(
                EnvWarning(
                    WarningKind.PARSE,
                    f"{binding.key} contains a NUL character, which no process can receive; "
                    "it is ignored",
                    file=spec.display,
                    line=line,
                    name=binding.key,
                )
            )
            continue
        atoms = list(parse_variables(binding.value))
        value = "".join(atom.resolve(resolved) for atom in atoms)
        variables = [a for a in atoms if isinstance(a, Variable)]
        refs = tuple(dict.fromkeys(a.name for a in variables))
        undefined = tuple(
            dict.fromkeys(a.name for a in variables if a.name not in resolved and a.default is None)
        )
        secret_from = tuple(
            r
            for r in refs
            if is_secret_name(r)
            or (r in definitions and definitions[r][-1].secret_from)
            or is_wholly_masked(r, resolved.get(r, ""))
        )
        resolved[binding.key] = value
        definitions.setdefault(binding.key, []).append(
            Definition(
                value, Source(SourceKind.FILE, spec.display, line), refs, undefined, secret_from
            )
        )


def template_candidates(files: Iterable[EnvFileSpec], app_root: Path) -> list[Path]:
    """``.env.example`` (``.sample``, ``.template``) in the app root and beside each env file."""
    dirs = [app_root, *(spec.path.parent for spec in files)]
    seen: set[Path] = set()
    result = []
    for d in dirs:
        for name in TEMPLATE_NAMES:
            p = d / name
            key = p.resolve() if p.exists() else p.absolute()
            if key not in seen:
                seen.add(key)
                result.append(p)
    return result


def _display(path: Path, app_root: Path) -> str:
    try:
        return str(path.relative_to(app_root))
    except ValueError:
        return str(path)


def _missing_from_templates(
    templates: Iterable[Path], app_root: Path, defined: Mapping[str, str]
) -> list[EnvWarning]:
    warnings = []
    reported: set[str] = set()
    for path in templates:
        shown = _display(path, app_root)
        try:
            data = read_limited(path)
        except FileRefused as exc:
            warnings.append(
                EnvWarning(
                    WarningKind.UNREADABLE, f"refusing to read this template: {exc}", file=shown
                )
            )
            continue
        except OSError:
            continue
        text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
        for binding in parse_stream(io.StringIO(text)):
            name = binding.key
            if binding.error or name is None or name in defined or name in reported:
                continue
            reported.add(name)
            warnings.append(
                EnvWarning(
                    WarningKind.MISSING_VAR,
                    f"{name} is listed in {shown} but no env file or the shell sets it",
                    file=shown,
                    line=binding.original.line,
                    name=name,
                )
            )
    return warnings


def load_environment(
    files: Iterable[EnvFileSpec],
    shell: Mapping[str, str],
    app_root: Path | None = None,
) -> Environment:
    """Resolve the environment from *shell* and the env *files*, keeping provenance.

    Never raises for a bad file: problems become :class:`EnvWarning` entries (the CLI turns the
    ones that must stop a start into errors).
    """
    files = tuple(files)
    resolved: dict[str, str] = dict(shell)
    definitions: dict[str, list[Definition]] = {
        name: [Definition(value, SHELL)] for name, value in shell.items()
    }
    warnings: list[EnvWarning] = []
    for spec in files:
        text, problem = _read_text(spec)
        if problem is not None:
            warnings.append(problem)
        if text is not None:
            _parse_file(spec, text, resolved, definitions, warnings)
    variables = {
        name: EnvVar(name, defs[-1], tuple(defs[:-1])) for name, defs in definitions.items()
    }
    if app_root is not None:
        candidates = template_candidates(files, app_root)
        warnings.extend(_missing_from_templates(candidates, app_root, resolved))
    return Environment(variables, tuple(warnings))


def env_file_specs(values: list[str] | None, app_root: Path) -> list[EnvFileSpec]:
    """``-e a,b -e c`` → specs; with no ``-e``, the optional default ``.env``."""
    if not values:
        return [EnvFileSpec(app_root / ".env", ".env", explicit=False)]
    specs = []
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if item:
                specs.append(EnvFileSpec(app_root / item, item, explicit=True))
    return specs


@dataclass(frozen=True)
class ProcessEnv:
    """The ``env`` of a process type's settings, and where it is written (shown as its source:
    ``pyproject.toml [tool.tuirunner.processes.web.env]``)."""

    variables: Mapping[str, str]
    where: str


def process_layers(envs: Mapping[str, ProcessEnv]) -> dict[str, dict[str, EnvVar]]:
    return {
        name: {
            var: EnvVar(var, Definition(value, Source(SourceKind.SETTINGS, env.where)))
            for var, value in env.variables.items()
        }
        for name, env in envs.items()
        if env.variables
    }


@dataclass(frozen=True)
class EnvSource:
    """Where the environment comes from, so it can be loaded again when an env file changes."""

    files: tuple[EnvFileSpec, ...]
    shell: Mapping[str, str]
    app_root: Path
    processes: Mapping[str, ProcessEnv] = field(default_factory=dict)  # by process type

    def load(self) -> Environment:
        environment = load_environment(self.files, self.shell, self.app_root)
        if not self.processes:
            return environment
        return Environment(
            environment.variables, environment.warnings, process_layers(self.processes)
        )

    def watched_files(self) -> list[Path]:
        """The env files and the ``.env.example``-style templates whose changes matter."""
        paths = [spec.path for spec in self.files]
        paths += template_candidates(self.files, self.app_root)
        return [p.absolute() for p in paths]
