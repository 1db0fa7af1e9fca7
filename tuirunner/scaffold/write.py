"""Carrying a :class:`~.plan.Plan` out: create and append, never overwrite (unless ``--force``
for the files that allow it), and say what was done, what was not and why."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from tuirunner.output import visible_controls
from tuirunner.scaffold.plan import Plan, Planned

_VERBS = {
    "create": ("wrote", "would write"),
    "replace": ("replaced", "would replace"),
    "append": ("added to", "would add to"),
}


def _write(root: Path, item: Planned) -> None:
    path = root / item.path
    if item.action == "append":
        with path.open("a", encoding="utf-8") as f:
            if path.stat().st_size and not path.read_text(encoding="utf-8").endswith("\n"):
                f.write("\n")
            f.write(item.content)
        return
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if item.action == "replace" else os.O_EXCL)
    mode = 0o600 if item.secret else 0o644
    fd = os.open(path, flags, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(item.content)


def _shown(item: Planned) -> str:
    if not item.secret:
        return item.content
    lines = []
    for line in item.content.splitlines():
        name, eq, _ = line.partition("=")
        lines.append(f"{name}=•••• (generated)" if eq and name == "SECRET_KEY" else line)
    return "\n".join(lines) + "\n"


def _indented(text: str) -> str:
    return "".join(f"    | {visible_controls(line)}\n" for line in text.splitlines())


def carry_out(plan: Plan, *, dry_run: bool, out: Callable[[str], None] = print) -> int:
    """Write the plan (nothing with *dry_run*), telling *out* about each file. The exit status:
    0, or 1 when a file could not be written."""
    root = plan.project.root
    project = plan.project
    found = [f"settings {project.settings_module or '(none found)'}"]
    found += [f"worker {w.library} (found in {w.found_in})" for w in project.workers]
    if project.frontend:
        found.append(f"frontend {project.frontend!r} (package.json)")
    out(f"tuirunner init: a Django project: {', '.join(found)}")
    status = 0
    written = 0
    for item in plan.files:
        if item.action == "keep":
            out(
                f"  kept {item.path}: {item.why_kept}. What init would write"
                f" ({item.what}):\n{_indented(_shown(item))}"
            )
            continue
        done, would = _VERBS[item.action]
        if dry_run:
            out(f"  {would} {item.path} ({item.what}):\n{_indented(_shown(item))}")
            continue
        try:
            _write(root, item)
        except OSError as exc:
            out(f"  could not write {item.path}: {exc.strerror or exc}")
            status = 1
            continue
        out(f"  {done} {item.path}: {item.what}")
        written += 1
    for note in plan.notes:
        out(f"  note: {visible_controls(note)}")
    if dry_run:
        out("Nothing was written (--dry-run). Run `tuirunner init` to write it.")
    elif written == 0 and status == 0:
        out(
            "Nothing was written: the files exist (--force replaces the Procfile, the settings "
            "file and .env.example). Next: `tuirunner check`, then `tuirunner`."
        )
    elif status == 0:
        out("Next: `tuirunner check`, then `tuirunner` to start everything.")
    return status
