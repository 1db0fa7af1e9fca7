"""What the terminal UI remembers between runs: the theme (``ctrl+p`` → theme), and which
process types wrap long lines (``w``).

Kept in ``$XDG_CONFIG_HOME/tuirunner/tui.json`` (``~/.config/tuirunner/tui.json``). A missing or
broken file means the defaults; failing to save is not worth interrupting anyone for.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


def preferences_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "tuirunner" / "tui.json"


@dataclass
class Preferences:
    path: Path
    theme: str | None = None
    # Wrapping of long lines, per process type (`w`); a type not in it wraps in narrow panes.
    wrap: dict[str, bool] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None) -> Preferences:
        path = preferences_path() if path is None else path
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls(path)
        theme = data.get("theme") if isinstance(data, dict) else None
        wrap = data.get("wrap") if isinstance(data, dict) else None
        if not isinstance(wrap, dict):
            wrap = {}
        wrap = {k: v for k, v in wrap.items() if isinstance(k, str) and isinstance(v, bool)}
        return cls(path, theme if isinstance(theme, str) else None, wrap)

    def save(self) -> None:
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tui-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"theme": self.theme, "wrap": self.wrap}, f)
            os.replace(tmp, self.path)
