"""Quoting for the syntaxes the exporters write: the POSIX shell, supervisord's INI files,
systemd unit and environment files, Docker Compose and Kubernetes YAML.

Each function returns text that the target reads back as exactly the given value, or raises
:class:`Unrepresentable` when the syntax cannot hold it (the caller turns that into a one-line
error or a fallback).
"""

from __future__ import annotations

import itertools
import json
import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from tuirunner.settings.expand import VARIABLE


class Unrepresentable(ValueError):
    """The value cannot be written in this syntax without changing it."""


# --- POSIX shell ---------------------------------------------------------------------------------


def sh_quote(text: str) -> str:
    """One shell word: ``it's`` → ``'it'"'"'s'``."""
    return shlex.quote(text)


def sh_word_with_variables(text: str) -> str:
    """One double-quoted shell word that keeps ``$NAME`` and ``${NAME}`` for the shell to expand
    (as tuirunner expands them in a ready check's URL) and everything else literal."""
    out = ['"']
    pos = 0
    for m in VARIABLE.finditer(text):
        out.append(_sh_double_escape(text[pos : m.start()]))
        out.append("${" + (m.group(1) or m.group(2)) + "}")
        pos = m.end()
    out.append(_sh_double_escape(text[pos:]))
    out.append('"')
    return "".join(out)


def _sh_double_escape(text: str) -> str:
    return re.sub(r'([\\"$`])', r"\\\1", text)


# --- supervisord (INI read by Python's configparser, then %-expanded) ----------------------------

#: Indentation of continuation lines (a value spanning lines).
INI_INDENT = "    "
# configparser (as supervisord sets it up) ends a value at ';' or '#' preceded by whitespace.
_INI_COMMENT = re.compile(r"\s[;#]")
# supervisord replaces this text in the raw file before %-formatting, even after '%%'.
_HERE = "%(here)s"
# Where a shell word is cut into separately quoted pieces: before a comment character and inside
# "%(here)s".
_INI_CUT = re.compile(r"(?<=\s)(?=[;#])|(?<=%\()(?=here\)s)")
_SAFE_SHELL_WORD = re.compile(r"[A-Za-z0-9_@+=:,./-]+")


def ini_plain(text: str) -> str:
    """A single-line value (a path, a user name) for supervisord: ``%`` doubled."""
    if not text or "\n" in text or "\r" in text or "\0" in text:
        raise Unrepresentable("empty or contains a line break")
    if text != text.strip():
        raise Unrepresentable("starts or ends with whitespace")
    if _INI_COMMENT.search(text):
        raise Unrepresentable("contains whitespace followed by ';' or '#' (a comment in INI)")
    if _HERE in text:
        raise Unrepresentable(f"contains {_HERE}")
    return text.replace("%", "%%")


def supervisord_command(words: Sequence[str]) -> str:
    """``command=`` for supervisord, which splits it with :func:`shlex.split` after configparser
    and its ``%(name)s`` expansion. Any word without NUL or CR survives: quotes are broken before
    a ``;`` or ``#`` that follows whitespace (configparser would cut the line there) and inside
    ``%(here)s`` (which supervisord replaces even when escaped), and a line break is written as a
    double-quoted newline that starts an indented continuation line."""
    return " ".join(_ini_shell_word(w) for w in words).replace("%", "%%")


def _ini_shell_word(word: str) -> str:
    if "\0" in word or "\r" in word:
        raise Unrepresentable("contains a NUL or carriage return character")
    if _SAFE_SHELL_WORD.fullmatch(word):
        return word
    parts: list[str] = []
    for i, line in enumerate(word.split("\n")):
        if i:
            # closes the previous part, '"\n"' is the newline, and the next part opens quotes
            parts.append('"\n' + INI_INDENT + '"')
        for piece in _INI_CUT.split(line):
            if piece:
                parts.append("'" + piece.replace("'", "'\"'\"'") + "'")
    return "".join(parts) or "''"


def supervisord_env_value(value: str) -> str:
    """A value of ``environment=KEY=value,…``. supervisord tokenizes it with a non-POSIX
    :class:`shlex.shlex` (quotes kept, no escapes, no concatenation) and strips quote characters
    from both ends, so some values cannot be written: :class:`Unrepresentable` says why."""
    if value == "":
        return '""'
    if "\0" in value or "\r" in value:
        raise Unrepresentable("contains a NUL or carriage return character")
    if value[0] in "'\"" or value[-1] in "'\"":
        raise Unrepresentable("starts or ends with a quote")
    if '"' not in value:
        quote = '"'
    elif "'" not in value:
        quote = "'"
    else:
        raise Unrepresentable("contains both kinds of quotes")
    if _INI_COMMENT.search(value):
        raise Unrepresentable("contains whitespace followed by ';' or '#'")
    if _HERE in value:
        raise Unrepresentable(f"contains {_HERE}")
    lines = value.split("\n")
    for before, after in itertools.pairwise(lines):
        # configparser strips every line, and a continuation line starting with ; or # is a comment
        if before != before.rstrip() or after != after.lstrip() or after[:1] in (";", "#"):
            raise Unrepresentable("has whitespace, ';' or '#' next to a line break")
    text = quote + ("\n" + INI_INDENT).join(lines) + quote
    return text.replace("%", "%%")


# --- systemd -------------------------------------------------------------------------------------


def systemd_escape(text: str) -> str:
    """The inside of a double-quoted systemd word: C escapes for ``\\``, ``"`` and control
    characters, and ``%%`` for ``%`` (unit files expand ``%n``, ``%i``, … specifiers)."""
    if "\0" in text:
        raise Unrepresentable("contains a NUL character")
    out = []
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out).replace("%", "%%")


def systemd_environment(name: str, value: str) -> str:
    """The argument of ``Environment=``: ``"NAME=value"``."""
    return f'"{name}={systemd_escape(value)}"'


def systemd_exec(words: Sequence[str]) -> str:
    """The argument of ``ExecStart=``: each word double-quoted (except simple ones), ``$``
    doubled (systemd expands ``$NAME`` in command lines; ``$$`` is a literal ``$``)."""
    out = []
    for word in words:
        escaped = systemd_escape(word).replace("$", "$$")
        out.append(escaped if _SAFE_SHELL_WORD.fullmatch(word) else f'"{escaped}"')
    return " ".join(out)


def systemd_plain(text: str) -> str:
    """A single-line value such as a path or a user name: ``%`` doubled."""
    if not text or "\n" in text or "\r" in text or "\0" in text:
        raise Unrepresentable("empty or contains a line break")
    if text != text.strip():
        raise Unrepresentable("starts or ends with whitespace")
    if text.endswith("\\"):
        raise Unrepresentable("ends with a backslash (a line continuation)")
    return text.replace("%", "%%")


def systemd_env_file_line(name: str, value: str) -> str:
    """``NAME='value'`` for an ``EnvironmentFile=``. systemd reads single-quoted values verbatim
    (line breaks included) and double-quoted ones with the shell's escapes for ``"\\`$``, as
    POSIX sh does, so the line can also be sourced by a shell."""
    if "\0" in value:
        raise Unrepresentable("contains a NUL character")
    if "'" not in value:
        return f"{name}='{value}'"
    return f'{name}="{_sh_double_escape(value)}"'


# --- YAML (Compose and Kubernetes) ---------------------------------------------------------------


class Flow(list):
    """A list written on one line: ``["/bin/sh", "-c", "…"]``."""


# Plain (unquoted) scalars are used only where no YAML 1.1 or 1.2 reader can take them for
# anything but a string: starting with a letter, '_' or '/', with no ':', '#', flow indicators or
# spaces, and not a boolean or null word. Everything else is double-quoted.
_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./-]*|[0-9]+(?:ms|s)")  # or a duration: 10s, 500ms
_RESERVED_WORDS = frozenset(
    ("y", "n", "yes", "no", "true", "false", "on", "off", "null", "~", "nan", "inf")
)
# Characters JSON leaves as they are but YAML does not allow unescaped in a double-quoted scalar,
# or reads as line breaks (YAML 1.1: NEL, LS, PS).
_YAML_ESCAPE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")


def yaml_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        raise TypeError(f"no YAML for {type(value).__name__}")
    if _PLAIN.fullmatch(value) and value.lower() not in _RESERVED_WORDS:
        return value
    text = json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar
    return _YAML_ESCAPE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def to_yaml(data: Mapping[str, Any], comments: Sequence[str] = ()) -> str:
    """Block-style YAML for dicts (kept in their order), lists, :class:`Flow` lists, strings,
    integers, booleans and None; *comments* become ``#`` lines at the top."""
    lines = [f"# {c}".rstrip() for c in comments]
    if lines:
        lines.append("")
    lines += _yaml_block(data, "")
    return "\n".join(lines) + "\n"


def _yaml_inline(value: Any) -> str:
    if isinstance(value, Flow):
        return "[" + ", ".join(yaml_scalar(v) for v in value) + "]"
    if isinstance(value, dict) and not value:
        return "{}"
    if isinstance(value, list) and not value:
        return "[]"
    return yaml_scalar(value)


def _yaml_is_block(value: Any) -> bool:
    return isinstance(value, dict | list) and not isinstance(value, Flow) and bool(value)


def _yaml_block(value: Any, pad: str) -> list[str]:
    out: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if _yaml_is_block(item):
                out.append(f"{pad}{yaml_scalar(key)}:")
                out.extend(_yaml_block(item, pad + "  "))
            else:
                out.append(f"{pad}{yaml_scalar(key)}: {_yaml_inline(item)}")
    else:
        for item in value:
            if _yaml_is_block(item):
                sub = _yaml_block(item, pad + "  ")
                sub[0] = pad + "- " + sub[0][len(pad) + 2 :]
                out.extend(sub)
            else:
                out.append(f"{pad}- {_yaml_inline(item)}")
    return out
