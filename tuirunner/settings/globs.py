"""Glob patterns of ``watch`` and ``ignore``, matched against paths relative to the app root."""

from __future__ import annotations

import functools
import os
import re
from pathlib import PurePath


def relative(path: str | PurePath) -> str:
    """*path* as a ``/``-separated string without a leading ``./``."""
    text = PurePath(path).as_posix()
    while text.startswith("./"):
        text = text[2:]
    return text


def is_log_file(rel: str, log_file: str) -> bool:
    """*rel* is *log_file* or one of its rotated backups (``log/web.log.1``)."""
    log = relative(os.path.normpath(log_file))
    return rel == log or rel.startswith(log + ".")


@functools.lru_cache(maxsize=512)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    p = relative(pattern).rstrip("/")
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
    return _glob_regex(pattern).fullmatch(relative(path)) is not None
