"""What changed between two environments (a reload of the env files), by variable name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class EnvChange:
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    @property
    def names(self) -> tuple[str, ...]:
        return (*self.added, *self.removed, *self.changed)

    def summary(self) -> str:
        parts = []
        for label, names in (
            ("added", self.added),
            ("removed", self.removed),
            ("changed", self.changed),
        ):
            if names:
                parts.append(f"{label} {', '.join(names)}")
        return "; ".join(parts) or "no change"


def changes(old: Mapping[str, str], new: Mapping[str, str]) -> EnvChange:
    """The names added, removed and changed from *old* to *new* (name → identity: see
    :meth:`Environment.identities`), each sorted."""
    return EnvChange(
        added=tuple(sorted(new.keys() - old.keys())),
        removed=tuple(sorted(old.keys() - new.keys())),
        changed=tuple(sorted(k for k in old.keys() & new.keys() if old[k] != new[k])),
    )


def merged(*parts: EnvChange) -> EnvChange:
    """Several changes as one (a name in several is said once, where it first appears)."""
    seen: set[str] = set()
    out: dict[str, list[str]] = {"added": [], "removed": [], "changed": []}
    for part in parts:
        for label in out:
            for name in getattr(part, label):
                if name not in seen:
                    seen.add(name)
                    out[label].append(name)
    return EnvChange(*(tuple(sorted(v)) for v in out.values()))


def layered_diff(old, new) -> EnvChange:
    """What changed from environment *old* to *new*: the variables, and those of each process
    type's own layer (``[processes.web.env]`` edited in the settings)."""
    parts = [changes(old.identities(), new.identities())]
    for name in sorted(old.processes.keys() | new.processes.keys()):
        before = {k: v.definition.identity for k, v in old.processes.get(name, {}).items()}
        after = {k: v.definition.identity for k, v in new.processes.get(name, {}).items()}
        parts.append(changes(before, after))
    return merged(*parts)
