"""``$NAME`` and ``${NAME}`` in settings values (a ready check's URL or port), expanded with a
process's environment when it starts.

:data:`VARIABLE` is the one definition of such a reference; the exporters use it too, to keep
the references for the target's shell.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

#: ``$NAME`` (group 2) or ``${NAME}`` (group 1).
VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def variable_name(match: re.Match[str]) -> str:
    """The name in a match of :data:`VARIABLE`."""
    return match.group(1) or match.group(2)


def expand_variables(text: str, env: Mapping[str, str]) -> str:
    """``$NAME`` and ``${NAME}`` replaced by their value in *env*; ValueError if one is not
    set. Anything else, a lone ``$`` included, is kept."""

    def value(m: re.Match[str]) -> str:
        name = variable_name(m)
        if name not in env:
            raise ValueError(f"${name} is not set")
        return env[name]

    return VARIABLE.sub(value, text)
