"""The dependency graph of process types (``depends_on``): start order, cycles.

Each function takes the edges as a mapping from a process type to the names it depends on
(a type missing from the mapping depends on nothing).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

Edges = Mapping[str, Iterable[str]]


def start_order(names: Sequence[str], edges: Edges) -> list[str]:
    """*names* sorted so that each comes after its dependencies, otherwise keeping the given
    order: a dependency moves just before the first name that needs it. Dependencies not in
    *names* are ignored. ValueError on a cycle."""
    wanted = set(names)
    order: list[str] = []
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        if name in visiting:  # only possible with a cycle, which loading refuses
            raise ValueError(f"dependency cycle: {' -> '.join([*visiting, name])}")
        visiting.append(name)
        for dep in edges.get(name, ()):
            if dep in wanted:
                visit(dep)
        visiting.pop()
        order.append(name)

    for name in names:
        visit(name)
    return order


def find_cycle(edges: Edges) -> list[str] | None:
    """A dependency cycle as ``[a, b, a]``, or None. Depth-first, in the mapping's order."""
    done: set[str] = set()
    stack: list[str] = []

    def visit(name: str) -> list[str] | None:
        if name in stack:
            return [*stack[stack.index(name) :], name]
        if name in done:
            return None
        stack.append(name)
        for dep in edges.get(name, ()):
            found = visit(dep)
            if found:
                return found
        stack.pop()
        done.add(name)
        return None

    for name in edges:
        found = visit(name)
        if found:
            return found
    return None
