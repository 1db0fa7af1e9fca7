"""Loading the environment: the shell, then env files parsed by python-dotenv (keeping each
variable's file and line), the ``.env.example``-style templates, and the settings' ``env`` of
each process type; :class:`EnvSource` loads it again when a file changes."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv.parser import parse_stream
from dotenv.variables import Variable, parse_variables

from tuirunner.environment.model import (
    SHELL,
    Definition,
    Environment,
    EnvVar,
    Source,
    SourceKind,
)
from tuirunner.environment.warning import EnvWarning, WarningKind
from tuirunner.limits import FileRefused, arg_max, max_arg_strlen, read_limited
from tuirunner.secrets import MASK, is_secret_name, is_wholly_masked, mask_value
from tuirunner.tokenformats import token_format

TEMPLATE_NAMES = (".env.example", ".env.sample", ".env.template")


@dataclass(frozen=True)
class EnvFileSpec:
    """An env file to load: its path, and the name to show for it."""

    path: Path
    display: str
    explicit: bool  # named by the user (missing → error); the default ``.env`` may be absent


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


#: What ``${VAR}`` interpolation may build, checked before a value is joined: one variable at
#: most what a process can receive (Linux's ``MAX_ARG_STRLEN``, 128 KiB as ``NAME=value``), the
#: whole environment at most ``ARG_MAX`` (capped at 6 MiB). Ten references per line would
#: otherwise grow a 1 MiB file into gigabytes.
DEFAULT_MAX_VARIABLE = 128 * 1024


def _size(name: str, value: str) -> int:
    """Bytes of ``NAME=value`` with its NUL, as exec copies it."""
    return (
        len(name.encode("utf-8", "surrogateescape"))
        + len(value.encode("utf-8", "surrogateescape"))
        + 2
    )


class _Budget:
    """The running size of the environment being built, against the bounds above."""

    def __init__(self, resolved: Mapping[str, str]):
        self.per_variable = max_arg_strlen() or DEFAULT_MAX_VARIABLE
        self.total_limit = arg_max()
        self.total = sum(_size(k, v) for k, v in resolved.items())

    def refuse(
        self, resolved: Mapping[str, str], key: str, parts: list[str], expands: bool
    ) -> str | None:
        """Why ``key = "".join(parts)`` must not be built, or None (and count it). A value
        without ``${VAR}`` is counted only: the file's size bounds it, and the exec limits
        report it with its line before anything starts."""
        size = len(key.encode("utf-8", "surrogateescape")) + 2
        for part in parts:
            size += len(part.encode("utf-8", "surrogateescape"))
            if expands and size > self.per_variable:
                return (
                    f"{key} would expand to more than {self.per_variable:,} bytes (NAME=value), "
                    "more than a process can receive; the rest of this file is ignored"
                )
        old = _size(key, resolved[key]) if key in resolved else 0
        if expands and self.total - old + size > self.total_limit:
            return (
                f"{key} would make the environment larger than {self.total_limit:,} bytes "
                "(ARG_MAX); the rest of this file is ignored"
            )
        self.total += size - old
        return None


def _parse_file(
    spec: EnvFileSpec,
    text: str,
    resolved: dict[str, str],
    definitions: dict[str, list[Definition]],
    warnings: list[EnvWarning],
    budget: _Budget | None = None,
) -> None:
    budget = budget or _Budget(resolved)
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
        parts = [atom.resolve(resolved) for atom in atoms]  # existing strings: nothing grows yet
        variables = [a for a in atoms if isinstance(a, Variable)]
        too_large = budget.refuse(resolved, binding.key, parts, expands=bool(variables))
        if too_large is not None:
            warnings.append(
                EnvWarning(
                    WarningKind.UNREADABLE,
                    too_large,
                    file=spec.display,
                    line=line,
                    name=binding.key,
                )
            )
            return
        value = "".join(parts)
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
    budget = _Budget(resolved)
    for spec in files:
        text, problem = _read_text(spec)
        if problem is not None:
            warnings.append(problem)
        if text is not None:
            _parse_file(spec, text, resolved, definitions, warnings, budget)
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
    sources: Mapping[str, str] = field(default_factory=dict)  # a variable set elsewhere: where


def process_layers(envs: Mapping[str, ProcessEnv]) -> dict[str, dict[str, EnvVar]]:
    return {
        name: {
            var: EnvVar(
                var,
                Definition(value, Source(SourceKind.SETTINGS, env.sources.get(var, env.where))),
            )
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
