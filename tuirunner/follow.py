"""``events`` and ``wait``: commands that follow a run's state changes, for scripts and CI.

``events [--json] [NAME ...]`` prints each state change (``web.1 crashed (exit code 1)``) until
interrupted; ``wait NAME ... [--ready|--running|--completed] [--timeout S]`` returns 0 once every
named process got there, 1 as soon as one crashed (or cannot get there) or the time ran out. Both
are clients of the keeper like any front end; what they say comes from :mod:`tuirunner.records`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from tuirunner.client import Client, EnvironmentChanged
from tuirunner.errors import UserError
from tuirunner.events import ProcessInfo, StateChanged
from tuirunner.names import UnknownName, resolve, unknown_message
from tuirunner.output import visible_controls
from tuirunner.records import Transitions, describe, state_record, verdict

PROG = "tuirunner"


def _root(args: argparse.Namespace) -> str:
    return getattr(args, "app_root", None) or "."


def chosen(client: Client, names: list[str]) -> list[ProcessInfo]:
    """The processes *names* mean (all without names); UserError naming the run's processes
    for an unknown one."""
    instances = [p.name for p in client.processes]
    try:
        picked = set(resolve(names, instances)) if names else set(instances)
    except UnknownName as exc:
        raise UserError(unknown_message(exc.args[0], instances)) from None
    return [p for p in client.processes if p.name in picked]


def env_record(event: EnvironmentChanged) -> dict[str, Any]:
    change = event.change
    return {"type": "env", "time": time.time(), "version": event.version,
            "added": list(change.added), "removed": list(change.removed),
            "changed": list(change.changed)}  # fmt: skip


def record_listener(
    client: Client, wanted: set[str] | None, emit: Callable[[dict[str, Any]], None]
) -> Callable[[object], None]:
    """A client listener that calls *emit* with a record for each state change of the *wanted*
    processes (None: all, those added later too), and each change of the environment."""
    transitions = Transitions(client.processes)

    def listen(event: object) -> None:
        if isinstance(event, StateChanged) and (wanted is None or event.process.name in wanted):
            name = transitions.name(event.process, event.new)
            if name is not None:
                emit(state_record(event.process, name))
        elif isinstance(event, EnvironmentChanged):
            emit(env_record(event))

    return listen


def events(args: argparse.Namespace) -> int:
    client = Client.connect(_root(args), output=False, tail=0, names=args.names or None)
    # Without names: every process, also those that join the run later (add, a reload).
    wanted = {p.name for p in chosen(client, args.names)} if args.names else None

    def emit(record: dict[str, Any]) -> None:
        text = json.dumps(record) if args.json else visible_controls(describe(record))
        try:
            print(text, flush=True)
        except BrokenPipeError:  # `tuirunner events | head -1`
            client.close()
            raise SystemExit(0) from None

    client.subscribe(record_listener(client, wanted, emit))
    try:
        reason = client.follow()
    except KeyboardInterrupt:
        return 0
    finally:
        client.close()
    if reason is None:
        print(f"{PROG}: the keeper went away", file=sys.stderr)
        return 1
    return 0


def wait(args: argparse.Namespace) -> int:
    if args.timeout is not None and not args.timeout >= 0:
        raise UserError("--timeout must be a number of seconds, 0 or more")
    client = Client.connect(_root(args), output=False, tail=0, names=args.names or None)
    processes = chosen(client, args.names)

    async def run() -> tuple[bool, str]:
        try:
            return await wait_for(client, processes, args.goal, args.timeout)
        finally:
            client.close()  # on the loop, while it runs

    ok, message = asyncio.run(run())
    print(visible_controls(message), file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


async def wait_for(
    client: Client, processes: list[ProcessInfo], goal: str, timeout: float | None
) -> tuple[bool, str]:
    """Wait until each of *processes* reached *goal* (``ready``, ``running``, ``completed``):
    (True, what) then; (False, why) as soon as one cannot (crashed, blocked, stopped), the
    keeper goes away or *timeout* seconds passed. *client* is connected (not yet started, or
    started: either)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[tuple[bool, str]] = loop.create_future()

    def check(_event: object = None) -> None:
        if done.done():
            return
        results = [verdict(p, goal) for p in processes]
        failed = [r for r in results if r is not None and not r[0]]
        if failed:
            done.set_result((False, failed[0][1]))
        elif all(r is not None for r in results):
            done.set_result((True, "; ".join(r[1] for r in results if r is not None)))
        elif client.closed:
            done.set_result((False, "the keeper went away"))

    unsubscribe = client.subscribe(check)
    try:
        if client.disconnected is None:
            await client.start()
        check()
        return await asyncio.wait_for(asyncio.shield(done), timeout)
    except TimeoutError:
        pending = [p.name for p in processes if verdict(p, goal) is None]
        states = ", ".join(f"{p.name} {p.label()[0]}" for p in processes if p.name in pending)
        return False, f"timed out after {timeout:g} s waiting for {goal}: {states}"
    finally:
        unsubscribe()
