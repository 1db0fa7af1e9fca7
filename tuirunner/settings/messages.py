"""msgspec's validation errors in tuirunner's words.

msgspec reports a mistake as ``Expected `int` >= 1 - at `$.processes[...].log_backups```: a
message for a program, about the first mistake in the file's order, at a path that hides table
keys. :func:`schema_error` walks the parsed TOML beside the schema to the first mistake in the
order the hand-written validator reported them (a table's unknown keys, then its keys in the
schema's order), and says it in its words: ``processes.web.log_backups: must be from 0 to 1000,
got -1``, ``unknown key (did you mean "procfile"?)``.
"""

from __future__ import annotations

import enum
import json
import math
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec

from tuirunner.settings.model import SETTINGS_FILE, SettingsError, key_path

Key = tuple[str | int, ...]


def describe(value: Any) -> str:
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
    if type(value).__module__ == "datetime":  # tomllib's dates, times and date-times
        return "a date/time"
    return type(value).__name__


def one_of(values: Iterable[str]) -> str:
    quoted = [f'"{v}"' for v in values]
    return ", ".join(quoted[:-1]) + f" or {quoted[-1]}" if len(quoted) > 1 else quoted[0]


def unknown_key(prefix: str, keys: Key, name: str, allowed: Iterable[str]) -> str:
    """The message for key *name* in the table at *keys*, which allows *allowed* (*prefix*:
    ``tool.tuirunner`` in pyproject.toml, empty in tuirunner.toml)."""
    import difflib  # only for a mistake

    allowed = list(allowed)
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    hint = f'did you mean "{close[0]}"?' if close else f"valid keys: {', '.join(allowed)}"
    if name == "tool" and not prefix and not keys:
        hint = f"in {SETTINGS_FILE} the keys are at the top level, without [tool.tuirunner]"
    return f"unknown key ({hint})"


def schema_error(
    exc: msgspec.ValidationError, table: Any, schema: type, path: Path, prefix: str
) -> SettingsError:
    """*exc*, raised converting *table* to *schema*, as a SettingsError about the first mistake
    in the schema's key order (a table's unknown keys first, then its keys in the order of the
    struct's fields), as the hand-written validator reported it."""
    keys, value, tp, unknown = _first_mistake(table, schema, ())
    if unknown is not None:
        allowed = _unwrap(_member(tp, value))[0].__struct_fields__
        reason = unknown_key(prefix, keys, unknown, allowed)
        keys = (*keys, unknown)
    elif _valid(value, tp):  # not found again (cannot happen): msgspec's own words
        reason = str(exc)
    else:
        reason = explain(tp, value)
    return SettingsError(path, key_path(prefix, keys), reason)


def _first_mistake(value: Any, tp: Any, keys: Key) -> tuple[Key, Any, Any, str | None]:
    """The key path, value and schema type of the first mistake in *value*, and the name of an
    unknown key if that is the mistake. msgspec reports the first in the file's order instead,
    and its path leaves out table keys (``$.processes[...]``)."""
    bare, _ = _unwrap(_member(tp, value))
    origin = typing.get_origin(bare)
    items: Iterable[tuple[str | int, Any, Any]] = ()
    if _is_struct(bare) and isinstance(value, dict):
        fields = bare.__struct_fields__
        unknown = next((name for name in value if name not in fields), None)
        if unknown is not None:
            return keys, value, tp, unknown
        hints = typing.get_type_hints(bare, include_extras=True)
        items = ((name, value[name], hints[name]) for name in fields if name in value)
    elif origin is dict and isinstance(value, dict):
        items = ((k, v, typing.get_args(bare)[1]) for k, v in value.items())
    elif origin is list and isinstance(value, list):
        items = ((i, v, typing.get_args(bare)[0]) for i, v in enumerate(value))
    for key, item, item_tp in items:
        if not _valid(item, item_tp):
            return _first_mistake(item, item_tp, (*keys, key))
    return keys, value, tp, None


def _valid(value: Any, tp: Any) -> bool:
    try:
        msgspec.convert(value, tp, strict=True)
    except msgspec.ValidationError:
        return False
    return True


def _is_struct(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, msgspec.Struct)


def _unwrap(tp: Any) -> tuple[Any, dict[str, Any]]:
    """*tp* without ``Annotated`` and ``None`` in a union, and the ``extra`` of its Metas."""
    extra: dict[str, Any] = {}
    while True:
        if typing.get_origin(tp) is typing.Annotated:
            tp, *metas = typing.get_args(tp)
            for meta in metas:
                if isinstance(meta, msgspec.Meta) and meta.extra:
                    extra = {**meta.extra, **extra}
            continue
        if _is_union(tp):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
        return tp, extra


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _constraints(tp: Any) -> dict[str, Any]:
    """The numeric bounds of the Metas on *tp* (``ge``, ``gt``, ``le``)."""
    found: dict[str, Any] = {}
    if _is_union(tp):  # X | None
        tp = next(a for a in typing.get_args(tp) if a is not type(None))
    while typing.get_origin(tp) is typing.Annotated:
        tp, *metas = typing.get_args(tp)
        for meta in metas:
            for bound in ("ge", "gt", "le"):
                if getattr(meta, bound, None) is not None:
                    found.setdefault(bound, getattr(meta, bound))
    return found


def _kind(tp: Any) -> str:
    """The TOML kind a (bare) type reads: table, array, string, bool, int, float."""
    origin = typing.get_origin(tp) or tp
    if origin is dict or _is_struct(origin):
        return "table"
    if origin in (list, tuple):
        return "array"
    if origin is str or _is_enum(origin):
        return "string"
    return {bool: "bool", int: "int", float: "float"}.get(origin, "?")


def _value_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    for kind, types_ in (("table", dict), ("array", list), ("string", str)):
        if isinstance(value, types_):
            return kind
    return {int: "int", float: "float"}.get(type(value), "?")


def _member(tp: Any, value: Any) -> Any:
    """The member of a union that reads *value*'s kind (an int also as a float), or *tp*."""
    bare, _ = _unwrap(tp)
    if not _is_union(bare):
        return tp
    kind = _value_kind(value)
    members = [a for a in typing.get_args(bare) if a is not type(None)]
    for want in (kind, "float" if kind == "int" else None):
        for member in members:
            if _kind(_unwrap(member)[0]) == want:
                return member
    return tp


_EXPECTED = {
    "table": "a table",
    "array": "an array of strings",
    "string": "a string",
    "bool": "true or false",
    "int": "an integer",
    "float": "a number (of seconds)",
}


def _is_enum(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, enum.Enum)


def _what(tp: Any) -> str:
    """What a (bare) type expects, in words: ``"no", "on-failure" or "always"``, a table."""
    tp, _ = _unwrap(tp)
    return one_of(e.value for e in tp) if _is_enum(tp) else _EXPECTED[_kind(tp)]


def explain(tp: Any, value: Any) -> str:
    """Why *value* is not of the schema type *tp*, in the settings' words."""
    _, extra = _unwrap(tp)
    tp = _member(tp, value)
    bare, inner = _unwrap(tp)
    extra = {**extra, **inner}
    if _is_union(bare):  # no member reads this kind of value
        members = typing.get_args(bare)
        if "or" in extra:  # the enum's values, then the words for the rest
            members = [m for m in members if _is_enum(_unwrap(m)[0])]
        what = extra.get("expected") or " or ".join([*map(_what, members), *extra.get("or", "")])
        return f"expected {what}, got {describe(value)}"
    kind = _kind(bare)
    if _is_enum(bare) or _value_kind(value) not in (kind, "int" if kind == "float" else kind):
        hint = ""
        if extra.get("quote") and isinstance(value, int | float):
            hint = f' (quote it: "{describe(value)}")'
        what = extra.get("expected") or _what(bare)
        return f"expected {what}, got {describe(value)}{hint}"
    if kind == "string":
        if not value.strip():
            return "must not be empty"
        return "must not contain a NUL character"
    bounds = _constraints(tp)
    if kind == "float":
        if not math.isfinite(value):
            return f"must be a finite number, got {describe(value)}"
        low, high = bounds.get("ge"), bounds.get("le")
        if "gt" in bounds and value <= bounds["gt"]:
            return f"must be greater than {bounds['gt']:g}, got {describe(value)}"
        if low == 0 and value < 0:
            return f"must not be negative, got {describe(value)}"
        if low is not None and value < low:
            return f"must be from {low:g} to {high:g} (seconds), got {describe(value)}"
        return f"must be at most {high:g} (seconds), got {describe(value)}"
    low, high = bounds.get("ge"), bounds.get("le")
    limits = f"from {low} to {high}" if high is not None else f"at least {low}"
    return f"must be {limits}, got {value}"
