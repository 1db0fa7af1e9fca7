"""What a Django project is made of, read from its files (nothing is imported): ``manage.py``
and the settings module it names, the worker library it uses, a frontend watcher."""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from tuirunner.errors import UserError

MAX_READ = 1024 * 1024  # larger files are not read (a requirements file is small)


@dataclass(frozen=True)
class Worker:
    """A worker library and the Procfile command that runs its worker."""

    library: str
    command: str
    found_in: str  # "requirements.txt", "INSTALLED_APPS", …


@dataclass
class DjangoProject:
    root: Path
    manage: str  # "manage.py", relative to the root
    settings_module: str  # "mysite.settings"
    settings_files: list[Path]
    package: str  # "mysite": the project package (celery's -A)
    workers: list[Worker] = field(default_factory=list)
    frontend: str | None = None  # "npm run dev"
    problems: list[str] = field(default_factory=list)


# (library, package names in requirements, INSTALLED_APPS entries, command)
WORKER_LIBRARIES: tuple[tuple[str, tuple[str, ...], tuple[str, ...], str], ...] = (
    ("celery", ("celery", "django-celery-beat", "django-celery-results"), (), ""),
    ("django-rq", ("django-rq", "rq"), ("django_rq",), "python manage.py rqworker default"),
    ("huey", ("huey",), ("huey.contrib.djhuey",), "python manage.py run_huey"),
    (
        "dramatiq",
        ("django-dramatiq", "dramatiq"),
        ("django_dramatiq",),
        "python manage.py rundramatiq",
    ),
    ("django-q2", ("django-q2", "django-q"), ("django_q",), "python manage.py qcluster"),
    (
        "django-tasks",
        ("django-tasks", "django-tasks-db"),
        ("django_tasks.backends.database", "django_tasks_db", "django_tasks"),
        "python manage.py db_worker",
    ),
)

_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_DEPENDENCY_FILES = (
    "requirements*.txt",
    "requirements/*.txt",
    "pyproject.toml",
    "setup.cfg",
    "Pipfile",
    "setup.py",
)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _read(path: Path) -> str | None:
    try:
        if not path.is_file() or path.stat().st_size > MAX_READ:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def requirement_names(root: Path) -> dict[str, str]:
    """Distribution names the project's dependency files mention (normalised) → the file."""
    found: dict[str, str] = {}
    for pattern in _DEPENDENCY_FILES:
        for path in sorted(root.glob(pattern)):
            text = _read(path)
            if text is None:
                continue
            shown = str(path.relative_to(root))
            if path.suffix == ".txt":
                lines = text.splitlines()
            else:  # quoted requirement strings, "name = version" lines (Pipfile, setup.cfg)
                lines = [*re.findall(r"""["']([^"'\n]+)["']""", text), *text.splitlines()]
            for line in lines:
                line = line.split("#", 1)[0].strip()
                if not line or line.startswith("-"):
                    continue
                m = _REQUIREMENT_NAME.match(line)
                if m:
                    found.setdefault(_normalise(m.group(1)), shown)
    return found


def settings_module_of(manage_py: Path) -> str | None:
    """The module ``manage.py`` puts in ``DJANGO_SETTINGS_MODULE`` (``setdefault`` call)."""
    text = _read(manage_py)
    if text is None:
        return None
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and len(node.args) == 2
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == "DJANGO_SETTINGS_MODULE"
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
        ):
            return node.args[1].value
    return None


def settings_files(root: Path, module: str) -> list[Path]:
    """The file of *module* (``mysite.settings``), or every module of the package when it is
    one (``settings/base.py``, ``settings/dev.py``, …)."""
    base = root.joinpath(*module.split("."))
    if base.with_suffix(".py").is_file():
        return [base.with_suffix(".py")]
    if (base / "__init__.py").is_file():
        return sorted(base.glob("*.py"))
    return []


def installed_apps(files: list[Path]) -> set[str]:
    """The strings in the settings' ``INSTALLED_APPS`` (and any list added to it)."""
    apps: set[str] = set()
    for file in files:
        text = _read(file)
        if text is None:
            continue
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            targets: list[ast.AST] = []
            if isinstance(node, ast.Assign):
                targets = list(node.targets)
            elif isinstance(node, ast.AugAssign | ast.AnnAssign):
                targets = [node.target]
            if not any(isinstance(t, ast.Name) and "APPS" in t.id for t in targets):
                continue
            for const in ast.walk(node):
                if isinstance(const, ast.Constant) and isinstance(const.value, str):
                    apps.add(const.value)
    return apps


def find_workers(root: Path, package: str, files: list[Path]) -> list[Worker]:
    names = requirement_names(root)
    apps = installed_apps(files)
    settings_text = "\n".join(_read(f) or "" for f in files)
    workers = []
    for library, dists, app_names, command in WORKER_LIBRARIES:
        where = next((names[_normalise(d)] for d in dists if _normalise(d) in names), None)
        if where is None:
            app = next((a for a in app_names if a in apps), None)
            where = "INSTALLED_APPS" if app else None
        if (
            where is None
            and library == "celery"
            and ((root / package / "celery.py").is_file() or "CELERY_BROKER_URL" in settings_text)
        ):
            where = (
                f"{package}/celery.py"
                if (root / package / "celery.py").is_file()
                else ("CELERY_BROKER_URL in the settings")
            )
        if where is None:
            continue
        if library == "celery":
            command = f"celery -A {package} worker -l info"
        workers.append(Worker(library, command, where))
    return workers


def find_frontend(root: Path) -> str | None:
    """``npm run dev`` (or ``watch``) when ``package.json`` has that script."""
    text = _read(root / "package.json")
    if text is None:
        return None
    try:
        scripts = json.loads(text).get("scripts") or {}
    except (ValueError, AttributeError):
        return None
    if not isinstance(scripts, dict):
        return None
    runner = "npm"
    if (root / "pnpm-lock.yaml").exists():
        runner = "pnpm"
    elif (root / "yarn.lock").exists():
        runner = "yarn"
    for script in ("dev", "watch"):
        if script in scripts:
            return f"{runner} run {script}"
    return None


def detect(root: Path) -> DjangoProject:
    """The Django project in *root*; UserError if there is none (no ``manage.py``)."""
    manage = root / "manage.py"
    if not manage.is_file():
        raise UserError(
            f"init: no manage.py in {root}: run it in a Django project's root "
            "(django-admin startproject NAME .)"
        )
    module = settings_module_of(manage)
    problems = []
    if module is None:
        problems.append("manage.py sets no DJANGO_SETTINGS_MODULE: no settings were read")
        files: list[Path] = []
        package = root.resolve().name
    else:
        files = settings_files(root, module)
        if not files:
            problems.append(f"settings module {module} not found under {root}")
        package = module.split(".")[0]
    return DjangoProject(
        root=root,
        manage="manage.py",
        settings_module=module or "",
        settings_files=files,
        package=package,
        workers=find_workers(root, package, files),
        frontend=find_frontend(root),
        problems=problems,
    )
