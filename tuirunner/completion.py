"""Shell completion for bash, zsh and fish, by argcomplete.

``tuirunner completion SHELL`` prints the script a shell loads; on Tab, that script runs
``tuirunner`` itself with argcomplete's variables set, and :func:`autocomplete` answers from
the argument parser: commands, options, and process names. The names come from the keeper of
the app root (``-d``) when a run is going on there (its instances and types), else from the
Procfile (``-f``) and the settings (its types and the instances of its formation).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

SHELLS = ("bash", "zsh", "fish")
PROG = "tuirunner"
# The arguments that take process names: restart/stop/logs/events/wait NAME, start PROCESS,
# env --process NAME.
_NAME_ARGUMENTS = ("names", "processes", "process")


def script(shell: str) -> str:
    """The completion script for *shell*."""
    import argcomplete

    return argcomplete.shellcode([PROG], shell=shell)


def process_names(prefix: str, parsed_args: argparse.Namespace, **_: Any) -> list[str]:
    """The names a NAME argument may take, starting with *prefix*."""
    root = getattr(parsed_args, "app_root", None) or "."
    try:
        names = _running(root)
    except Exception:
        names = None
    if names is None:
        try:
            names = _from_procfile(parsed_args, root)
        except Exception:  # a broken Procfile: nothing to offer, and no traceback on Tab
            names = []
    return [name for name in names if name.startswith(prefix)]


def _running(root: str) -> list[str] | None:
    """The types and instances of the run going on in *root*, None if there is none."""
    from tuirunner.client import Client, NoKeeper

    try:
        client = Client.connect(root, output=False, tail=0, timeout=2.0)
    except NoKeeper:
        return None
    client.close()
    return _types_and_instances([p.name for p in client.processes])


def _from_procfile(parsed_args: argparse.Namespace, root: str) -> list[str]:
    from tuirunner.options import RunOptions
    from tuirunner.procfile import formation
    from tuirunner.project import load_project

    options = RunOptions(app_root=root, procfile=getattr(parsed_args, "procfile", None))
    project = load_project(options)
    instances = formation(
        project.procfile(), concurrency=project.concurrency, base_port=project.base_port
    )
    return _types_and_instances([i.name for i in instances])


def _types_and_instances(instances: list[str]) -> list[str]:
    from tuirunner.names import type_of

    types = list(dict.fromkeys(type_of(name) for name in instances))
    return types + [name for name in instances if name not in types]


def autocomplete(parser: argparse.ArgumentParser) -> None:
    """Answer the shell's completion request (the process exits), with process names for the
    arguments that take them."""
    import argcomplete

    for action in _actions(parser):
        if action.dest in _NAME_ARGUMENTS:
            action.completer = process_names  # type: ignore[attr-defined]
    argcomplete.autocomplete(parser)


def _actions(parser: argparse.ArgumentParser):
    for action in parser._actions:
        yield action
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _actions(sub)


def requested() -> bool:
    """Whether this run of tuirunner is a shell asking for completions."""
    return "_ARGCOMPLETE" in os.environ
