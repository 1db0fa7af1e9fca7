"""The ``tuirunner`` command's entry point, before anything else is imported.

A command that will show the terminal UI runs it under ``python -OO`` where the optimized
bytecode is there (:mod:`tuirunner.bytecode`): the process executes itself again with that
option, first thing, which costs a bare interpreter's start and the console script's ``import
re`` (~10 ms). Every other command goes straight to :func:`tuirunner.cli.run`. Deciding this
cannot wait for the parser (argparse and the command line's modules are ~30 ms), so the
subcommand is found here by a scan of the arguments, which :func:`tuirunner.cli.normalise_argv`
shares; a wrong guess costs only the time or the memory.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

CONTROL = ("attach", "ps", "restart", "stop", "logs", "down", "add", "remove", "migrate")
FOLLOW = ("events", "wait")  # tuirunner/follow.py
SUBCOMMANDS = (
    "start",
    "run",
    "check",
    "env",
    "export",
    "init",
    "version",
    "help",
    "completion",
    "mcp",
    *CONTROL,
    *FOLLOW,
)
# Options that take a value, to find where the subcommand is without parsing.
# fmt: off
VALUE_OPTIONS = {
    "-f", "--procfile", "-e", "--env", "-d", "--app-root", "-c", "--concurrency", "-p", "--port",
    "-t", "--timeout", "--scrollback", "-q", "--quiet", "--process", "--filter",
}
# fmt: on
TUI_COMMANDS = ("start", "attach")
NOT_TUI = ("--no-tui", "-D", "--detach", "-h", "--help", "-v", "--version")


def first_positional(argv: Sequence[str]) -> int:
    """The index of the first argument that is neither an option nor an option's value (``--``
    is one); ``len(argv)`` if there is none."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--" or not arg.startswith("-") or arg == "-":
            return i
        i += 2 if arg in VALUE_OPTIONS else 1
    return i


def subcommand(argv: Sequence[str]) -> str:
    """The subcommand *argv* names: ``start`` where it names none."""
    i = first_positional(argv)
    return argv[i] if i < len(argv) and argv[i] in SUBCOMMANDS else "start"


def shows_tui(argv: Sequence[str]) -> bool:
    """Whether the command will most likely show the terminal UI."""
    if subcommand(argv) not in TUI_COMMANDS or any(a in NOT_TUI for a in argv):
        return False
    if "_ARGCOMPLETE" in os.environ:
        return False
    return "--tui" in argv or (sys.stdin.isatty() and sys.stdout.isatty())


def optimized_argv(module: bool) -> list[str] | None:
    """The command line that runs this command again under ``-OO``, None where it should not:
    not the terminal UI, already optimized, an interpreter given options of its own (they would
    be lost), or optimized bytecode missing."""
    if sys.flags.optimize or sys._xoptions or sys.warnoptions:
        return None
    flags = sys.flags
    if flags.isolated or flags.ignore_environment or flags.no_site or flags.dev_mode:
        return None
    if getattr(flags, "safe_path", False):  # (-P, Python 3.11+)
        return None
    if not shows_tui(sys.argv[1:]):
        return None
    from tuirunner import bytecode

    if not bytecode.optimized(bytecode.WINDOW):
        return None
    if not module and not os.path.isfile(sys.argv[0]):
        return None
    program = ["-m", "tuirunner"] if module else [sys.argv[0]]
    return [sys.executable, *bytecode.FLAGS, *program, *sys.argv[1:]]


def run(module: bool = False) -> None:
    """``tuirunner`` (*module*: ``python -m tuirunner``)."""
    argv = optimized_argv(module)
    if argv is not None:
        import contextlib  # (importlib.util, which bytecode needs, imported it)

        with contextlib.suppress(OSError):  # if it fails, as it is
            os.execv(argv[0], argv)
    from tuirunner.cli import run as run_cli

    run_cli()
