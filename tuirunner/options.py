"""The options of a run, as the command line gives them: a light module (the front end launches
the keeper with them before it imports anything heavy; the keeper loads the project from them)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

DEFAULT_TIMEOUT = 5.0


class FilterMode(StrEnum):
    """Which variables ``env`` and the inspector show."""

    ALL = "all"
    FILES = "files"  # only variables set by an env file
    CHANGED = "changed"  # only what differs from the shell (files and tuirunner)
    SET = "set"  # only what the env files, the settings or tuirunner set (not the shell)


@dataclass
class RunOptions:
    """The options of a run, as given on the command line (None: not given)."""

    app_root: str = "."
    procfile: str | None = None
    env: list[str] = field(default_factory=list)
    concurrency: list[str] = field(default_factory=list)
    port: int | None = None
    timeout: float | None = None
    scrollback: int | None = None
    processes: list[str] = field(default_factory=list)  # types to start; empty: all

    @classmethod
    def from_args(cls, args: Any) -> RunOptions:
        return cls(
            app_root=args.app_root or ".",
            procfile=args.procfile,
            env=list(args.env or []),
            concurrency=list(args.concurrency or []),
            port=args.port,
            timeout=args.timeout,
            scrollback=getattr(args, "scrollback", None),
            processes=list(getattr(args, "processes", None) or []),
        )

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunOptions:
        return cls(**data)

    def absolute(self) -> RunOptions:
        """The same options with the app root made absolute (for a keeper in another cwd)."""
        return dataclasses.replace(self, app_root=os.path.abspath(self.app_root))
