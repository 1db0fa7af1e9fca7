"""Commands for a run that is going on: ``attach``, ``ps``, ``restart``, ``stop``, ``logs``,
``down``. Each connects to the keeper of the app root (``-d``), as any front end does."""

from __future__ import annotations

import argparse
import json
import sys
import time

from tuirunner.client import Client, KeeperError
from tuirunner.errors import UserError
from tuirunner.events import ProcessInfo, format_duration
from tuirunner.names import matches
from tuirunner.output import visible_controls
from tuirunner.protocol import Down, Restart, Sample, Stop

PROG = "tuirunner"


def _root(args: argparse.Namespace) -> str:
    return getattr(args, "app_root", None) or "."


def attach(args: argparse.Namespace) -> Client:
    """The connection a terminal UI attaches with (the command line starts the UI on it)."""
    if not (sys.stdout.isatty() and sys.stdin.isatty()):
        raise UserError("attach needs a terminal; for the output, use: tuirunner logs -f")
    return Client.connect(_root(args), env=True, resources=True, skim=True)


def ps(args: argparse.Namespace) -> int:
    client = Client.connect(_root(args), output=False, tail=0)
    try:
        # Resources sampled now (at once if a terminal UI has them sampled already).
        for info in client.call(Sample(), timeout=30):
            client.get(info.name).update_from(info)
    except KeeperError:
        pass  # a keeper of an older tuirunner: its snapshot, without resources
    finally:
        client.close()
    now = time.time()
    if args.json:
        print(json.dumps([ps_json(p, now) for p in client.processes], indent=2))
        return 0
    rows = [("NAME", "STATE", "PID", "UPTIME", "RESTARTS", "PORT", "CPU", "MEM", "LISTENS", "")]
    for p in client.processes:
        uptime = p.uptime(now) if p.state.alive else None
        rows.append(
            (
                p.name,
                p.label()[0],
                str(p.pid or "-"),
                "-" if uptime is None else format_duration(uptime),
                str(p.restart_count),
                str(p.port),
                "-" if p.cpu is None else f"{p.cpu}%",
                "-" if p.memory is None else f"{p.memory} MB",
                " ".join(f":{port}" for port in p.ports or ()) or "-",
                visible_controls(p.detail(now) or p.error or ""),  # may quote a path
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def ps_json(p: ProcessInfo, now: float) -> dict:
    return {
        "name": p.name,
        "type": p.type,
        "state": p.state.value,
        "status": p.label()[0],
        "detail": p.detail(now),
        "pid": p.pid,
        "uptime": round(p.uptime(now), 3) if p.state.alive and p.started_at else None,
        "restarts": p.restart_count,
        "port": p.port,
        "exit_code": None if p.exit is None else p.exit.returncode,
        "exit_signal": None if p.exit is None else p.exit.signal_name or None,
        "command": p.command,
        "oneshot": p.oneshot,
        "ready": p.ready,
        "ready_error": p.ready_error,
        "waiting_for": p.waiting_for,
        "blocked": p.blocked,
        "failures": p.failures,
        "next_start_in": (
            None if p.next_start_at is None else round(max(0.0, p.next_start_at - now), 3)
        ),
        "started_because": p.started_because,
        "error": p.error,  # why it could not be started
        "log_error": p.log_error,
        "cpu_percent": p.cpu,
        "memory_mb": p.memory,
        "listening_ports": None if p.ports is None else list(p.ports),
    }


def _control(args: argparse.Namespace, op: Restart | Stop, done: str) -> int:
    client = Client.connect(_root(args), output=False, tail=0)
    try:
        result: list[ProcessInfo] = client.call(op)
    finally:
        client.close()
    stopping = isinstance(op, Stop)
    for view in result:
        pid = f" (pid {view.pid})" if view.pid else ""
        # "web.1 restarted (pid 42)", "web.1 waiting for release.1: completed"
        alive = view.state.alive or stopping
        what = done if alive else view.detail() or view.error or view.label()[0]
        print(visible_controls(f"{view.name} {what}{pid}"))
    return 0 if all(_ok(stopping, view) for view in result) else 1


def _ok(stopping: bool, view: ProcessInfo) -> bool:
    if stopping:
        return not view.state.alive
    return view.state.alive or not (view.crashed or view.blocked)


def restart(args: argparse.Namespace) -> int:
    return _control(args, Restart(names=args.names or None), "restarted")


def stop(args: argparse.Namespace) -> int:
    return _control(args, Stop(names=args.names or None), "stopped")


def down(args: argparse.Namespace) -> int:
    client = Client.connect(_root(args), output=False, tail=0)
    alive = sum(1 for p in client.processes if p.state.alive)
    print(
        f"{PROG}: stopping {alive} process(es) (keeper pid {client.keeper_pid})…", file=sys.stderr
    )
    try:
        client.call(Down())
        client.follow()  # until the keeper has stopped everything and closes the connection
    except KeeperError:
        pass
    finally:
        client.close()
    print(f"{PROG}: stopped", file=sys.stderr)
    return 0


def logs(args: argparse.Namespace) -> int:
    from tuirunner.printer import PlainPrinter, stdout_supports_colour

    if args.lines is not None and args.lines < 0:
        raise UserError("--lines must not be negative")
    client = Client.connect(
        _root(args),
        output=args.follow,
        names=args.names or None,
        tail=args.lines,
        scrollback=None if args.lines is None else max(args.lines, 1),
    )
    names = [p.name for p in client.processes]
    colour = not args.no_color and stdout_supports_colour(sys.stdout)
    # As `docker compose logs`: the name, no time (the buffer does not keep when a line came).
    printer = PlainPrinter(
        sys.stdout, names, colour=colour, strip_child_colour=not colour, time_format=None
    )
    chosen = [p for p in client.processes if not args.names or _matches(p, args.names)]
    for proc in chosen:
        printer.lines(proc.name, proc.buffer.snapshot())
    if not args.follow:
        client.close()
        return 0
    wanted = {p.name for p in chosen}

    def on_event(event: object) -> None:
        process = getattr(event, "process", None)
        if process is None or process.name in wanted:
            printer(event)

    client.subscribe(on_event)
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


def _matches(proc: ProcessInfo, names: list[str]) -> bool:
    return any(matches(name, proc.name) for name in names)
