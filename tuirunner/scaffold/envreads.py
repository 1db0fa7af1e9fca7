"""The environment variables a settings module reads, found with :mod:`ast` (never imported).

Four styles are understood:

- the standard library: ``os.environ["X"]``, ``os.environ.get("X", d)``, ``os.getenv("X", d)``,
  ``environ["X"]`` / ``getenv("X")`` after ``from os import …``;
- django-environ: ``env = environ.Env(DEBUG=(bool, False))``, then ``env("X")``,
  ``env.str("X")``, ``env.bool("X", default=…)``, ``env.db()`` (``DATABASE_URL``), …;
- python-decouple: ``config("X", default=…, cast=bool)`` (``from decouple import config``, or
  ``config = AutoConfig(…)``);
- a name bound to any of these (``getenv = os.environ.get``) is not followed: rare, and guessing
  would list variables that are not read.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

#: django-environ methods that read a variable with a default name when called without one.
ENVIRON_DEFAULT_NAMES = {
    "db": "DATABASE_URL",
    "db_url": "DATABASE_URL",
    "cache": "CACHE_URL",
    "cache_url": "CACHE_URL",
    "email": "EMAIL_URL",
    "email_url": "EMAIL_URL",
    "search_url": "SEARCH_URL",
}
#: django-environ methods that do not read one variable.
ENVIRON_NOT_READS = {"read_env", "smart_cast", "parse_value", "escape_proxy", "prefix"}


@dataclass
class EnvRead:
    """One variable the settings read: where, with which default (as written), and a value
    that suits development when one can be told (``True`` for ``cast=bool``)."""

    name: str
    file: Path
    line: int
    style: str  # "os", "django-environ", "decouple"
    required: bool
    default: str | None = None  # the default as written in the source
    cast: str | None = None  # "bool", "int", "list", … when the code says
    compared_to: str | None = None  # os.environ.get("DEBUG") == "1" → "1"

    @property
    def needed(self) -> bool:
        """Required, or ``SECRET_KEY``: Django does not start without one, default or not."""
        return self.required or self.name == "SECRET_KEY"

    def location(self, root: Path) -> str:
        try:
            shown = self.file.relative_to(root)
        except ValueError:
            shown = self.file
        return f"{shown}:{self.line}"


def _literal(node: ast.AST | None) -> str | None:
    if node is None:
        return None
    try:
        value = ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return ast.unparse(node)
    return str(value) if isinstance(value, str) else repr(value)


def _string(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value:
        return node.value
    return None


def _keyword(call: ast.Call, name: str) -> ast.AST | None:
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


def _dotted(node: ast.AST) -> str | None:
    """``os.environ.get`` → "os.environ.get"; None for anything but names and attributes."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


class _Scanner(ast.NodeVisitor):
    def __init__(self, file: Path):
        self.file = file
        self.reads: list[EnvRead] = []
        self.os_names = {"os"}  # import os (as …)
        self.environ_names: set[str] = set()  # from os import environ
        self.getenv_names: set[str] = set()  # from os import getenv
        self.environ_modules: set[str] = set()  # import environ
        self.env_objects: set[str] = set()  # env = environ.Env(...)
        self.decouple_configs: set[str] = set()  # from decouple import config; AutoConfig()
        self.decouple_modules: set[str] = set()  # import decouple
        self._parents: dict[int, ast.AST] = {}

    # --- imports and bindings ----------------------------------------------------------------

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            bound = alias.asname or alias.name
            if alias.name == "os":
                self.os_names.add(bound)
            elif alias.name == "environ":
                self.environ_modules.add(bound)
            elif alias.name == "decouple":
                self.decouple_modules.add(bound)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            bound = alias.asname or alias.name
            if node.module == "os" and alias.name == "environ":
                self.environ_names.add(bound)
            elif node.module == "os" and alias.name == "getenv":
                self.getenv_names.add(bound)
            elif node.module == "decouple" and alias.name == "config":
                self.decouple_configs.add(bound)
            elif node.module == "environ" and alias.name == "Env":
                self.environ_modules.add(f"<Env:{bound}>")

    def _is_env_class(self, func: ast.AST) -> bool:
        dotted = _dotted(func)
        if dotted is None:
            return False
        if f"<Env:{dotted}>" in self.environ_modules:
            return True
        mod, _, attr = dotted.rpartition(".")
        return attr in ("Env", "FileAwareEnv") and mod in self.environ_modules

    def _is_autoconfig(self, func: ast.AST) -> bool:
        dotted = _dotted(func) or ""
        mod, _, attr = dotted.rpartition(".")
        return attr in ("AutoConfig", "Config") and (mod in self.decouple_modules or not mod)

    def visit_Assign(self, node: ast.Assign) -> None:
        value = node.value
        if isinstance(value, ast.Call):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if self._is_env_class(value.func):
                self.env_objects.update(names)
                for kw in value.keywords:  # Env(DEBUG=(bool, False)): schema with defaults
                    if not kw.arg:
                        continue
                    cast, default = None, kw.value
                    if isinstance(kw.value, ast.Tuple) and len(kw.value.elts) == 2:
                        cast, default = ast.unparse(kw.value.elts[0]), kw.value.elts[1]
                    elif isinstance(kw.value, ast.Name | ast.Attribute):  # Env(DEBUG=bool)
                        cast, default = ast.unparse(kw.value), None
                    self._add(
                        kw.arg, node, "django-environ", default is None, _literal(default), cast
                    )
            elif self._is_autoconfig(value.func):
                self.decouple_configs.update(names)
        self.generic_visit(node)

    # --- reads ------------------------------------------------------------------------------

    def _add(self, name, node, style, required, default=None, cast=None) -> None:
        parent = self._parents.get(id(node))
        compared = None
        if isinstance(parent, ast.Compare) and len(parent.comparators) == 1:
            other = parent.comparators[0] if parent.left is node else parent.left
            if isinstance(parent.ops[0], ast.Eq | ast.NotEq):
                compared = _string(other)
        self.reads.append(
            EnvRead(name, self.file, node.lineno, style, required, default, cast, compared)
        )

    def _is_environ(self, node: ast.AST) -> bool:
        dotted = _dotted(node)
        if dotted in self.environ_names:
            return True
        mod, _, attr = (dotted or "").rpartition(".")
        return attr == "environ" and mod in self.os_names

    def visit_Subscript(self, node: ast.Subscript) -> None:
        name = _string(node.slice)
        if name and self._is_environ(node.value) and isinstance(node.ctx, ast.Load):
            self._add(name, node, "os", True)
        elif name and _dotted(node.value) in self.env_objects:  # env["X"]
            self._add(name, node, "django-environ", True)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        self._call(node)
        self.generic_visit(node)

    def _call(self, node: ast.Call) -> None:
        func = node.func
        dotted = _dotted(func) or ""
        first = node.args[0] if node.args else _keyword(node, "var") or _keyword(node, "key")
        name = _string(first)
        second = node.args[1] if len(node.args) > 1 else _keyword(node, "default")
        mod, _, attr = dotted.rpartition(".")
        cast_node = _keyword(node, "cast")
        cast = ast.unparse(cast_node) if cast_node is not None else None
        # os.environ.get / os.getenv / getenv / os.environ.setdefault
        environ_get = (
            isinstance(func, ast.Attribute)
            and attr in ("get", "setdefault")
            and self._is_environ(func.value)
        )
        if (
            environ_get
            or (attr == "getenv" and mod in self.os_names)
            or (dotted in self.getenv_names)
        ):
            if name and name != "DJANGO_SETTINGS_MODULE":
                self._add(name, node, "os", False, _literal(second) if second else "None")
            return
        # decouple: config("X", default=…, cast=…)
        if dotted in self.decouple_configs or (attr == "config" and mod in self.decouple_modules):
            if name:
                default = _keyword(node, "default")
                self._add(name, node, "decouple", default is None, _literal(default), cast=cast)
            return
        # django-environ: env("X"), env.str("X"), env.db()
        if dotted in self.env_objects or (mod in self.env_objects and attr):
            method = attr if mod in self.env_objects else "str"
            if method in ENVIRON_NOT_READS:
                return
            if name is None and not node.args:
                name = ENVIRON_DEFAULT_NAMES.get(method)
            if name:
                default = _keyword(node, "default")
                kind = method if method not in ("str", "__call__") else cast
                self._add(name, node, "django-environ", default is None, _literal(default), kind)

    def scan(self, tree: ast.AST) -> list[EnvRead]:
        for parent in ast.walk(tree):
            for child in ast.iter_child_nodes(parent):
                self._parents[id(child)] = parent
        self.visit(tree)
        return self.reads


def scan_source(source: str, file: Path) -> list[EnvRead]:
    """The variables read by the Python *source* of *file*, each once (see :func:`_merge`);
    SyntaxError if it is not Python."""
    by_name: dict[str, EnvRead] = {}
    _merge(by_name, _Scanner(file).scan(ast.parse(source, filename=str(file))))
    return list(by_name.values())


def _merge(by_name: dict[str, EnvRead], reads: list[EnvRead]) -> None:
    """Each name once, at its first read; required when no read has a default."""
    for read in reads:
        known = by_name.get(read.name)
        if known is None:
            by_name[read.name] = read
            continue
        known.required = known.required and read.required
        known.default = known.default if known.default is not None else read.default
        known.cast = known.cast or read.cast
        known.compared_to = known.compared_to or read.compared_to


def scan_files(files: list[Path]) -> tuple[list[EnvRead], list[str]]:
    """The variables read by *files*, each name once (at its first read; required when no read
    has a default), and the files that could not be read (``settings.py:3: invalid syntax``)."""
    by_name: dict[str, EnvRead] = {}
    problems: list[str] = []
    for file in files:
        try:
            reads = scan_source(file.read_text(encoding="utf-8"), file)
        except SyntaxError as exc:
            problems.append(f"{file}:{exc.lineno}: {exc.msg} (its variables are not listed)")
            continue
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{file}: cannot read: {exc}")
            continue
        _merge(by_name, reads)
    return list(by_name.values()), problems
