"""What an export says about going to production (issue 22): development settings copied from
the env files, where the secrets went, and the virtualenv the commands need on a host.

- Variables that look like development settings (``DEBUG`` true; ``ENVIRONMENT``,
  ``DJANGO_ENV``, ``APP_ENV``… set to development, dev or local) and a ``runserver`` command are
  warned about, with the way out: export from production env files (``-e .env.production``).
- Secret values go to the target's secret store where the format has one (a Kubernetes Secret,
  a systemd ``EnvironmentFile`` of mode 0600, Compose's environment at ``up``); supervisord has
  none: they are in its 0600 conf. A note says where they went.
- supervisord and systemd run commands with a minimal ``PATH``: without the virtualenv,
  ``gunicorn`` or ``./manage.py`` (``#!/usr/bin/env python``) are not found. The active
  virtualenv (``$VIRTUAL_ENV``) has its ``bin`` put first in ``PATH``, and the export says so.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from .model import Export, Variable

ENVIRONMENT_NAMES = ("ENVIRONMENT", "DJANGO_ENV", "APP_ENV", "ENV", "FLASK_ENV", "NODE_ENV")
DEVELOPMENT_VALUES = ("development", "develop", "dev", "local")
TRUE = ("1", "true", "yes", "on", "t", "y")
DEBUG_NAMES = ("DEBUG", "DJANGO_DEBUG", "FLASK_DEBUG", "APP_DEBUG")
HOST_FORMATS = ("supervisord", "systemd")  # commands run on the host, with the host's PATH
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_RUNSERVER = re.compile(r"\brunserver\b")


def _variables(export: Export) -> list[tuple[str, Variable]]:
    """(where, variable) of every variable exported: the env files', then each process's."""
    found = [("", v) for v in export.variables]
    for process in export.processes:
        found += [(f"{process.name}: ", v) for v in process.env]
    return found


def development_warnings(export: Export) -> list[str]:
    """Warnings for what looks like a development setting, and the way out (none if none)."""
    warnings = []
    for where, var in _variables(export):
        if var.secret:
            continue
        value = var.value.strip().lower()
        if var.name in DEBUG_NAMES and value in TRUE:
            warnings.append(f"{where}{var.name}={var.value} ({var.origin}) turns debugging on")
        elif var.name in ENVIRONMENT_NAMES and value in DEVELOPMENT_VALUES:
            warnings.append(f"{where}{var.name}={var.value} ({var.origin}) is a development value")
    for process in export.processes:
        if _RUNSERVER.search(process.command):
            warnings.append(
                f"{process.name} runs Django's development server (runserver): use a production "
                "server (gunicorn, uvicorn) in the Procfile you export"
            )
    if warnings:
        warnings.append(
            "these look like development settings: export from your production env file "
            f"instead (tuirunner -f Procfile -e .env.production export {export.format} "
            f"{_shown(export)}), or set the variables in the process's env in the settings"
        )
    return warnings


def _shown(export: Export) -> str:
    """The location as short as it is clear: relative when under the current directory."""
    shown = os.path.relpath(export.location)
    return str(export.location) if shown.startswith("..") else shown


def secrets_note(export: Export) -> str | None:
    """Where the secret values went, and where they belong (None without secrets)."""
    names = sorted({v.name for _, v in _variables(export) if v.secret})
    if not names:
        return None
    listed = ", ".join(names)
    where = {
        "kubernetes": f"the Secret {export.app}-secrets ({export.app}-secrets-secret.yaml): "
        "apply it from your secret manager (sealed-secrets, external-secrets, SOPS) rather "
        "than committing it",
        "systemd": "EnvironmentFile= files of mode 0600 (APP-TYPE.env), not the units: keep "
        "them out of version control, or use systemd's LoadCredential=",
        "compose": "no file: compose.yaml names them without a value, and Compose takes them "
        "from the environment of `docker compose up` (or use Compose secrets)",
        "supervisord": "the conf file, written with mode 0600 (supervisord has no secret "
        "store): keep it out of version control and readable by root only",
    }[export.format]
    return f"secret values ({listed}) are in {where}"


def virtualenv_path(export: Export, environ: Mapping[str, str]) -> Variable | None:
    """``PATH`` with the active virtualenv's ``bin`` first, for a host format (None if no
    virtualenv is active, the format runs in a container, or the env files set PATH)."""
    venv = environ.get("VIRTUAL_ENV")
    if export.format not in HOST_FORMATS or not venv:
        return None
    if any(v.name == "PATH" for _, v in _variables(export)):
        return None
    bin_dir = os.path.join(os.path.abspath(venv), "bin")
    if not os.path.isdir(bin_dir):
        return None
    return Variable("PATH", f"{bin_dir}:{SYSTEM_PATH}", False, "$VIRTUAL_ENV")


def apply(export: Export, environ: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """Add the virtualenv's PATH to *export*; the warnings and the notes to print."""
    warnings = development_warnings(export)
    notes = []
    path = virtualenv_path(export, environ)
    if path is not None:
        export.variables = tuple(sorted((*export.variables, path), key=lambda v: v.name))
        notes.append(
            f"PATH={path.value}: the commands find the virtualenv's programs "
            f"($VIRTUAL_ENV={environ['VIRTUAL_ENV']}); install it at the same path on the "
            "target, or edit PATH"
        )
    secrets = secrets_note(export)
    if secrets:
        notes.append(secrets)
    return warnings, notes
