"""``tuirunner export FORMAT LOCATION``: the Procfile, the formation, the env files and the
settings as configuration for supervisord, systemd, Docker Compose or Kubernetes.

The options are honcho's where honcho has them (``-a``, ``-u``, ``-l``, ``-s``, ``-c``, ``-p``;
``honcho export supervisord DIR -a APP`` and ``tuirunner export supervisord DIR -a APP`` both
write ``DIR/APP.conf``). The model and the quoting are shared (:mod:`.model`, :mod:`.quoting`);
each format is a module with ``render(export) -> list[OutputFile]``.

Nothing is written unless every file can be: existing files are overwritten only with
``--force``, and each file is written to a temporary file first and renamed into place.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tuirunner.errors import UserError
from tuirunner.output import visible_controls

from .formats import ALIASES, FORMATS

if TYPE_CHECKING:
    from .model import OutputFile, ProjectLike

PROG = "tuirunner"
USAGE = "usage: tuirunner export FORMAT LOCATION [-a APP] [-u USER] [-l DIR] [--image IMAGE]"
DEFAULT_SHELL = "/bin/sh"
_FORMAT_NAMES = ", ".join(FORMATS[:-1]) + " or " + FORMATS[-1]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of the ``export`` subcommand (the common options are the CLI's)."""
    parser.add_argument("format", nargs="?", metavar="FORMAT", help=_FORMAT_NAMES)
    parser.add_argument(
        "location", nargs="?", metavar="LOCATION", help="the directory to write to (created)"
    )
    g = parser.add_argument_group("export options")
    g.add_argument(
        "-a", "--app", metavar="APP", help="the app's name (default: the app root's name)"
    )
    g.add_argument(
        "-u",
        "--user",
        metavar="USER",
        help="the user the processes run as (default for supervisord and systemd: APP; "
        "Compose and Kubernetes: the image's; Kubernetes needs a numeric id)",
    )
    g.add_argument(
        "-l",
        "--log",
        metavar="DIR",
        dest="log_dir",
        help="supervisord: the directory of the log files (default: /var/log/APP)",
    )
    g.add_argument(
        "-s",
        "--shell",
        metavar="SHELL",
        default=DEFAULT_SHELL,
        help=f"the shell that runs each command (default: {DEFAULT_SHELL})",
    )
    g.add_argument(
        "--image",
        metavar="IMAGE",
        help="the container image (required for kubernetes; compose builds the app root "
        "without it)",
    )
    g.add_argument("--force", action="store_true", help="overwrite existing files")


def resolve_format(name: str | None) -> str:
    if not name:
        raise UserError(f"export: missing FORMAT ({_FORMAT_NAMES}); {USAGE}")
    fmt = ALIASES.get(name.lower(), name.lower())
    if fmt not in FORMATS:
        raise UserError(f"export: unknown format {name!r}; choose {_FORMAT_NAMES}")
    return fmt


def check_location(value: str | None) -> Path:
    if not value:
        raise UserError(f"export: missing LOCATION, the directory to write to; {USAGE}")
    path = Path(value)
    if path.exists() and not path.is_dir():
        raise UserError(f"export: {value}: is a file, not a directory")
    return path


def run(args: argparse.Namespace, project: ProjectLike, timeout: float) -> int:
    from .model import build  # only now: the command line builds its parser on every run

    """The ``export`` subcommand; *project* is the CLI's, *timeout* the global stop timeout."""
    fmt = resolve_format(args.format)
    location = check_location(args.location)
    if fmt == "kubernetes" and not args.image:
        raise UserError(
            "export kubernetes: --image IMAGE is required (the image that has your app, e.g. "
            "registry.example.com/myapp:1.0)"
        )
    if args.image is not None and (not args.image.strip() or any(c.isspace() for c in args.image)):
        raise UserError(f"export: invalid --image {args.image!r}")
    if not args.shell:
        raise UserError("export: --shell must not be empty")
    export = build(
        project,
        format=fmt,
        location=location,
        app=args.app,
        user=args.user,
        log_dir=args.log_dir,
        shell=args.shell,
        image=args.image,
        concurrency=project.concurrency,
        timeout=timeout,
        env_files=project.env_source.files,
    )
    from .production import apply

    warnings, notes = apply(export, os.environ)  # development settings; PATH, secrets
    for warning in warnings:
        export.warn(warning)
    module = importlib.import_module(f"{__name__}.{fmt}")
    files: list[OutputFile] = module.render(export)
    if args.log_dir is not None and fmt != "supervisord":
        export.warn(f"-l is only used by supervisord; {fmt} does not write log files")
    if args.image is not None and fmt in ("supervisord", "systemd"):
        export.warn(f"--image is only used by compose and kubernetes, not by {fmt}")
    if fmt == "supervisord" and not os.path.isdir(export.log_dir):
        export.warn(f"{export.log_dir} does not exist: create it before supervisord starts")
    write_files(location, files, args.location, force=args.force)
    for name in stale_files(location, {f.name for f in files}, fmt, export.app):
        export.warn(
            f"{os.path.join(args.location, name)} is from an earlier export of {export.app} "
            "and was left as it is"
        )
    for message in export.warnings:
        print(f"{PROG}: warning: {visible_controls(message)}", file=sys.stderr)
    for message in notes:
        print(f"{PROG}: note: {visible_controls(message)}", file=sys.stderr)
    return 0


def write_files(location: Path, files: list[OutputFile], shown: str, force: bool) -> None:
    """Write every file or none: first check that none exists (without *force*), then write
    each atomically. Prints what was written."""
    existing = [f for f in files if os.path.lexists(location / f.name)]
    for f in existing:
        if (location / f.name).is_dir():
            raise UserError(f"export: {os.path.join(shown, f.name)} is a directory")
    if existing and not force:
        names = ", ".join(os.path.join(shown, f.name) for f in existing)
        raise UserError(
            f"export: would overwrite {names}; pass --force to overwrite (nothing was written)"
        )
    try:
        location.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"export: cannot create {shown}: {exc.strerror}") from None
    for f in files:
        path = location / f.name
        try:
            write_atomic(path, f.content, 0o600 if f.secret else 0o644)
        except OSError as exc:
            shown_path = os.path.join(shown, f.name)
            raise UserError(f"export: cannot write {shown_path}: {exc.strerror}") from None
        wrote = visible_controls(os.path.join(shown, f.name))
        print(f"Wrote {wrote}" + (" (mode 600)" if f.secret else ""))


def write_atomic(path: Path, content: str, mode: int) -> None:
    """Write *content* to a temporary file beside *path* and rename it into place: a reader sees
    the old file or the new one, never half of it."""
    import tempfile  # here: ~4 ms that every command paid for the export subcommand's options

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def stale_files(location: Path, written: set[str], fmt: str, app: str) -> list[str]:
    """Files of an earlier export of the same app and format that this one did not write (an
    instance that the formation no longer has)."""
    marker = f"(tuirunner export {fmt}) for app {app!r}"
    stale = []
    for entry in sorted(location.iterdir()):
        if entry.name in written or not entry.is_file():
            continue
        try:
            with open(entry, encoding="utf-8", errors="replace") as f:
                head = f.read(400)
        except OSError:
            continue
        if marker in head:
            stale.append(entry.name)
    return stale
