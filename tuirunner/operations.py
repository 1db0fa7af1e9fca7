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
from tuirunner.names import unknown_message
from tuirunner.protocol import (
    STOPPED_BY,
    Add,
    Detach,
    Down,
    Migrate,
    Op,
    Remove,
    Resize,
    Restart,
    Reveal,
    Sample,
    ShowResources,
    Start,
    Stop,
    StopStray,
    Write,
)

if TYPE_CHECKING:
    from tuirunner.keeper import Keeper
    from tuirunner.sessions import Session
    from tuirunner.supervisor import ManagedProcess

SAMPLE_INTERVAL = 2.0  # seconds between resource samples, while a client shows them
SAMPLE_SHARE = 0.001  # of a core at most: dearer rounds (1,000 process trees) come less often
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
    """A restart of named processes starts them if they are not running (an on-demand one
    too); a restart of all leaves the on-demand ones that were never started alone."""
    sup = keeper.supervisor
    assert sup is not None
    if op.names:
        chosen = _chosen(keeper, op.names)
    else:
        chosen = [p for p in sup.processes if not p.on_demand]
    await sup.restart_all(chosen)  # together: each on its dependencies' new runs
    return [p.snapshot() for p in chosen]


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
        # A reload may have taken some out of the run meanwhile (the client has heard so).
        chosen = [p for p in chosen if p in sup.index]
    return [p.snapshot() for p in chosen]


async def show_resources(keeper: Keeper, session: Session, op: ShowResources) -> bool:
    session.wants_resources = op.shown
    keeper.update_sampling()
    return op.shown


async def down(keeper: Keeper, session: Session, op: Down) -> None:
    reason = "down" if op.pid is None else f"{STOPPED_BY}tuirunner down (from pid {op.pid})"
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
    environment = env.for_instance(proc, sup.processes, sup.run_id, cwd=str(sup.app_root))
    var = environment.variables.get(op.variable)
    return None if var is None else var.value


async def add(keeper: Keeper, session: Session, op: Add) -> ProcessInfo:
    """A process added to the run (:mod:`tuirunner.reshape`)."""
    assert keeper.reshape is not None
    proc = await keeper.reshape.add(op.name, op.command, op.start)
    return proc.snapshot()


async def remove(keeper: Keeper, session: Session, op: Remove) -> list[str]:
    """A process added to the run, stopped and taken out of it."""
    assert keeper.reshape is not None
    return await keeper.reshape.remove(op.name)


async def migrate(keeper: Keeper, session: Session, op: Migrate) -> str:
    """Apply the migrations (issue 20): restart the project's ``release`` oneshot, or else add
    a ``migrate`` process (see :meth:`tuirunner.djangowatch.DjangoWatch.migrate_plan`). The
    marks clear once it completes."""
    sup = keeper.supervisor
    assert sup is not None
    name = None
    if op.name is not None:  # web or web.1: whose manage.py (an unknown one is an error)
        try:
            name = sup.select([op.name])[0].name
        except (KeyError, IndexError):
            raise ValueError(unknown_message(op.name, [p.name for p in sup.processes])) from None
    plan = sup.django.migrate_plan(name)
    if plan.release:
        for name in plan.release:
            sup.life.task(sup.restart(name))
        return f"restarting {', '.join(plan.release)}"
    existing = [p for p in sup.processes if p.type == plan.name]
    if existing:  # added by an earlier migrate: run it again
        for proc in existing:
            sup.life.task(sup.restart(proc.name))
        return f"restarting {', '.join(p.name for p in existing)}: {existing[0].command}"
    await add(keeper, session, Add(name=plan.name, command=plan.command))
    return f"started {plan.name}: {plan.command}"


async def stop_stray(keeper: Keeper, session: Session, op: StopStray) -> str:
    """Stop the stray of an earlier run here that holds *name*'s port (checked again first:
    nothing else is ever touched), then start *name* again."""
    from tuirunner import portholders

    sup = keeper.supervisor
    assert sup is not None
    proc = sup.get(op.name)
    pid = proc.stray_pid
    if pid is None:
        raise ValueError(f"{proc.name}: nothing left behind by an earlier run holds its port")
    loop = asyncio.get_running_loop()
    stopped = await loop.run_in_executor(
        None, portholders.stop_stray, pid, sup.app_root, sup.run_id
    )
    proc.stray_pid = None
    proc.port_holder = None
    sup.life.info_changed(proc)
    sup.life.task(sup.restart(proc.name))
    return f"stopped pid {', '.join(map(str, stopped))}; restarting {proc.name}"


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
    Add: add,
    Remove: remove,
    Migrate: migrate,
    StopStray: stop_stray,
    ShowResources: show_resources,
}
