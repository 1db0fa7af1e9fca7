"""Command line: argument parsing and dispatch.

``tuirunner [start] [PROCESS ...]``, ``run``, ``check``, ``env``, and the commands that talk to a
running keeper (``attach``, ``ps``, ``restart``, ``stop``, ``logs``, ``down``; see
:mod:`tuirunner.control`). Global options are accepted before or after the subcommand, as
honcho does (``tuirunner -e .env.test run pytest`` and ``tuirunner run -e .env.test pytest``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import tuirunner
from tuirunner import export
from tuirunner.errors import UserError
from tuirunner.launch import start_keeper
from tuirunner.limits import MAX_TIMEOUT, check_exec_limits, parse_timeout
from tuirunner.options import DEFAULT_TIMEOUT, FilterMode, RunOptions
from tuirunner.output import DEFAULT_SCROLLBACK
from tuirunner.procfile import Instance, formation

if TYPE_CHECKING:
    from tuirunner.environment import Environment
    from tuirunner.project import Project

PROG = "tuirunner"
CONTROL = ("attach", "ps", "restart", "stop", "logs", "down")
SUBCOMMANDS = ("start", "run", "check", "env", "export", "version", "help", *CONTROL)

# Options that take a value, to find where the subcommand is without parsing.
_VALUE_OPTIONS = {
    "-f",
    "--procfile",
    "-e",
    "--env",
    "-d",
    "--app-root",
    "-c",
    "--concurrency",
    "-p",
    "--port",
    "-t",
    "--timeout",
    "--scrollback",
    "-q",
    "--quiet",
    "--process",
    "--filter",
}

EPILOG = """\
commands:
  start [PROCESS ...]     start all processes, or only the named types (the default command);
                          -D/--detach: in the background
  run [--] COMMAND ...    run one command with the same environment, attached to this terminal
  check                   validate the Procfile and env files
  env                     show the environment a process gets and where each variable comes from
  export FORMAT LOCATION  write supervisord, systemd, compose or kubernetes configuration
  version                 print the version

commands for a run that is going on (in this app root, or -d DIR):
  attach                  the terminal UI on it ('d' detaches, 'q' stops everything)
  ps [--json]             each process's state, pid, uptime, restarts and port
  restart [NAME ...]      restart processes (start them if stopped): web = every web, web.1 one
  stop [NAME ...]         stop processes (no name: all of them; the run goes on)
  logs [-f] [-n N] [NAME ...]   their buffered output; -f follows it
  down                    stop everything and end the run

Env files override the shell environment; later files override earlier ones. Each process also
gets PORT (base + 100 x the type's position in the Procfile + instance number - 1) and PS
(its name, e.g. web.1). See README.md for the keys of the terminal UI.
"""


def _add_common(parser: argparse.ArgumentParser, sub: bool) -> None:
    """The options every subcommand accepts. On subparsers they default to SUPPRESS so that a
    value given before the subcommand is not overwritten."""

    def d(value):
        return argparse.SUPPRESS if sub else value

    suffix = "_after" if sub else ""
    g = parser.add_argument_group("common options")
    g.add_argument(
        "-f",
        "--procfile",
        metavar="FILE",
        default=d(None),
        help="the Procfile (default: $PROCFILE from the env files or shell, else "
        "'Procfile'), relative to the app root",
    )
    g.add_argument(
        "-e",
        "--env",
        metavar="FILE[,FILE]",
        action="append",
        dest="env" + suffix,
        default=d(None),
        help="env files to load, comma-separated and repeatable, later ones win "
        "(default: .env, which may be missing)",
    )
    g.add_argument(
        "-d",
        "--app-root",
        metavar="DIR",
        default=d(None),
        help="the directory processes run in; Procfile and env files are relative "
        "to it (default: .)",
    )
    g.add_argument(
        "-c",
        "--concurrency",
        metavar="TYPE=N[,TYPE=N]",
        action="append",
        dest="concurrency" + suffix,
        default=d(None),
        help="instances per type, e.g. web=2,worker=3; all=N sets the default",
    )
    g.add_argument(
        "-p",
        "--port",
        type=int,
        metavar="N",
        default=d(None),
        help="base port (default: $PORT from the env files or shell, else 5000)",
    )
    g.add_argument(
        "-t",
        "--timeout",
        type=parse_timeout,
        metavar="SECONDS",
        default=d(None),
        help=f"seconds between SIGTERM and SIGKILL when stopping (default: {DEFAULT_TIMEOUT:g}, "
        f"at most {MAX_TIMEOUT:g})",
    )
    g.add_argument(
        "-q",
        "--quiet",
        metavar="TYPE[,TYPE]",
        action="append",
        dest="quiet" + suffix,
        default=d(None),
        help="plain output: do not print the output of these processes",
    )
    g.add_argument(
        "--scrollback",
        type=int,
        metavar="N",
        default=d(None),
        help=f"lines of output kept per process (default: {DEFAULT_SCROLLBACK})",
    )
    g.add_argument(
        "--no-color",
        "--no-colour",
        dest="no_color",
        action="store_true",
        default=d(False),
        help="no colours in plain output (NO_COLOR is honoured)",
    )
    g.add_argument(
        "--no-prefix",
        action="store_true",
        default=d(False),
        help="plain output: no 'HH:MM:SS name |' prefix",
    )
    g.add_argument(
        "--tui",
        action=argparse.BooleanOptionalAction,
        default=d(None),
        help="use the terminal UI (default: when stdout and stdin are a terminal)",
    )


class _Version(argparse.Action):
    """``--version``, looking the version up only when asked (it costs start-up time)."""

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"{PROG} {tuirunner.__version__}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run the processes of a Procfile, each in its own pane.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--version", action=_Version, nargs=0, help="print the version")
    _add_common(parser, sub=False)
    subs = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = subs.add_parser("start", help="start processes (the default)")
    _add_common(p, sub=True)
    p.add_argument("processes", nargs="*", metavar="PROCESS", help="process types to start")
    p.add_argument(
        "-D",
        "--detach",
        action="store_true",
        help="start in the background and return (then: attach, ps, logs, down)",
    )

    p = subs.add_parser("run", help="run a one-off command with the same environment")
    _add_common(p, sub=True)
    p.add_argument("argv", nargs=argparse.REMAINDER, metavar="COMMAND")

    p = subs.add_parser("check", help="validate the Procfile and env files")
    _add_common(p, sub=True)

    p = subs.add_parser("env", help="show the environment a process gets")
    _add_common(p, sub=True)
    p.add_argument(
        "--process",
        metavar="NAME",
        help="the process, e.g. web.1 or web (default: the first one in the "
        "Procfile, or no process when there is no Procfile)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--reveal", action="store_true", help="show secret values unmasked")
    p.add_argument(
        "--filter",
        choices=[m.value for m in FilterMode],
        default="all",
        help="all variables, only those set by env files, or only those that "
        "differ from the shell (default: all)",
    )

    # export (issue 12): the arguments are defined in tuirunner/export/__init__.py
    p = subs.add_parser(
        "export", help="export to supervisord, systemd, Docker Compose or Kubernetes"
    )
    _add_common(p, sub=True)
    export.add_arguments(p)

    subs.add_parser("version", help="print the version")
    p = subs.add_parser("help", help="show help")
    p.add_argument("topic", nargs="?")

    p = subs.add_parser("attach", help="the terminal UI on the run going on")
    _add_app_root(p)
    p = subs.add_parser("ps", help="list the processes of the run going on")
    _add_app_root(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    for name, what in (("restart", "restart (start if stopped)"), ("stop", "stop")):
        p = subs.add_parser(name, help=f"{what} processes of the run going on")
        _add_app_root(p)
        p.add_argument(
            "names", nargs="*", metavar="NAME", help="web: every web instance; web.1: one"
        )
    p = subs.add_parser("logs", help="the buffered output of the run going on")
    _add_app_root(p)
    p.add_argument("-f", "--follow", action="store_true", help="follow until interrupted")
    p.add_argument(
        "-n", "--lines", type=int, metavar="N", help="the last N lines of each (default: all)"
    )
    p.add_argument("--no-color", "--no-colour", dest="no_color", action="store_true")
    p.add_argument("names", nargs="*", metavar="NAME", help="web: every web instance")
    p = subs.add_parser("down", help="stop everything and end the run going on")
    _add_app_root(p)
    return parser


def _add_app_root(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-d",
        "--app-root",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="the app root of the run (default: .)",
    )


def normalise_argv(argv: list[str]) -> list[str]:
    """Insert the default ``start`` subcommand where the first positional argument is not a
    subcommand (``tuirunner web worker`` → ``tuirunner start web worker``)."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            return [*argv[:i], "start", *argv[i + 1 :]]
        if arg.startswith("-") and arg != "-":
            if arg in _VALUE_OPTIONS:
                i += 2
                continue
            i += 1
            continue
        if arg in SUBCOMMANDS:
            return argv
        return [*argv[:i], "start", *argv[i:]]
    if any(a in ("-h", "--help", "-v", "--version") for a in argv):
        return argv
    return [*argv, "start"]


def _merged(args: argparse.Namespace, name: str) -> list[str]:
    return (getattr(args, name, None) or []) + (getattr(args, name + "_after", None) or [])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(normalise_argv(argv))
    args.env = _merged(args, "env")
    args.concurrency = _merged(args, "concurrency")
    args.quiet = [
        q.strip() for item in _merged(args, "quiet") for q in item.split(",") if q.strip()
    ]
    args.parser = parser
    return args


# --- configuration shared by the subcommands ----------------------------------------------------


def load_project(args: argparse.Namespace) -> Project:
    from tuirunner.project import load_project

    return load_project(RunOptions.from_args(args))


def warn(message: str) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def print_env_warnings(environment: Environment) -> None:
    for w in environment.warnings:
        warn(str(w))


# --- subcommands --------------------------------------------------------------------------------


def cmd_start(args: argparse.Namespace) -> int:
    use_tui = args.tui
    if use_tui is None:
        use_tui = sys.stdout.isatty() and sys.stdin.isatty()
    if use_tui and not args.detach:
        # The keeper loads and checks the project (its errors come back through wait_ready),
        # and sizes the processes' terminals for the panes: the UI starts at once, and imports
        # Textual while the keeper starts, so that neither waits for the other.
        options = RunOptions.from_args(args)
        keeper = start_keeper(options, foreground=True, terminal=shutil.get_terminal_size())
        from tuirunner.tui.app import run_tui

        return run_tui(keeper, Path(options.app_root))
    project = load_project(args)
    instances = project.validate_run()
    if args.detach:
        return start_detached(project)
    print_env_warnings(project.environment)
    return run_plain_mode(args, project, instances)


def start_detached(project: Project) -> int:
    keeper = start_keeper(project.options, foreground=False)
    pid = keeper.wait_ready()
    where = "" if project.options.app_root == "." else f" -d {project.options.app_root}"
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
    from tuirunner.client import Client
    from tuirunner.plain import PlainPrinter, run_plain, stdout_supports_colour

    names = [i.name for i in instances]
    unknown = set(args.quiet) - {i.type.name for i in instances} - set(names)
    if unknown:
        raise UserError(f"--quiet: unknown process {', '.join(sorted(unknown))}")
    quiet = {i.name for i in instances if i.type.name in args.quiet or i.name in args.quiet}
    tty = sys.stdout.isatty()
    colour = tty and not args.no_color and stdout_supports_colour(sys.stdout)
    printer = PlainPrinter(
        sys.stdout,
        names,
        colour=colour,
        prefix=not args.no_prefix,
        strip_child_colour=not colour,  # no colours means none: the children's go too
        quiet=quiet,
        timeout=project.timeout,
    )
    window = (80, 24)
    if tty:
        columns, rows = shutil.get_terminal_size()
        prefix = 0 if args.no_prefix else 12 + printer.width
        window = (max(columns - prefix, 20), rows)
    keeper = start_keeper(project.options, foreground=True, window=window)
    keeper.wait_ready()
    # The environments too: a crash hint says which variable was missing.
    client = Client.connect(project.app_root, env=True, owner=keeper.owner, scrollback=1000)
    import asyncio

    return asyncio.run(run_plain(client, printer, keeper))


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
        print(f"{PROG}: {argv[0]}: command not found", file=sys.stderr)
        return 127
    except PermissionError:
        print(f"{PROG}: {argv[0]}: permission denied", file=sys.stderr)
        return 126
    except OSError as exc:
        print(f"{PROG}: {argv[0]}: {exc.strerror}", file=sys.stderr)
        return 126


def cmd_check(args: argparse.Namespace) -> int:
    from tuirunner.environment import WarningKind

    project = load_project(args)
    procfile = project.procfile()
    instances = formation(procfile, concurrency=project.concurrency, base_port=project.base_port)
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
    print(f"Valid procfile detected ({', '.join(procfile.names)})", file=sys.stderr)
    if project.settings.path is not None:
        print(f"Settings: {project.settings.describe()}", file=sys.stderr)
    return 0


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
            procfile, concurrency=project.concurrency, base_port=project.base_port
        )
        wanted = args.process
        chosen = None
        for inst in instances:
            if wanted is None or wanted in (inst.name, inst.type.name):
                chosen = inst
                break
        if chosen is None:
            names = ", ".join(i.name for i in instances)
            raise UserError(f"unknown process {wanted!r}; this formation has {names}")
        process_name = chosen.name
        # TUIRUNNER_RUN_ID is left out: it is new for every run.
        environment = environment.for_process(chosen.name, chosen.port)
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


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
        command = args.command
        if command == "version":
            print(f"{PROG} {tuirunner.__version__}")
            return 0
        if command == "help":
            args.parser.print_help()
            return 0
        if command in CONTROL:
            from tuirunner import control

            return getattr(control, command)(args)
        handler = {
            "start": cmd_start,
            "run": cmd_run,
            "check": cmd_check,
            "env": cmd_env,
            "export": cmd_export,
        }
        return handler[command](args)
    except UserError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
