"""``exec`` for a Procfile command the shell would only run as one simple command.

Each instance runs ``/bin/sh -c COMMAND``, as honcho does. dash (Debian's and Ubuntu's
``/bin/sh``) stays as the parent of a lone command, so the pid shown would be the shell's, not
the program's (bash, macOS's ``/bin/sh``, already replaces itself). ``exec COMMAND`` makes the
program the process itself: the pid shown, signals and the exit status are the program's, and
the output is the same. Anything with shell syntax beyond one simple command (``;``, ``&&``,
pipes, redirections, subshells, a leading assignment, a keyword or a builtin) is left as
written: the shell runs it as it would.
"""

from __future__ import annotations

import re

# Outside quotes, these make more than one simple command (or a redirection, kept simple).
_OPERATORS = set(";&|()<>`\n")
# A first word the shell treats specially: keywords, and builtins that must run in the shell.
_KEYWORDS = "! { } [[ if then else elif fi for while until do done case esac function select time"
_BUILTINS = (
    "exec cd . source eval export readonly unset set shift trap wait exit return alias ulimit "
    "umask read local declare typeset command builtin break continue : true false"
)
_SPECIAL = frozenset(f"{_KEYWORDS} {_BUILTINS}".split())
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\+?=")


def _is_simple(command: str) -> bool:
    """No shell operator outside quotes (a ``$(…)`` holding one counts: kept as written)."""
    quote: str | None = None
    escaped = False
    for char in command:
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote is not None:
            if char == quote:
                quote = None
            elif char == "`":
                return False
        elif char in "'\"":
            quote = char
        elif char in _OPERATORS:
            return False
    return quote is None and not escaped


def exec_form(command: str) -> str:
    """*command* with ``exec`` before it when it is one simple command, else as written."""
    stripped = command.strip()
    if not stripped or stripped.startswith("#") or not _is_simple(stripped):
        return command
    first = stripped.split(None, 1)[0]
    if first in _SPECIAL or _ASSIGNMENT.match(first):
        return command
    return f"exec {stripped}"
