"""The command that opens a file at a line in the user's editor (no UI here).

The ``editor`` setting, a command line with ``{file}`` and ``{line}`` (``code -g
{file}:{line}``), wins; else ``$VISUAL``, else ``$EDITOR``, run as ``EDITOR +LINE FILE`` (vi,
vim, nvim, emacs, nano, micro, helix and most terminal editors understand ``+LINE``).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping


def editor_command(
    setting: str | None, environ: Mapping[str, str], file: str, line: int
) -> list[str] | None:
    """The argv that opens *file* at *line*, or None when no editor is configured."""
    if setting:
        words = shlex.split(setting)
        return [w.replace("{file}", file).replace("{line}", str(line)) for w in words]
    for name in ("VISUAL", "EDITOR"):
        value = environ.get(name, "").strip()
        if value:
            try:
                words = shlex.split(value)
            except ValueError:
                words = [value]
            return [*words, f"+{line}", file]
    return None
