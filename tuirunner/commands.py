"""The commands that work on the project itself: ``start`` (the terminal UI, plain output, or
in the background), ``run``, ``check``, ``env`` and ``export``. :mod:`tuirunner.cli` parses the
arguments and calls ``cmd_NAME``; the commands on a run going on are :mod:`tuirunner.control`."""

from __future__ import annotations

import argparse
import functools
import gc
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tuirunner import export
from tuirunner.aftermath import adopt_orphans
from tuirunner.errors import UserError
from tuirunner.launch import start_keeper
from tuirunner.lean_imports import import_without_openssl
from tuirunner.limits import check_exec_limits
from tuirunner.names import UnknownName, matches, resolve, unknown_message
from tuirunner.options import DEFAULT_TIMEOUT, FilterMode, RunOptions
from tuirunner.output import visible_controls
from tuirunner.procfile import Instance, formation

if TYPE_CHECKING:
    from collections.abc import Callable

    from tuirunner.client import Client
    from tuirunner.environment import Environment
    from tuirunner.launch import KeeperProcess
    from tuirunner.project import Project

PROG = "tuirunner"


# --- configuration shared by the subcommands ----------------------------------------------------


def load_project(args: argparse.Namespace) -> Project:
    from tuirunner.project import load_project

    return load_project(RunOptions.from_args(args))


def warn(message: str) -> None:
    print(f"{PROG}: warning: {visible_controls(message)}", file=sys.stderr)


def print_env_warnings(environment: Environment) -> None:
    for w in environment.warnings:
        warn(str(w))


# --- subcommands --------------------------------------------------------------------------------


def cmd_start(args: argparse.Namespace) -> int:
    if getattr(args, "kill_stray", False):
        import_without_openssl()
        kill_strays(args)
    use_tui = args.tui
    if use_tui is None:
        use_tui = sys.stdout.isatty() and sys.stdin.isatty()
    if use_tui and not args.detach:
        # The keeper loads and checks the project (its errors come back through wait_ready),
        # and sizes the processes' terminals for the panes: the UI starts at once, and imports
        # Textual while the keeper starts, so that neither waits for the other.
        # No cyclic garbage collection until the first frame (tui.app enables it then): the
        # imports and the app's start make few cycles, and the collections cost ~5 % of it.
        gc.disable()
        options = RunOptions.from_args(args)
        adopt_orphans()  # if the keeper and its guard die, we stop what they leave
        terminal = shutil.get_terminal_size()
        keeper = start_keeper(options, foreground=True, terminal=terminal)
        import_without_openssl()  # before Textual imports asyncio (see lean_imports.py)
        connect = functools.partial(
            connect_owner,
            options.app_root,
            keeper,
            options.timeout,
            env=True,
            early_env=True,
            resources=True,
            skim=True,
        )
        return show_run(connect, terminal)
    import_without_openssl()
    project = load_project(args)
    instances = project.validate_run()
    if args.detach:
        return start_detached(project)
    print_env_warnings(project.environment)
    return run_plain_mode(args, project, instances)


def kill_strays(args: argparse.Namespace) -> None:
    """``--kill-stray``: stop what earlier runs here left holding the processes' ports."""
    from tuirunner.reachability import kill_strays as stop

    project = load_project(args)
    instances = formation(
        project.procfile(), concurrency=project.concurrency, base_port=project.base_port
    )
    for line in stop(instances, project.app_root):
        print(f"{PROG}: {visible_controls(line)}", file=sys.stderr)


def show_run(connect: Callable[[], Client], size: tuple[int, int]) -> int:
    """The terminal UI on the run *connect* connects to, its first frame drawn while the UI is
    imported (on a terminal: tui/firstframe.py; otherwise connected, then imported)."""
    import tuirunner.client  # noqa: F401  (here: the thread imports nothing while the app does)
    from tuirunner import heap
    from tuirunner.tui.firstframe import FirstFrame

    heap.steady_large_blocks()  # before the first frames come: a flood's memory stays flat

    frame = FirstFrame(connect, size).start() if os.isatty(1) else None
    # The thread gets the GIL from the imports within 0.2 ms (tui/app.py: SWITCH_INTERVAL).
    sys.setswitchinterval(0.0002)
    try:
        from tuirunner.tui.app import run_tui
        from tuirunner.tui.preload import preload

        preload()  # what the app would import after the wait for the keeper
        client = connect() if frame is None else frame.finish()
    except BaseException:
        if frame is not None:
            frame.abandon()
        raise
    return run_tui(client, first_frame=frame)


def connect_owner(app_root, keeper: KeeperProcess, timeout: float | None, **kwargs) -> Client:
    """Connect to the run we just started in the foreground. If its keeper dies before we are
    connected, what it left is stopped (see :mod:`tuirunner.aftermath`) and the error says so."""
    from tuirunner.client import Client

    try:
        return Client.connect(app_root, launched=keeper, **kwargs)
    except UserError as exc:  # it did not start, or died before we were connected
        from tuirunner import aftermath

        timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        timeout = aftermath.stop_timeout(timeout, str(keeper.paths.stop_timeout))
        code = keeper.wait(timeout + 5)
        if code is None:
            raise
        found, alive = aftermath.sweep("", timeout)
        if not found and (code >= 0 or keeper.pid is None):
            raise  # nothing was left: the error says it all
        what = aftermath.describe_death(code, keeper.pid, keeper.guard.pid)
        what += aftermath.outcome(found, alive)
        raise UserError(f"{exc}: {what}") from None


def start_detached(project: Project) -> int:
    keeper = start_keeper(project.options, foreground=False)
    pid = keeper.wait_ready()
    root = visible_controls(str(project.options.app_root))
    where = "" if root == "." else f" -d {root}"
    print(
        f"{PROG}: started in the background (keeper pid {pid}).\n"
        f"  {PROG}{where} attach      the terminal UI ('d' detaches again)\n"
        f"  {PROG}{where} ps          the processes\n"
        f"  {PROG}{where} logs -f     their output\n"
        f"  {PROG}{where} down        stop everything",
        file=sys.stderr,
    )
    return 0


def run_plain_mode(args, project: Project, instances: list[Instance]) -> int:
    from tuirunner.plain import run_plain
    from tuirunner.printer import PlainPrinter, stdout_supports_colour

    started = project.autostarted()
    names = [i.name for i in instances if i.type.name in started]  # the columns' width
    unknown = [n for n in args.quiet if not any(matches(n, i) for i in names)]
    if unknown:
        raise UserError(f"--quiet: unknown process {', '.join(sorted(unknown))}")
    quiet = set(resolve(args.quiet, names))
    tty = sys.stdout.isatty()
    colour = tty and not args.no_color and stdout_supports_colour(sys.stdout)
    printer = PlainPrinter(
        sys.stdout,
        names,
        colour=colour,
        prefix=not args.no_prefix,
        strip_child_colour=not colour,  # no colours means none: the children's go too
        quiet=quiet,
    )
    window = (80, 24)
    if tty:
        columns, rows = shutil.get_terminal_size()
        prefix = 0 if args.no_prefix else 12 + printer.width
        window = (max(columns - prefix, 20), rows)
    adopt_orphans()  # if the keeper and its guard die, we stop what they leave
    # The processes start once the printer has connected: it prints every start and exit.
    keeper = start_keeper(project.options, foreground=True, window=window, hold_start=True)
    # The environments too: a crash hint says which variable was missing.
    client = connect_owner(project.app_root, keeper, project.timeout, env=True, scrollback=1000)
    import asyncio

    return asyncio.run(run_plain(client, printer))


def cmd_run(args: argparse.Namespace) -> int:
    argv = list(args.argv)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise UserError("run: no command given (usage: tuirunner run [--] COMMAND ...)")
    project = load_project(args)
    project.environment.raise_for_missing_files()
    print_env_warnings(project.environment)
    env = project.environment.as_dict()
    if len(argv) == 1 and any(c in argv[0] for c in " \t\n;&|<>()$`'\"*?~"):
        argv = ["/bin/sh", "-c", argv[0]]  # one string with shell syntax: let the shell run it
    sys.stdout.flush()
    sys.stderr.flush()
    os.chdir(project.app_root)
    # Replace this process: the terminal, stdin/stdout/stderr, signals and the exit status all
    # pass straight through, and no runner is left in between.
    try:
        os.execvpe(argv[0], argv, env)
    except FileNotFoundError:
        print(f"{PROG}: {visible_controls(argv[0])}: command not found", file=sys.stderr)
        return 127
    except PermissionError:
        print(f"{PROG}: {visible_controls(argv[0])}: permission denied", file=sys.stderr)
        return 126
    except OSError as exc:
        print(f"{PROG}: {visible_controls(argv[0])}: {exc.strerror}", file=sys.stderr)
        return 126


def cmd_check(args: argparse.Namespace) -> int:
    from tuirunner.environment import WarningKind

    project = load_project(args)
    procfile = project.procfile()
    instances = formation(
        procfile,
        concurrency=project.concurrency,
        base_port=project.base_port,
        ports=project.settings.fixed_ports(),
    )
    check_exec_limits(instances, project.environment, procfile.path)
    problems = [
        w
        for w in project.environment.warnings
        if w.kind in (WarningKind.PARSE, WarningKind.MISSING_FILE, WarningKind.UNREADABLE)
    ]
    print_env_warnings(project.environment)
    if problems:
        print(f"{PROG}: error: {len(problems)} problem(s) in env files", file=sys.stderr)
        return 1
    from tuirunner.reachability import port_warnings, service_warnings

    for warning in port_warnings(instances, project.app_root):
        warn(warning)
    for warning in service_warnings(project.environment.as_dict()):
        warn(warning)
    print(f"Valid procfile detected ({', '.join(procfile.names)})", file=sys.stderr)
    settings = project.settings
    if settings.path is not None:  # without settings, honcho's output exactly
        print(f"Settings: {visible_controls(settings.describe())}", file=sys.stderr)
        print_ports(instances)
    on_demand = [n for n in procfile.names if not settings.process(n).autostart]
    if on_demand:
        print(f"On demand (autostart = false): {', '.join(on_demand)}", file=sys.stderr)
    for name, members in settings.groups.items():
        print(f"Group {name}: {', '.join(members)}", file=sys.stderr)
    if settings.local is not None and tracked_by_git(settings.local):
        warn(f"{settings.local.name} is not git-ignored: it is one developer's (.gitignore)")
    for line in log_file_lines(project):
        print(visible_controls(line), file=sys.stderr)
    return 0


def print_ports(instances: list[Instance]) -> None:
    """``check``: each instance's port and where it comes from, and the variables that give
    every process the port of each type."""
    from tuirunner.environment import port_variable

    print("Ports:", file=sys.stderr)
    width = max(len(i.name) for i in instances)
    for inst in instances:
        line = f"  {inst.name.ljust(width)}  {inst.port:<5}  {inst.port_from}"
        print(visible_controls(line), file=sys.stderr)
    seen: dict[str, str] = {}
    for inst in instances:
        if inst.number != 1:
            continue
        name = port_variable(inst.type.name)
        if name in seen:
            warn(
                f"{inst.type.name} and {seen[name]} both give {name}; it has the port of "
                f"{seen[name]}"
            )
        seen.setdefault(name, inst.type.name)


def log_file_lines(project: Project) -> list[str]:
    """Where each ``log_file`` goes (relative to the app root, or absolute outside it), and what
    tuirunner will do with it (``check``)."""
    from tuirunner.logowner import describe

    lines = []
    for name, ps in sorted(project.settings.processes.items()):
        if ps.log_file is not None:
            root = os.path.abspath(project.app_root)
            path = Path(os.path.normpath(os.path.join(root, ps.log_file)))
            shown = os.path.relpath(path, root)  # inside the app root: as the settings say
            shown = str(path) if shown.startswith("..") else shown
            lines.append(f"Log file of {name}: {shown} — {describe(path)}")
    return lines


def tracked_by_git(path: Path) -> bool:
    """Whether *path* is in a git work tree and not ignored (False without git)."""
    try:
        result = subprocess.run(
            ["git", "check-ignore", "-q", path.name],
            cwd=path.parent,
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 1  # 0: ignored; 128: not a work tree


def cmd_env(args: argparse.Namespace) -> int:
    from tuirunner.envview import render_env

    project = load_project(args)
    project.environment.raise_for_missing_files()
    environment = project.environment
    process_name = None
    procfile = None
    if args.process or project.procfile_path.exists():
        procfile = project.procfile()
    if procfile is not None:
        instances = formation(
            procfile,
            concurrency=project.concurrency,
            base_port=project.base_port,
            ports=project.settings.fixed_ports(),
        )
        names = [i.name for i in instances]
        try:
            first = resolve([args.process], names)[0] if args.process else names[0]
        except UnknownName:
            raise UserError(unknown_message(args.process, names, "this formation")) from None
        chosen = instances[names.index(first)]
        process_name = chosen.name
        # TUIRUNNER_RUN_ID is left out: it is new for every run.
        cwd = os.path.abspath(project.app_root)  # as the keeper has it (RunOptions.absolute)
        environment = environment.for_instance(chosen, instances, cwd=cwd)
    mode = FilterMode(args.filter)
    if args.json:
        payload = {
            "process": process_name,
            "variables": [v.to_json(args.reveal) for v in environment.rows(mode)],
            "warnings": [w.to_json() for w in environment.warnings],
        }
        print(json.dumps(payload, indent=2))
        return 0
    render_env(
        environment, process_name, mode=mode, reveal=args.reveal, terminal=sys.stdout.isatty()
    )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """``export FORMAT LOCATION``: see tuirunner/export/__init__.py."""
    project = load_project(args)
    project.environment.raise_for_missing_files()
    print_env_warnings(project.environment)
    return export.run(args, project, project.timeout)


def cmd_init(args: argparse.Namespace) -> int:
    """``init``: see tuirunner/scaffold/."""
    from pathlib import Path

    from tuirunner.scaffold.detect import detect
    from tuirunner.scaffold.plan import make_plan
    from tuirunner.scaffold.write import carry_out

    root = Path(args.app_root or ".")
    plan = make_plan(detect(root), force=args.force)
    return carry_out(plan, dry_run=args.dry_run)
