"""Procfile parsing and the formation (which instances of which types run, on which port).

The grammar is the de-facto one of honcho and foreman, ``^([A-Za-z0-9_-]+):\\s*(.+)$``, with one
difference: a line that is neither a process, a comment nor blank is an error naming the file and
line, where honcho and foreman silently drop it (and the user silently loses a process). A name
must not start with ``-`` (it would read as an option: ``tuirunner -web``). A leading UTF-8 byte
order mark is ignored. The file must be a regular file of at most 1 MiB (see ``limits``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tuirunner.errors import UserError
from tuirunner.limits import FileRefused, read_limited

_LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")
_VALID_NAME = re.compile(r"[A-Za-z0-9_-]+")

DEFAULT_BASE_PORT = 5000
PORT_STEP = 100
MAX_PORT = 65535


@dataclass(frozen=True)
class ProcessType:
    """One line of a Procfile."""

    name: str
    command: str
    index: int  # position in the Procfile, 0-based; decides the port block
    line: int  # 1-based line number in the file


@dataclass(frozen=True)
class Procfile:
    path: Path
    types: tuple[ProcessType, ...]

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.types]


def _explain(line: str) -> str:
    """Why *line* is not ``name: command``."""
    name, colon, _ = line.partition(":")
    if not colon:
        return "expected 'name: command'"
    if not name.strip():
        return "the process name is empty"
    if name[:1].isspace():
        return "a process line must not be indented"
    if name[-1:].isspace() and _VALID_NAME.fullmatch(name.strip()):
        return "no space allowed between the name and ':'"
    if not _VALID_NAME.fullmatch(name):
        return f"invalid process name {name.strip()!r} (letters, digits, '_' and '-' only)"
    return "the command is empty"


def parse_procfile_text(text: str, path: Path) -> Procfile:
    types: list[ProcessType] = []
    seen: dict[str, int] = {}
    text = text.removeprefix("\ufeff")  # a byte order mark, as Windows editors write
    for lineno, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        m = _LINE.match(raw.rstrip())
        if m is None or not m.group(2).strip():
            raise UserError(f"{path}:{lineno}: {_explain(raw)}: {raw.strip()!r}")
        name, command = m.group(1), m.group(2).strip()
        if name.startswith("-"):
            raise UserError(
                f"{path}:{lineno}: invalid process name {name!r}: it must not start with '-' "
                f"(it would read as an option on the command line): {raw.strip()!r}"
            )
        if name in seen:
            raise UserError(
                f"{path}:{lineno}: duplicate process name {name!r} (first defined on line "
                f"{seen[name]})"
            )
        seen[name] = lineno
        types.append(ProcessType(name=name, command=command, index=len(types), line=lineno))
    if not types:
        raise UserError(f"{path}: no processes defined")
    return Procfile(path=path, types=tuple(types))


def load_procfile(path: Path) -> Procfile:
    try:
        data = read_limited(path)
    except FileNotFoundError:
        raise UserError(f"{path}: Procfile does not exist") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a directory, not a Procfile") from None
    except FileRefused as exc:
        raise UserError(f"{path}: refusing to read this Procfile: {exc}") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read Procfile: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UserError(f"{path}:{line}: not valid UTF-8") from None
    return parse_procfile_text(text, path)


@dataclass(frozen=True)
class Instance:
    """One process to run: ``web.1``, ``worker.2`` …"""

    type: ProcessType
    number: int  # 1-based
    port: int
    # Where its port comes from: ``tuirunner.toml [processes.web.port]`` or
    # ``Procfile line 3: base port 5000 + 100 × 2`` (then `` + 1`` for web.2 …).
    port_from: str = ""

    @property
    def name(self) -> str:
        return f"{self.type.name}.{self.number}"

    @property
    def command(self) -> str:
        return self.type.command


def parse_concurrency(specs: list[str]) -> dict[str, int]:
    """``["web=2,worker=3", "all=1"]`` → ``{"web": 2, "worker": 3, "all": 1}``."""
    result: dict[str, int] = {}
    for spec in specs:
        for item in spec.split(","):
            item = item.strip()
            if not item:
                continue
            name, sep, count = item.partition("=")
            name = name.strip()
            if not sep or not name:
                raise UserError(f"invalid concurrency {item!r}: expected name=number")
            try:
                value = int(count)
            except ValueError:
                raise UserError(
                    f"invalid concurrency {item!r}: {count.strip()!r} is not a number"
                ) from None
            if value < 0:
                raise UserError(f"invalid concurrency {item!r}: must not be negative")
            result[name] = value
    return result


def formation(
    procfile: Procfile,
    selected: list[str] | None = None,
    concurrency: dict[str, int] | None = None,
    base_port: int = DEFAULT_BASE_PORT,
    ports: Mapping[str, tuple[int, str]] | None = None,
) -> list[Instance]:
    """The instances to run, in Procfile order.

    ``PORT`` is ``base + 100 × the type's position in the Procfile + instance index``, so a type's
    port does not change when only some types are started (foreman's rule; honcho counts only the
    selected types, which moves ports around). A type in *ports* (name → (port, where it is
    set): the settings' ``port``) starts at that port instead. Two instances on one port are an
    error naming both.
    """
    ports = ports or {}
    concurrency = dict(concurrency or {})
    names = procfile.names
    for name in selected or []:
        if name not in names:
            raise UserError(
                f"unknown process type {name!r}; the Procfile defines {', '.join(names)}"
            )
    default = concurrency.pop("all", 1)
    for name in concurrency:
        if name not in names:
            raise UserError(
                f"unknown process type {name!r} in --concurrency; the Procfile defines "
                f"{', '.join(names)}"
            )
    wanted = set(selected) if selected else set(names)
    instances: list[Instance] = []
    for ptype in procfile.types:
        if ptype.name not in wanted:
            continue
        count = concurrency.get(ptype.name, default)
        if count > PORT_STEP:
            raise UserError(f"concurrency of {ptype.name!r} is {count}; at most {PORT_STEP}")
        fixed = ports.get(ptype.name)
        for i in range(count):
            if fixed is not None:
                port, origin = fixed[0] + i, fixed[1]
                if port > MAX_PORT:
                    raise UserError(
                        f"{ptype.name}.{i + 1} would get port {port}, past {MAX_PORT} "
                        f"({origin} + {i}); choose a lower port"
                    )
            else:
                port = base_port + PORT_STEP * ptype.index + i
                origin = (
                    f"{procfile.path.name} line {ptype.line}: base port {base_port} + "
                    f"{PORT_STEP} × {ptype.index}"
                )
                if port > MAX_PORT:
                    raise UserError(
                        f"{ptype.name}.{i + 1} would get port {port}, past {MAX_PORT} (base "
                        f"port {base_port} + {PORT_STEP} × {ptype.index} for its place in the "
                        f"Procfile + {i}); choose a lower base port with -p"
                    )
            if i:
                origin += f" + {i}"
            instances.append(Instance(type=ptype, number=i + 1, port=port, port_from=origin))
    _refuse_shared_ports(instances)
    return instances


def _refuse_shared_ports(instances: list[Instance]) -> None:
    """UserError when two instances of different types would get the same port."""
    owners: dict[int, Instance] = {}
    for inst in instances:
        other = owners.setdefault(inst.port, inst)
        if other is not inst:
            raise UserError(
                f"{other.name} and {inst.name} would both get port {inst.port} ({other.name}: "
                f"{other.port_from}; {inst.name}: {inst.port_from}); give one of them another "
                "port (the settings' port of a process, or -p for the base port)"
            )
