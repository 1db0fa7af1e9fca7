"""What ``tuirunner init`` writes for a :class:`~.detect.DjangoProject`: the text of each file,
and why. Nothing here touches the disk but reads (see :mod:`.write`)."""

from __future__ import annotations

import fnmatch
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tuirunner.errors import UserError
from tuirunner.procfile import parse_procfile_text
from tuirunner.scaffold.detect import DjangoProject
from tuirunner.scaffold.envreads import EnvRead, scan_files
from tuirunner.settings.model import PYPROJECT, SETTINGS_FILE

RUNSERVER_LOG = "Starting development server at"
#: Development values for variables a fresh project needs to start, when the settings require them.
DEV_VALUES = {
    "ALLOWED_HOSTS": "localhost,127.0.0.1",
    "DATABASE_URL": "sqlite:///db.sqlite3",
}


@dataclass
class Planned:
    """One file: created, replaced (``--force``), appended to, or kept as it is."""

    path: str  # relative to the app root
    content: str
    action: str  # "create", "append", "replace", "keep"
    what: str  # a few words on what is in it
    why_kept: str | None = None  # for "keep": why it is not written
    secret: bool = False  # its content holds a generated secret: never shown


@dataclass
class Plan:
    project: DjangoProject
    files: list[Planned] = field(default_factory=list)
    reads: list[EnvRead] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _exists(root: Path, name: str) -> bool:
    return (root / name).exists() or (root / name).is_symlink()


def procfile_text(project: DjangoProject) -> tuple[str, list[str]]:
    lines = [
        "# The processes of this Django project, for tuirunner (or honcho, foreman, Heroku).",
        "# Each line runs as `/bin/sh -c COMMAND` here, with its own $PORT.",
        "web: python manage.py runserver $PORT",
    ]
    names = ["web"]
    for i, worker in enumerate(project.workers):
        name = "worker" if i == 0 else f"worker-{worker.library.replace('django-', '')}"
        lines.append(f"# {worker.library} (found in {worker.found_in})")
        lines.append(f"{name}: {worker.command}")
        names.append(name)
    if project.frontend:
        lines.append("# package.json's script, rebuilding the frontend on changes")
        lines.append(f"frontend: {project.frontend}")
        names.append("frontend")
    lines += [
        "# The release phase: migrations, once, before web and the workers start (a oneshot:",
        "# see the settings). It is last so that the others keep their ports.",
        "release: python manage.py migrate --noinput",
    ]
    return "\n".join(lines) + "\n", [*names, "release"]


def settings_text(names: list[str], prefix: str) -> str:
    """The ``release`` oneshot and the processes that wait for it, for the types in *names*."""
    head = f"{prefix}." if prefix else ""
    out: list[str] = []
    if "release" in names:
        out += [
            f"[{head}processes.release]",
            "oneshot = true                  # migrate, exit 0: done; a failure blocks the others",
            "",
        ]
    depends = 'depends_on = { release = "completed" }' if "release" in names else None
    if "web" in names:
        out.append(f"[{head}processes.web]")
        if depends:
            out.append(depends)
        out += [f'ready = {{ log = "{RUNSERVER_LOG}" }}   # "ready" once runserver listens', ""]
    for name in names:
        if name.startswith("worker"):
            out.append(f"[{head}processes.{name}]")
            if depends:
                out.append(depends)
            out += [
                'autorestart = "on-failure"      # a crash is retried after 1, 2, 4 … 10 s',
                "backoff = { initial = 1, max = 10 }",
                "",
            ]
    return "\n".join(out).rstrip("\n") + "\n"


def _procfile(plan: Plan, force: bool) -> list[str]:
    """Plan the Procfile; the process types the run will have (the existing file's when it is
    kept)."""
    root = plan.project.root
    text, names = procfile_text(plan.project)
    what = ", ".join(names)
    if not _exists(root, "Procfile"):
        plan.files.append(Planned("Procfile", text, "create", what))
        return names
    if force:
        plan.files.append(Planned("Procfile", text, "replace", what))
        return names
    plan.files.append(Planned("Procfile", text, "keep", what, "it exists"))
    try:
        existing = (root / "Procfile").read_text(encoding="utf-8")
        return parse_procfile_text(existing, root / "Procfile").names
    except (OSError, UnicodeDecodeError, UserError):  # check will say what is wrong with it
        return []


def _settings(plan: Plan, names: list[str], force: bool) -> None:
    root = plan.project.root
    kept_names = [n for n in names if n == "release" or n == "web" or n.startswith("worker")]
    what = "release runs migrate once; web and the workers wait for it"
    if "release" not in names:
        what = "web's ready check and the workers' restarts"
    own = root / SETTINGS_FILE
    pyproject = root / PYPROJECT
    if _exists(root, SETTINGS_FILE):
        text = "# tuirunner's settings (see its README, Settings).\n\n" + settings_text(
            kept_names, ""
        )
        action = "replace" if force else "keep"
        plan.files.append(Planned(SETTINGS_FILE, text, action, what, "it exists"))
        return
    if pyproject.is_file():
        block = "\n# tuirunner's settings (see its README, Settings).\n" + settings_text(
            kept_names, "tool.tuirunner"
        )
        try:
            current = pyproject.read_text(encoding="utf-8")
            table = tomllib.loads(current)
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            plan.files.append(
                Planned(PYPROJECT, block, "keep", what, f"it cannot be read as TOML ({exc})")
            )
            return
        tool = table.get("tool")
        if isinstance(tool, dict) and "tuirunner" in tool:
            why = (
                "it has a [tool.tuirunner] table already (init does not edit it, even with --force)"
            )
            plan.files.append(Planned(PYPROJECT, block, "keep", what, why))
            return
        joined = current + ("" if current.endswith("\n") or not current else "\n") + block
        try:
            tomllib.loads(joined)
        except tomllib.TOMLDecodeError as exc:
            why = f"the table cannot be appended to it ({exc}); add it by hand"
            plan.files.append(Planned(PYPROJECT, block, "keep", what, why))
            return
        plan.files.append(Planned(PYPROJECT, block, "append", f"[tool.tuirunner]: {what}"))
        return
    text = "# tuirunner's settings (see its README, Settings).\n\n" + settings_text(kept_names, "")
    plan.files.append(Planned(own.name, text, "create", what))


def dev_value(read: EnvRead) -> str | None:
    """A value that suits development for *read*, when one can be told."""
    if read.name == "DEBUG":
        if read.compared_to is not None:
            return read.compared_to
        if read.default in ("0", "1"):
            return "1"
        return "True"
    if read.required:
        return DEV_VALUES.get(read.name)
    return None


def env_example_text(plan: Plan) -> str:
    root = plan.project.root
    where = ", ".join(str(f.relative_to(root)) for f in plan.project.settings_files)
    lines = [
        f"# The variables the settings read from the environment (found in {where}).",
        "# Copy this file to .env and fill it in; commit this file, never .env.",
        "# A commented-out line has a default in the settings.",
    ]
    for read in plan.reads:
        lines.append("")
        if read.needed:
            lines.append(f"# required ({read.location(root)})")
            lines.append(f"{read.name}=")
        else:
            lines.append(f"# default {read.default} ({read.location(root)})")
            lines.append(f"# {read.name}=")
    return "\n".join(lines) + "\n"


def env_text(plan: Plan) -> tuple[str, list[str]]:
    lines = ["# Development values (written by tuirunner init). Keep this file out of git."]
    said = []
    for read in plan.reads:
        if read.name == "SECRET_KEY":
            lines.append(f"SECRET_KEY={secrets.token_urlsafe(50)}")
            said.append("SECRET_KEY generated")
            continue
        value = dev_value(read)
        if value is not None:
            lines.append(f"{read.name}={value}")
            said.append(f"{read.name}={value}")
        elif read.required:
            lines.append(f"# {read.name}=   (required by {read.location(plan.project.root)})")
            said.append(f"{read.name} to fill in")
    return "\n".join(lines) + "\n", said


def ignores_env(gitignore: str) -> bool:
    for line in gitignore.splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith(("#", "!")):
            continue
        pattern = pattern.lstrip("/").rstrip("/")
        if fnmatch.fnmatchcase(".env", pattern):
            return True
    return False


def _env_files(plan: Plan, force: bool) -> None:
    root = plan.project.root
    if not plan.reads:
        if plan.project.settings_files:
            plan.notes.append(
                "the settings read no environment variable: no .env.example or .env written "
                '(read secrets with os.environ["SECRET_KEY"], then run init again)'
            )
        return
    names = ", ".join(r.name for r in plan.reads)
    example = env_example_text(plan)
    action = "create" if not _exists(root, ".env.example") else ("replace" if force else "keep")
    plan.files.append(Planned(".env.example", example, action, names, "it exists"))
    text, said = env_text(plan)
    if _exists(root, ".env"):
        why = "it exists (init writes .env only when there is none; --force does not replace it)"
        plan.files.append(Planned(".env", text, "keep", ", ".join(said), why, secret=True))
    else:
        plan.files.append(Planned(".env", text, "create", ", ".join(said), secret=True))
    gitignore = root / ".gitignore"
    try:
        current = gitignore.read_text(encoding="utf-8") if gitignore.exists() else None
    except (OSError, UnicodeDecodeError):
        current = ""
    if current is None:
        plan.files.append(Planned(".gitignore", ".env\n", "create", ".env"))
    elif not ignores_env(current):
        plan.files.append(Planned(".gitignore", ".env\n", "append", ".env"))


def make_plan(project: DjangoProject, *, force: bool = False) -> Plan:
    plan = Plan(project)
    plan.reads, problems = scan_files(project.settings_files)
    plan.notes += project.problems + problems
    names = _procfile(plan, force)
    _settings(plan, names, force)
    _env_files(plan, force)
    return plan
