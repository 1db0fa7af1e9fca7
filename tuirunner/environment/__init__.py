"""The environment every process receives, and where each variable came from.

Order of precedence, lowest first (as honcho, foreman and overmind do):

1. the shell environment the runner was started in;
2. the env files, in the order given, later files winning (``-e .env,.env.local``);
3. the ``env`` of the process's settings (``[tool.tuirunner.processes.web.env]``), for that
   process type only;
4. what the runner sets per process: ``PORT`` and ``PS``.

Env files are parsed by python-dotenv (quotes, ``export``, multi-line values, ``${VAR}`` and
``${VAR:-default}`` interpolation). We use its statement parser rather than ``dotenv_values`` so
that every variable keeps its file and line, and so that ``${VAR}`` in ``.env.local`` can refer to
a variable of ``.env``; the interpolation itself is python-dotenv's.

The package: :mod:`.model` (variables with provenance, :class:`Environment`), :mod:`.load`
(env files, templates, :class:`EnvSource`), :mod:`.warning` (:class:`EnvWarning`) and
:mod:`.change` (:class:`EnvChange`).
"""

from typing import TYPE_CHECKING

from tuirunner.environment.change import EnvChange, layered_diff
from tuirunner.environment.model import (
    RUN_ID_VARIABLE,
    RUNNER,
    SHELL,
    Definition,
    Environment,
    EnvVar,
    Source,
    SourceKind,
    port_variable,
    port_variables,
    runner_variables,
)
from tuirunner.environment.warning import EnvWarning, WarningKind
from tuirunner.options import FilterMode  # importers took it from here

if TYPE_CHECKING:
    from tuirunner.environment.load import (
        TEMPLATE_NAMES,
        EnvFileSpec,
        EnvSource,
        ProcessEnv,
        env_file_specs,
        load_environment,
        process_layers,
        template_candidates,
    )

# Loading env files (python-dotenv and the rest of .load) is imported when first asked for: a
# front end gets its environments from the keeper, and never loads a file (~5 ms of a launch).
_LOAD = {
    "TEMPLATE_NAMES",
    "EnvFileSpec",
    "EnvSource",
    "ProcessEnv",
    "env_file_specs",
    "load_environment",
    "process_layers",
    "template_candidates",
}


def __getattr__(name: str):
    if name in _LOAD:
        from tuirunner.environment import load

        return getattr(load, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "RUNNER",
    "RUN_ID_VARIABLE",
    "SHELL",
    "TEMPLATE_NAMES",
    "Definition",
    "EnvChange",
    "EnvFileSpec",
    "EnvSource",
    "EnvVar",
    "EnvWarning",
    "Environment",
    "FilterMode",
    "ProcessEnv",
    "Source",
    "SourceKind",
    "WarningKind",
    "env_file_specs",
    "layered_diff",
    "load_environment",
    "port_variable",
    "port_variables",
    "process_layers",
    "runner_variables",
    "template_candidates",
]
