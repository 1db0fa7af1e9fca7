"""Process names, resolved in one place: ``web`` means every instance of the type ``web``,
``web.1`` one instance, a group (``frontend``, from the settings' ``groups``) every instance of
its members. Every command and front end that takes names goes through
:func:`resolve`, so that they all mean the same by them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence


class UnknownName(KeyError):
    """A name that is neither an instance nor a type of the run; ``args[0]`` is the name."""


def type_of(name: str) -> str:
    """The type of an instance name (``web.1`` → ``web``); a type name is its own type."""
    head, dot, number = name.rpartition(".")
    return head if dot and number.isdigit() else name


def matches(name: str, instance: str) -> bool:
    """Whether *name* (a type or an instance) means *instance* (``web.1``)."""
    return name == instance or name == type_of(instance)


def resolve(
    names: Iterable[str],
    instances: Sequence[str],
    groups: Mapping[str, Sequence[str]] | None = None,
) -> list[str]:
    """The *instances* (names such as ``web.1``, in run order) that *names* mean, in run
    order, each once. A name of *groups* (group → process types) means its members' instances
    (members not in the run are skipped). UnknownName for a name that means none of them."""
    chosen: set[str] = set()
    for name in names:
        found = [i for i in instances if matches(name, i)]
        if not found and groups and name in groups:
            found = [i for i in instances if type_of(i) in groups[name]]
        if not found:
            raise UnknownName(name)
        chosen.update(found)
    return [i for i in instances if i in chosen]


def unknown_message(name: str, instances: Sequence[str], what: str = "this run") -> str:
    """``unknown process 'wbe'; this run has web.1, worker.1`` — the same words everywhere."""
    return f"unknown process {name!r}; {what} has {', '.join(instances)}"
