"""Django's migrations, seen from a process's output: what runserver says about unapplied
migrations, what ``makemigrations --check --dry-run`` says about models without a migration, and
which command applies them. Pure functions and a small detector: no I/O, no Textual, no keeper.

runserver, on each (re)start of its inner process, prints::

    Performing system checks...
    System check identified no issues (0 silenced).
    You have 1 unapplied migration(s). Your project may not work properly until you apply the
    migrations for app(s): polls.                      (one line)
    Run 'python manage.py migrate' to apply them.

and, when its autoreloader sees a file change, ``/app/polls/models.py changed, reloading.``
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tuirunner.output import strip_ansi

UNAPPLIED = re.compile(
    r"You have (\d+) unapplied migration\(s\)\. Your project may not work properly until "
    r"you apply the migrations for app\(s\): (.+?)\.?\s*$"
)
SYSTEM_CHECKS = re.compile(r"^Performing system checks\b")
MODELS_CHANGED = re.compile(r"(\S*/models(?:/\S*)?\.py|\bmodels\.py) changed, reloading")
MIGRATIONS_FOR = re.compile(r"^\s*Migrations for '([^']+)':")
_MIGRATE = re.compile(r"(?:manage\.py|django-admin|django)\s+migrate\b")
_MANAGE = re.compile(r"^(.*?\bmanage\.py)\b")


@dataclass(frozen=True)
class Pending:
    """Unapplied migrations, as runserver reported them."""

    count: int
    apps: tuple[str, ...]

    def describe(self) -> str:
        what = "migration" if self.count == 1 else "migrations"
        return f"{self.count} unapplied {what} ({', '.join(self.apps)})"


def parse_unapplied(line: str) -> Pending | None:
    """The unapplied migrations a line of runserver's output reports, or None."""
    m = UNAPPLIED.search(strip_ansi(line))
    if m is None:
        return None
    apps = tuple(a.strip() for a in m.group(2).split(",") if a.strip())
    return Pending(int(m.group(1)), apps)


class MigrationDetector:
    """Fed with one process's output lines, keeps what its latest system check said: the
    unapplied migrations (:attr:`pending`), and whether its autoreloader reloaded because a
    ``models.py`` changed (:meth:`take_models_changed`)."""

    def __init__(self) -> None:
        self.pending: Pending | None = None
        self._models_changed = False

    def feed(self, lines: Iterable[str]) -> bool:
        """Read *lines*; whether :attr:`pending` changed."""
        before = self.pending
        for raw in lines:
            line = strip_ansi(raw)
            if SYSTEM_CHECKS.search(line):
                self.pending = None  # a new check: the message follows if still true
            elif (found := parse_unapplied(line)) is not None:
                self.pending = found
            elif MODELS_CHANGED.search(line):
                self._models_changed = True
        return self.pending != before

    def reset(self) -> bool:
        """The process ended: what it said no longer holds. Whether anything was pending."""
        had, self.pending = self.pending is not None, None
        return had

    def take_models_changed(self) -> bool:
        """Whether a ``models.py`` change was seen since the last call."""
        seen, self._models_changed = self._models_changed, False
        return seen


def makemigrations_apps(output: str) -> list[str]:
    """The apps ``makemigrations --check --dry-run`` would write migrations for."""
    return [m.group(1) for m in map(MIGRATIONS_FOR.search, strip_ansi(output).splitlines()) if m]


def no_migration_note(apps: Sequence[str]) -> str:
    return f"models changed, no migration ({', '.join(apps)})"


def runs_migrate(command: str) -> bool:
    """Whether a Procfile command applies migrations (``python manage.py migrate``)."""
    return _MIGRATE.search(command) is not None


def manage_py(command: str) -> str | None:
    """The ``manage.py`` invocation of a command (``python example/manage.py runserver 8000``
    → ``python example/manage.py``), or None."""
    m = _MANAGE.search(command.strip())
    if m is None:
        return None
    head = m.group(1).strip()
    try:
        words = shlex.split(head)
    except ValueError:
        return None
    if words and words[0] in ("exec",):
        head = shlex.join(words[1:])
    return head or None


def migrate_command(command: str) -> str:
    """What applies the migrations of the project whose process runs *command*."""
    head = manage_py(command) or "python manage.py"
    return f"{head} migrate --noinput"


def makemigrations_check_command(command: str) -> str:
    head = manage_py(command) or "python manage.py"
    return f"{head} makemigrations --check --dry-run"
