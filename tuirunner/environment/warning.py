"""Warnings about env files: what could not be read or parsed, or is missing. They never stop
loading; the CLI decides which ones stop a start."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tuirunner.output import visible_controls


class WarningKind(StrEnum):
    PARSE = "parse"  # python-dotenv could not parse a statement
    MISSING_FILE = "missing-file"  # an env file named with -e does not exist
    UNREADABLE = "unreadable"  # not UTF-8, a directory, permission denied
    NO_VALUE = "no-value"  # ``FOO`` alone on a line: declared, never set
    MISSING_VAR = "missing-var"  # listed in .env.example, defined nowhere


@dataclass(frozen=True)
class EnvWarning:
    kind: WarningKind
    message: str
    file: str | None = None
    line: int | None = None
    name: str | None = None
    text: str | None = None  # the offending line, value masked

    def __str__(self) -> str:
        """For people: control characters spelled out (``\\x1b``), so that an env file cannot
        send escape sequences to the terminal through a warning."""
        where = (
            f"{self.file}:{self.line}: " if self.line else (f"{self.file}: " if self.file else "")
        )
        text = f": {self.text}" if self.text else ""
        return visible_controls(f"{where}{self.message}{text}")

    def to_json(self) -> dict:
        return {
            "kind": self.kind.value,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "name": self.name,
            "text": self.text,
        }

    @classmethod
    def from_json(cls, data: dict) -> EnvWarning:
        return cls(**{**data, "kind": WarningKind(data["kind"])})
