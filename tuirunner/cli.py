"""Command line: argument parsing and dispatch.

``tuirunner [start] [PROCESS ...]``, ``run``, ``check``, ``env``, and the commands that talk to a
running keeper (``attach``, ``ps``, ``restart``, ``stop``, ``logs``, ``down``; see
:mod:`tuirunner.control`). Global options are accepted before or after the subcommand, as
honcho does (``tuirunner -e .env.test run pytest`` and ``tuirunner run -e .env.test pytest``).
"""

from __future__ import annotations

import argparse
import functools
import os
import sys

import tuirunner
from tuirunner import export, fastexit, lean_imports
from tuirunner.entry import CONTROL, FOLLOW, SUBCOMMANDS, first_positional
from tuirunner.errors import UserError
from tuirunner.limits import MAX_TIMEOUT, parse_scrollback, parse_timeout
from tuirunner.options import DEFAULT_TIMEOUT, FilterMode
from tuirunner.output import DEFAULT_SCROLLBACK, visible_controls

PROG = "tuirunner"
# Commands that import asyncio: the keeper's clients and check's probes (start: once its keeper
# is on its way, see commands.cmd_start).
ASYNCIO = ("check", *CONTROL, *FOLLOW)

EPILOG = """\
commands:
  start [PROCESS ...]     start all processes, or only the named types (the default command);
                          -D/--detach: in the background
  run [--] COMMAND ...    run one command with the same environment, attached to this terminal
  check                   validate the Procfile and env files
  env                     show the environment a process gets and where each variable comes from
  export FORMAT LOCATION  write supervisord, systemd, compose or kubernetes configuration
  init [--dry-run] [--force]  write a Procfile, settings and env files for a Django project
  version                 print the version
  completion SHELL        print the completion script for bash, zsh or fish

commands for a run that is going on (in this app root, or -d DIR):
  attach                  the terminal UI on it ('d' detaches, 'q' stops everything)
  ps [--json]             each process's state, pid, uptime, restarts and port
  restart [NAME ...]      restart processes (start them if stopped): web = every web, web.1 one,
                          a group of the settings every member
  stop [NAME ...]         stop processes (no name: all of them; the run goes on)
  logs [-f] [-n N] [-t] [--since WHEN] [--json] [--grep RE [-i]] [NAME ...]
                          their buffered output, in the order it came (-n: of each);
                          -f follows it, -t adds when each line came (ISO 8601, ms),
                          --since 5m / 14:02
  down                    stop everything and end the run
  events [--json] [NAME ...]   print state changes (started, ready, crashed, ...) as they come
  wait NAME ... [--ready|--running|--completed] [--timeout S]
                          exit 0 once they got there, 1 if one crashed or the time ran out
  mcp                     a Model Context Protocol server on stdio for coding agents
                          (pip install 'tuirunner[mcp]')
  add NAME -- COMMAND     add a process to the run (a shell, a test run), gone with the run
  remove NAME             stop a process added with add and take it out of the run
  migrate                 apply the Django migrations (restart the release process)

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
        help="the Procfile (default: $PROCFILE from the env files or shell, else procfile "
        "from the settings, else 'Procfile'), relative to the app root",
    )
    g.add_argument(
        "-e",
        "--env",
        metavar="FILE[,FILE]",
        action="append",
        dest="env" + suffix,
        default=d(None),
        help="env files to load, comma-separated and repeatable, later ones win "
        "(default: env from the settings, else .env; those may be missing)",
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
        help="base port (default: $PORT from the env files or shell, else port from the "
        "settings, else 5000)",
    )
    g.add_argument(
        "-t",
        "--timeout",
        type=parse_timeout,
        metavar="SECONDS",
        default=d(None),
        help="seconds between SIGTERM and SIGKILL when stopping (default: timeout from the "
        f"settings, else {DEFAULT_TIMEOUT:g}; at most {MAX_TIMEOUT:g})",
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
        type=parse_scrollback,
        metavar="N",
        default=d(None),
        help="lines of output kept per process (default: scrollback from the settings, else "
        f"{DEFAULT_SCROLLBACK})",
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
    p.add_argument(
        "processes", nargs="*", metavar="PROCESS", help="process types (or groups) to start"
    )
    p.add_argument(
        "-D",
        "--detach",
        action="store_true",
        help="start in the background and return (then: attach, ps, logs, down)",
    )
    p.add_argument(
        "--kill-stray",
        action="store_true",
        help="first stop processes an earlier run here left holding the processes' ports",
    )

    p = subs.add_parser("run", help="run a one-off command with the same environment")
    _add_common(p, sub=True)
    p.add_argument("argv", nargs=argparse.REMAINDER, metavar="COMMAND")

    p = subs.add_parser("check", help="validate the Procfile, env files and settings")
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
        help="all variables, only those set by env files, only those that "
        "differ from the shell, or only those set by env files, settings or tuirunner "
        "(default: all)",
    )

    # export (issue 12): the arguments are defined in tuirunner/export/__init__.py
    p = subs.add_parser(
        "export", help="export to supervisord, systemd, Docker Compose or Kubernetes"
    )
    _add_common(p, sub=True)
    export.add_arguments(p)

    p = subs.add_parser(
        "init", help="write a Procfile, settings and env files for the Django project here"
    )
    _add_common(p, sub=True)
    p.add_argument("--dry-run", action="store_true", help="print what would be written")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace an existing Procfile, tuirunner.toml and .env.example (never .env)",
    )

    subs.add_parser("version", help="print the version")
    p = subs.add_parser(
        "completion",
        help="print the shell completion script",
        description='Print the completion script for SHELL. bash: eval "$(tuirunner '
        'completion bash)" in ~/.bashrc; zsh: eval "$(tuirunner completion zsh)" in '
        "~/.zshrc, after compinit; fish: tuirunner completion fish > "
        "~/.config/fish/completions/tuirunner.fish",
    )
    p.add_argument("shell", choices=("bash", "zsh", "fish"), metavar="SHELL")
    p = subs.add_parser("help", help="show help, or a command's (help start)")
    p.add_argument("topic", nargs="?", metavar="COMMAND")

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
        "-n",
        "--lines",
        type=int,
        metavar="N",
        help="the last N lines of each process (not overall; with --grep, of its matching "
        "lines) (default: all)",
    )
    p.add_argument(
        "-t",
        "--timestamps",
        action="store_true",
        help="when each line came: ISO 8601 local time, to the ms (2026-12-04T14:02:03.250+01:00)",
    )
    p.add_argument(
        "--since",
        metavar="WHEN",
        help="only lines that came since WHEN: 5m, 30s, 2h, 1d ago; 14:02 (today); "
        "2026-12-04T14:02:00",
    )
    p.add_argument(
        "--no-color", "--no-colour", dest="no_color", action="store_true", help="strip colours"
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per line: {type: line, process, line, time, text} (text without "
        "escape sequences), and with -f state changes {type: state, event, ...}",
    )
    p.add_argument(
        "--grep",
        metavar="REGEX",
        help="only lines matching REGEX (Python syntax, searched in the text without colours)",
    )
    p.add_argument(
        "-i", "--ignore-case", action="store_true", help="--grep ignores upper and lower case"
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="web: every web instance")
    p = subs.add_parser("down", help="stop everything and end the run going on")
    _add_app_root(p)
    _add_follow(subs)
    p = subs.add_parser(
        "mcp",
        help="an MCP server on stdio for coding agents (the tuirunner[mcp] extra)",
        description="A Model Context Protocol server on stdin/stdout for the run of the app "
        "root: list processes, read their output, restart/stop/start them, their environment "
        "(secrets masked), wait until ready. See README.md, 'For coding agents'.",
    )
    _add_app_root(p)
    p = subs.add_parser("add", help="add a process to the run going on (gone with the run)")
    _add_app_root(p)
    p.add_argument("--no-start", action="store_true", help="add it, not started")
    p.add_argument("name", metavar="NAME", help="its name (web.1 style: NAME.1)")
    p.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- COMMAND")
    p = subs.add_parser("remove", help="stop a process added to the run and take it out")
    _add_app_root(p)
    p.add_argument("name", metavar="NAME")
    p = subs.add_parser(
        "migrate", help="apply the Django migrations in the run going on (its release process)"
    )
    _add_app_root(p)
    p.add_argument(
        "name", nargs="?", metavar="NAME", help="the process whose manage.py to use (no release)"
    )
    return parser


def _add_follow(subs) -> None:
    """``events`` and ``wait`` (tuirunner/follow.py)."""
    p = subs.add_parser("events", help="print the run's state changes until interrupted")
    _add_app_root(p)
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("names", nargs="*", metavar="NAME", help="only these (default: all)")
    p = subs.add_parser(
        "wait",
        help="wait until processes are ready (or running, or completed)",
        description="Exit 0 once every named process got there; 1 as soon as one crashed, is "
        "blocked or was stopped, or when the timeout ran out (the message says which).",
    )
    _add_app_root(p)
    goal = p.add_mutually_exclusive_group()
    for name, what in (
        ("ready", "running, and its ready check passed if it has one (the default)"),
        ("running", "started, ready or not"),
        ("completed", "exited with code 0"),
    ):
        goal.add_argument(f"--{name}", dest="goal", action="store_const", const=name, help=what)
    p.set_defaults(goal="ready")
    p.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        help="give up after S seconds (exit 1; default: wait as long as it takes)",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="web: every web instance; web.1: one")


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
    i = first_positional(argv)
    if i == len(argv):
        if any(a in ("-h", "--help", "-v", "--version") for a in argv):
            return argv
        return [*argv, "start"]
    if argv[i] == "--":
        return [*argv[:i], "start", *argv[i + 1 :]]
    if argv[i] in SUBCOMMANDS:
        return argv
    return [*argv[:i], "start", *argv[i:]]


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


def run() -> None:
    """The ``tuirunner`` command, without the interpreter's teardown (see ``fastexit``)."""
    fastexit.run_then_exit(main)


def main(argv: list[str] | None = None) -> int:
    lean_imports.import_shutil_without_archivers()  # before argparse imports it (lean_imports.py)
    if argv is None and "_ARGCOMPLETE" in os.environ:  # a shell asks for completions (Tab)
        from tuirunner.completion import autocomplete

        autocomplete(build_parser())
    try:
        args = parse_args(argv)
        command = args.command
        if command == "completion":
            from tuirunner.completion import script

            print(script(args.shell))
            return 0
        if command == "version":
            print(f"{PROG} {tuirunner.__version__}")
            return 0
        if command == "help":
            if args.topic:  # `help start`: as `start --help` (an unknown one: argparse says so)
                args.parser.parse_args([args.topic, "--help"])
            args.parser.print_help()
            return 0
        if command != "mcp":  # (the MCP SDK speaks TLS itself)
            lean_imports.import_without_openssl(asyncio=command in ASYNCIO)
        if command == "attach":
            import shutil

            from tuirunner import control
            from tuirunner.commands import show_run

            return show_run(functools.partial(control.attach, args), shutil.get_terminal_size())
        if command == "mcp":
            from tuirunner import mcp_server

            return mcp_server.main(args)
        if command in FOLLOW:
            from tuirunner import follow

            return getattr(follow, command)(args)
        if command in CONTROL:
            from tuirunner import control

            return getattr(control, command)(args)
        from tuirunner import commands

        return getattr(commands, f"cmd_{command}")(args)
    except UserError as exc:
        # Every error may quote the user's data (a path given with -f or -d, a settings value,
        # a file name): its control characters are spelled out, never sent to the terminal.
        print(f"{PROG}: error: {visible_controls(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
