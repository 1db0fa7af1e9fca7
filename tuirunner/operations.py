"""What the keeper does for each op of :mod:`tuirunner.protocol`: one handler per op, in one
table (:data:`HANDLERS`). A handler gets the keeper, the asking session and the op, and returns
the op's result (or raises: KeyError names an unknown process, ValueError/TypeError a bad
argument; the keeper turns either into the reply's error)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from tuirunner.events import ProcessInfo
from tuirunner.protocol import (
    Detach,
    Down,
    Op,
    Resize,
    Restart,
    Reveal,
    Sample,
    Start,
    Stop,
    Write,
)

if TYPE_CHECKING:
    from tuirunner.keeper import Keeper
    from tuirunner.sessions import Session
    from tuirunner.supervisor import ManagedProcess

SAMPLE_INTERVAL = 2.0  # seconds between resource samples, while a client shows them
SAMPLE_FRESH = 0.3  # ps with nobody sampling: the CPU use over this long


def _chosen(keeper: Keeper, names: list[str] | None) -> list[ManagedProcess]:
    assert keeper.supervisor is not None
    return keeper.supervisor.processes if not names else keeper.supervisor.select(names)


async def _each(
    keeper: Keeper, names: list[str] | None, act: Callable[[str], Awaitable[Any]]
) -> list[ProcessInfo]:
    """*act* on each process *names* mean (all of them together); those processes."""
    chosen = _chosen(keeper, names)
    await asyncio.gather(*(act(p.name) for p in chosen))
    return [p.snapshot() for p in chosen]


async def restart(keeper: Keeper, session: Session, op: Restart) -> list[ProcessInfo]:
    assert keeper.supervisor is not None
    return await _each(keeper, op.names, keeper.supervisor.restart)


async def start(keeper: Keeper, session: Session, op: Start) -> list[ProcessInfo]:
    assert keeper.supervisor is not None
    return await _each(keeper, op.names, keeper.supervisor.start)


async def stop(keeper: Keeper, session: Session, op: Stop) -> list[ProcessInfo]:
    assert keeper.supervisor is not None
    return await _each(keeper, op.names, keeper.supervisor.stop)


async def sample(keeper: Keeper, session: Session, op: Sample) -> list[ProcessInfo]:
    """The processes with their resource use sampled now (``ps``): if no client has them
    sampled already, two samples SAMPLE_FRESH apart give the CPU use."""
    chosen = _chosen(keeper, op.names)
    sup = keeper.supervisor
    assert sup is not None
    last = sup.sampled_at
    if last is None or time.monotonic() - last > 2 * SAMPLE_INTERVAL:
        sup.sample_resources()
        await asyncio.sleep(SAMPLE_FRESH)
        sup.sample_resources()
    return [p.snapshot() for p in chosen]


async def down(keeper: Keeper, session: Session, op: Down) -> None:
    reason = "down" if op.pid is None else f"stopped by tuirunner down (from pid {op.pid})"
    keeper.shutdown(force=op.force, reason=reason)


async def detach(keeper: Keeper, session: Session, op: Detach) -> bool:
    """The owner (the foreground front end) leaves; the run goes on without it."""
    if session.owner:
        keeper.detach()
    return keeper.detached


async def write(keeper: Keeper, session: Session, op: Write) -> bool:
    assert keeper.supervisor is not None
    return keeper.supervisor.write(op.name, op.data)


async def resize(keeper: Keeper, session: Session, op: Resize) -> None:
    assert keeper.supervisor is not None
    keeper.supervisor.set_window_size(op.name, op.columns, op.rows)


async def reveal(keeper: Keeper, session: Session, op: Reveal) -> str | None:
    """The real value of a variable of a process's environment (current, or *version*): only
    on request, one at a time."""
    sup = keeper.supervisor
    assert sup is not None
    proc = sup.get(op.name)
    env = sup.envs.get(op.version or sup.env_version)
    if env is None:
        raise ValueError(f"environment version {op.version} is gone")
    var = env.for_process(proc.name, proc.port, sup.run_id).variables.get(op.variable)
    return None if var is None else var.value


Handler = Callable[["Keeper", "Session", Any], Awaitable[Any]]

HANDLERS: dict[type[Op], Handler] = {
    Restart: restart,
    Start: start,
    Stop: stop,
    Sample: sample,
    Down: down,
    Detach: detach,
    Write: write,
    Resize: resize,
    Reveal: reveal,
}
