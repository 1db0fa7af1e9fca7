"""The keeper's one file watcher: env files (reload the environment) and the files processes
``watch`` (restart them).

It is one :func:`watchfiles.awatch`, whose thread wakes every ``step`` milliseconds to look for
events (its idle cost), so what it watches is chosen with care:

- No process has ``watch`` patterns: no thread at all; the env files are looked at (``stat``)
  every ``poll`` seconds, which costs less than the thread's wake-ups.
- Otherwise the app root's subdirectories, recursively, except those every watching process
  ignores (``.git``, ``.venv``, ``node_modules``…: a virtualenv alone has thousands of
  directories, each an inotify watch). The app root itself cannot be watched without watching
  everything under it, so its own files (``manage.py``, ``.env``), and env files outside the
  watched directories, are looked at (``stat``) every ``poll`` seconds instead.

Changes are debounced (``debounce`` ms), filtered by the settings (:meth:`Settings.watched`:
the default ignores, ``ignore`` patterns and log files), and handed over as paths relative to
the app root.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from tuirunner.settings import DEFAULT_WATCH_IGNORE, Settings, glob_matches

Stamp = tuple[int, int, int]  # mtime_ns, size, inode

#: Changes to watched files closer together than this (milliseconds) are one restart.
WATCH_DEBOUNCE = 300


class FileWatch:
    def __init__(
        self,
        app_root: Path | str,
        env_files: Iterable[Path | str],
        settings: Settings,
        types: Iterable[str],
        on_env: Callable[[], None],
        on_files: Callable[[list[str]], None],
        *,
        debounce: int = WATCH_DEBOUNCE,
        step: int = 100,
        poll: float = 1.0,
        since: dict[str, Stamp] | None = None,
        config_files: Iterable[Path | str] = (),
        on_config: Callable[[], None] | None = None,
    ) -> None:
        self.app_root = os.path.abspath(app_root)
        self.env_files = {os.path.abspath(p) for p in env_files}
        # The Procfile and the settings files (reloaded by on_config), looked at as env files.
        self.config_files = {os.path.abspath(p) for p in config_files} - self.env_files
        self.on_config = on_config
        self.settings = settings
        self.watching = [t for t in dict.fromkeys(types) if settings.process(t).watch]
        self.on_env = on_env
        self.on_files = on_files
        self.debounce = debounce
        self.step = step
        self.poll = poll
        self.roots, self.recursive = self._roots()
        self.polled = self._polled_env_files()
        self._stamps: dict[str, Stamp] = {}
        self.since = since  # the env files' stamps when they were loaded (see run)
        self._next_poll = 0.0

    # --- what to watch --------------------------------------------------------------------------

    def _roots(self) -> tuple[list[str], bool]:
        if not self.watching:
            return [], False
        roots = []
        try:
            entries = sorted(os.scandir(self.app_root), key=lambda e: e.name)
        except OSError:
            entries = []
        for entry in entries:
            if entry.is_dir() and not self._ignored_everywhere(entry.name):
                roots.append(entry.path)
        return roots, True

    def _ignored_everywhere(self, name: str) -> bool:
        """Every watching process ignores directory *name* (at the top of the app root)."""
        for process in self.watching:
            patterns = (*DEFAULT_WATCH_IGNORE, *self.settings.process(process).ignore)
            if not any(glob_matches(p, name) for p in patterns):
                return False
        return True

    def _polled_env_files(self) -> list[str]:
        files = self.env_files | self.config_files
        if not self.recursive:
            return sorted(files)
        return sorted(f for f in files if not any(_inside(f, r) for r in self.roots))

    @property
    def polling(self) -> bool:
        """Some files are looked at every ``poll`` seconds (env files, the app root's own)."""
        return self.recursive or bool(self.polled)

    # --- filtering ------------------------------------------------------------------------------

    def relative(self, path: str) -> str | None:
        """*path* relative to the app root, ``/`` separated; None if outside."""
        rel = os.path.relpath(path, self.app_root)
        if rel == ".." or rel.startswith("../") or os.path.isabs(rel):
            return None
        return rel.replace(os.sep, "/")

    def watched(self, path: str) -> bool:
        rel = self.relative(path)
        return rel is not None and any(self.settings.watched(t, rel) for t in self.watching)

    def _keep(self, _change: object, path: str) -> bool:
        return (
            path in self.env_files
            or path in self.config_files
            or (self.recursive and self.watched(path))
        )

    # --- polling --------------------------------------------------------------------------------

    def _stamp_all(self) -> dict[str, Stamp]:
        """Stamps of the polled files: env files outside the watched directories, and the app
        root's own files that a process watches."""
        stamps: dict[str, Stamp] = {}
        for path in self.polled:
            stamp = _stamp(path)
            if stamp is not None:
                stamps[path] = stamp
        if self.recursive:
            try:
                with os.scandir(self.app_root) as entries:
                    for entry in entries:
                        if entry.path in stamps or not self.watched(entry.path):
                            continue
                        stamp = _stamp(entry.path)
                        if stamp is not None:
                            stamps[entry.path] = stamp
            except OSError:
                pass
        return stamps

    def check_polled(self) -> set[str]:
        """The polled files that changed (or appeared, or went) since the last look."""
        stamps = self._stamp_all()
        old, self._stamps = self._stamps, stamps
        return {p for p in old.keys() | stamps.keys() if old.get(p) != stamps.get(p)}

    # --- running --------------------------------------------------------------------------------

    def dispatch(self, paths: set[str]) -> None:
        if paths & self.env_files:
            self.on_env()
        if paths & self.config_files and self.on_config is not None:
            self.on_config()
        rest = paths - self.env_files - self.config_files
        changed = [rel for p in sorted(rest) if (rel := self.relative(p))]
        changed = [rel for rel in changed if self.watched(os.path.join(self.app_root, rel))]
        if changed:
            self.on_files(changed)

    async def run(self) -> None:
        if self.since is not None:  # an env file that changed before the watching began
            files = self.env_files | self.config_files
            changed = {p for p in files if _stamp(p) != self.since.get(p)}
            if changed:
                self.dispatch(changed)
        if not self.roots and not self.polling:
            return
        self._stamps = self._stamp_all()
        if not self.roots:  # nothing to watch by events: look every `poll` seconds
            while True:
                await asyncio.sleep(self.poll)
                self.dispatch(self.check_polled())
        from watchfiles import awatch

        async for changes in awatch(
            *self.roots,
            watch_filter=self._keep,
            debounce=self.debounce,
            step=self.step,
            recursive=self.recursive,
            rust_timeout=int(self.poll * 1000) if self.polling else None,
            yield_on_timeout=self.polling,
        ):
            paths = {path for _, path in changes}
            if self.polling and time.monotonic() >= self._next_poll:
                self._next_poll = time.monotonic() + self.poll
                paths |= self.check_polled()
            if paths:
                self.dispatch(paths)


def _inside(path: str, directory: str) -> bool:
    return path.startswith(directory.rstrip(os.sep) + os.sep)


def stamps(paths: Iterable[Path | str]) -> dict[str, Stamp]:
    """The stamps of the files of *paths* that exist, by absolute path."""
    found = {}
    for path in paths:
        stamp = _stamp(os.path.abspath(path))
        if stamp is not None:
            found[os.path.abspath(path)] = stamp
    return found


def _stamp(path: str) -> Stamp | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino
