"""Point at the environment when a process crashes because of it.

Django apps that read ``os.environ["SECRET_KEY"]`` die with ``KeyError: 'SECRET_KEY'``;
django-environ and Django itself raise ``ImproperlyConfigured`` naming the variable or setting.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from tuirunner.output import strip_ansi

# Only names that look like environment variables (upper case): KeyError: 'user_id' is a bug in
# the app, not a missing variable.
_KEY_ERROR = re.compile(r"KeyError: ['\"]([A-Z][A-Z0-9_]*)['\"]")
_IMPROPERLY = re.compile(r"ImproperlyConfigured: (.*)")
_NAME = re.compile(r"\b([A-Z][A-Z0-9_]{2,})\b")


def missing_variable(lines: Iterable[str], environment: Mapping[str, str]) -> tuple[str, str]:
    """``(name, "is not set" | "is empty")`` for the variable the output blames, or ``("", "")``.

    Looks at the last lines first (the traceback's last line is the exception).
    """
    for raw in reversed(list(lines)):
        line = strip_ansi(raw)
        found = _KEY_ERROR.search(line)
        candidates = [found.group(1)] if found else []
        if not candidates and (found := _IMPROPERLY.search(line)):
            candidates = _NAME.findall(found.group(1))
        for name in candidates:
            value = environment.get(name)
            if value is None:
                return name, "is not set"
            if value == "":
                return name, "is empty"
    return "", ""


def crash_hint(lines: Iterable[str], environment: Mapping[str, str], how: str) -> str | None:
    """A one-line hint, e.g. ``SECRET_KEY is not set — press e``, or None."""
    name, problem = missing_variable(lines, environment)
    if not name:
        return None
    return f"{name} {problem} — {how}"
