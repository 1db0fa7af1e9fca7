"""Commands for a run that is going on: ``attach``, ``ps``, ``restart``, ``stop``, ``logs``,
``down``, ``add``, ``remove``. Each connects to the keeper of the app root (``-d``), as any
front end does."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from typing import Any

from tuirunner.client import Client, KeeperError
from tuirunner.errors import UserError
from tuirunner.events import (
    Notice,
    OutputEnded,
    ProcessInfo,
    ProcessOutput,
    StateChanged,
    format_duration,
)
from tuirunner.names import UnknownName, resolve
from tuirunner.output import visible_controls
from tuirunner.protocol import Add, Down, Migrate, Remove, Restart, Sample, Stop

PROG = "tuirunner"


def _root(args: argparse.Namespace) -> str:
    return getattr(args, "app_root", None) or "."


def attach(args: argparse.Namespace) -> Client:
    """The connection a terminal UI attaches with (the command line starts the UI on it)."""
    if not (sys.stdout.isatty() and sys.stdin.isatty()):
        raise UserError("attach needs a terminal; for the output, use: tuirunner logs -f")
    return Client.connect(_root(args), env=True, early_env=True, resources=True, skim=True)


def ps(args: argparse.Namespace) -> int:
    client = Client.connect(_root(args), output=False, tail=0)
    try:
        # Resources sampled now (at once if a terminal UI has them sampled already).
        for info in client.call(Sample(), timeout=30):
            # (the run may have changed since the snapshot, whose list is the one printed)
            view = client.find(info.name)
            if view is not None:
                view.update_from(info)
    except KeeperError:
        pass  # a keeper of an older tuirunner: its snapshot, without resources
    finally:
        client.close()
    now = time.time()
    if client.settings_error:
        # The run goes on with the settings it had: say why the edit was not taken.
        problem = visible_controls(client.settings_error)
        print(f"{PROG}: the last edit was not applied: {problem}", file=sys.stderr)
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
        "state": p.state_word(),  # the words of ps's STATE column (README: ps)
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
        # Why it is not ready: while its check still tries (``not ready yet: …``), or why the
        # check gave up (then ``ready_gave_up``).
        "ready_error": p.ready_error
        or (f"not ready yet: {p.ready_failure}" if p.ready_failure else None),
        "ready_gave_up": p.ready_error is not None,
        "ready_tries": p.ready_tries,
        "unhealthy": p.unhealthy,
        "health_failure": p.health_failure,
        "health_failures": p.health_failures,
        "waiting_for": p.waiting_for,
        "blocked": p.blocked,
        "failures": p.failures,
        "next_start_in": (
            None if p.next_start_at is None else round(max(0.0, p.next_start_at - now), 3)
        ),
        "started_because": p.started_because,
        "error": p.error,  # why it could not be started
        "log_error": p.log_error,
        "not_started": p.on_demand,
        "stale_settings": p.stale_settings,
        "cpu_percent": p.cpu,
        "memory_mb": p.memory,
        "listening_ports": None if p.ports is None else list(p.ports),
        "migrations": p.migrations,
        "port_holder": p.port_holder,
        "stray_pid": p.stray_pid,
    }


def migrate(args: argparse.Namespace) -> int:
    """``migrate``: apply the migrations in the run going on (the ``release`` oneshot, or a
    ``migrate`` process added to the run)."""
    client = Client.connect(_root(args), output=False, tail=0)
    try:
        done: str = client.call(Migrate(name=getattr(args, "name", None)))
    except KeeperError as exc:
        raise UserError(f"migrate: {exc}") from None
    finally:
        client.close()
    print(visible_controls(done))
    return 0


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
        alive = view.state.alive or (stopping and not view.on_demand)  # (never started)
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
        client.call(Down(pid=os.getpid()))
        client.follow()  # until the keeper has stopped everything and closes the connection
    except KeeperError:
        pass
    finally:
        client.close()
    print(f"{PROG}: stopped", file=sys.stderr)
    return 0


def logs(args: argparse.Namespace) -> int:
    from tuirunner.merge import iso_time, parse_since
    from tuirunner.printer import PlainPrinter, describe_state, stdout_supports_colour
    from tuirunner.records import JsonPrinter, compile_grep, grep_lines, line_record, numbered

    if args.lines is not None and args.lines < 0:
        raise UserError("--lines must not be negative")
    grep = compile_grep(args.grep, args.ignore_case)
    since = None if args.since is None else parse_since(args.since)
    # With --grep or --since, -n counts the lines they keep: the whole buffer is read first.
    tail = args.lines if grep is None and since is None else None
    client = Client.connect(
        _root(args),
        output=args.follow,
        names=args.names or None,
        tail=tail,
        scrollback=None if tail is None else max(tail, 1),
    )
    names = [p.name for p in client.processes]
    chosen = _chosen(client, args.names)
    wanted = {p.name for p in chosen}
    printer: Any
    if args.json:
        printer = JsonPrinter(sys.stdout, client.processes, grep, wanted)
    else:
        colour = not args.no_color and stdout_supports_colour(sys.stdout)
        # As `docker compose logs`: the name, and with --timestamps when the line came.
        printer = PlainPrinter(
            sys.stdout,
            names,
            colour=colour,
            strip_child_colour=not colour,
            time_format=iso_time if args.timestamps else None,
        )
    # Every process's lines in the order they came (as the merged view shows them): by the
    # keeper's time, then Procfile order, then line number.
    rows: list[tuple[float, int, int, str, str]] = []
    for order, proc in enumerate(chosen):
        buffer = proc.buffer
        # The unfinished last line (a prompt) too, but not when following as JSON: it comes
        # again, complete, with the same number.
        partial = bool(buffer.partial) and not (args.json and args.follow)
        kept = buffer.snapshot() if partial else list(buffer.lines)
        pairs = grep_lines(numbered(buffer, kept, buffer.total + partial), grep)
        timed = [(buffer.time(n - 1), n, text) for n, text in pairs]
        if since is not None:
            timed = [row for row in timed if row[0] is not None and row[0] >= since]
        if args.lines is not None:
            timed = timed[len(timed) - args.lines :] if args.lines else []
        rows += [(when or 0.0, order, n, proc.name, text) for when, n, text in timed]
    rows.sort(key=lambda row: row[:3])
    if args.json:
        for when, _, n, name, text in rows:
            printer.emit(line_record(name, n, text, when or None))
    else:
        _print_runs(printer, [(name, when or None, text) for when, _, _, name, text in rows])
    if not args.follow:
        client.close()
        return 0

    def on_event(event: object) -> None:
        process = getattr(event, "process", None)
        if process is not None and process.name not in wanted:
            return
        if args.json:
            printer(event)
        elif isinstance(event, ProcessOutput) and event.lines:  # with the keeper's times
            buffer = process.buffer
            first = buffer.total - len(event.lines)
            pairs = grep_lines(enumerate(event.lines), grep)
            times = [buffer.time(first + i) for i, _ in pairs] if args.timestamps else None
            _print_runs(printer, [(process.name, times[k] if times else None, line)
                                  for k, (_, line) in enumerate(pairs)])  # fmt: skip
        elif grep is not None and isinstance(event, OutputEnded) and event.last is not None:
            kept = event.last if grep_lines([(0, event.last)], grep) else None
            printer(OutputEnded(process, kept))
        elif grep is not None and isinstance(event, StateChanged | Notice):
            # A system line is a line too: printed only if it matches (`… | grep` would).
            if isinstance(event, Notice):
                line: str | None = event.message
            else:
                line = describe_state(event.process, event.new)
            if line is not None and grep_lines([(0, line)], grep):
                printer(event)
        else:
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


def _print_runs(printer: Any, rows: list[tuple[str, float | None, str]]) -> None:
    """(process, time, text) rows, printed a run of the same process and time at once (a
    printer called line by line would fall behind a flood)."""
    start = 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i][:2] != rows[start][:2]:
            name, when, _ = rows[start]
            printer.lines(name, [text for _, _, text in rows[start:i]], at=when)
            start = i


def _chosen(client: Client, names: list[str]) -> list:
    """The processes *names* mean (types, instances, groups); all without names."""
    if not names:
        return list(client.processes)
    try:
        chosen = set(resolve(names, [p.name for p in client.processes], client.groups))
    except UnknownName:
        return []
    return [p for p in client.processes if p.name in chosen]


def add(args: argparse.Namespace) -> int:
    argv = list(args.argv)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise UserError("add: no command given (usage: tuirunner add NAME -- COMMAND ...)")
    command = argv[0] if len(argv) == 1 else shlex.join(argv)
    client = Client.connect(_root(args), output=False, tail=0)
    try:
        info: ProcessInfo = client.call(
            Add(name=args.name, command=command, start=not args.no_start)
        )
    finally:
        client.close()
    pid = f" (pid {info.pid})" if info.pid else ""
    print(visible_controls(f"{info.name} added on port {info.port}{pid}"))
    return 0


def remove(args: argparse.Namespace) -> int:
    client = Client.connect(_root(args), output=False, tail=0)
    try:
        names: list[str] = client.call(Remove(name=args.name))
    finally:
        client.close()
    for name in names:
        print(visible_controls(f"{name} removed"))
    return 0
