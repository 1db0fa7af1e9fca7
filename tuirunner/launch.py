"""Starting a run's keeper, under its guard, from a front end.

Light on purpose (no asyncio, no psutil): the command line launches the keeper first thing, and
the front end's own imports (Textual) happen while the keeper starts.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import select
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tuirunner import bytecode
from tuirunner import guard as guards
from tuirunner.errors import UserError
from tuirunner.options import DEFAULT_TIMEOUT, RunOptions
from tuirunner.runtime import RunPaths, already_running, holder, run_paths

PACKAGE_PARENT = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 30.0


@dataclass
class KeeperProcess:
    """A keeper being started, or started: the guard (its parent) is our child."""

    guard: subprocess.Popen
    paths: RunPaths
    ready_fd: int | None
    lifeline: int | None  # foreground: our end of the lifeline; closing it stops the run
    owner: str | None  # foreground: the token that makes a client the owner
    pid: int | None = None  # the keeper's, once it is ready

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> int:
        """Wait until the keeper listens; its pid. UserError if it could not start."""
        assert self.ready_fd is not None
        data = b""
        deadline = time.monotonic() + timeout
        try:
            while not data.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.ready_fd], [], [], left)[0]:
                    raise UserError(f"the keeper did not start within {timeout:g} s{self._log()}")
                chunk = os.read(self.ready_fd, 4096)
                if not chunk:
                    break
                data += chunk
        finally:
            os.close(self.ready_fd)
            self.ready_fd = None
        from tuirunner.protocol import KeeperStarted, ProtocolError, decode_plain

        try:
            message = decode_plain(data, KeeperStarted)
        except ProtocolError:
            self.guard.wait(5)
            raise UserError(f"the keeper failed to start{self._log()}") from None
        if not message.ok or message.pid is None:
            self.guard.wait(5)
            raise UserError(message.error or "the keeper failed to start")
        self.pid = message.pid
        return self.pid

    def _log(self) -> str:
        try:
            lines = self.paths.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return f"; its log ({self.paths.log}) ends with: {lines[-1]}" if lines else ""

    def release(self) -> None:
        """Let go of the run: our end of the lifeline closes (the keeper decides what that
        means: stop everything, unless we detached)."""
        if self.lifeline is not None:
            with contextlib.suppress(OSError):
                os.close(self.lifeline)
            self.lifeline = None

    def wait(self, timeout: float) -> int | None:
        """The guard's exit status (the keeper's, or 128 + its signal), None if still running."""
        if self.guard.returncode is None and hasattr(os, "pidfd_open"):
            # Woken the moment it exits (Popen.wait polls, sleeping up to 50 ms at a time:
            # 20-30 ms more before the prompt comes back).
            with contextlib.suppress(OSError):
                fd = os.pidfd_open(self.guard.pid)
                try:
                    if not select.select([fd], [], [], timeout)[0]:
                        return None
                finally:
                    os.close(fd)
        try:
            return self.guard.wait(timeout)
        except subprocess.TimeoutExpired:
            return None


def start_keeper(
    options: RunOptions,
    *,
    foreground: bool,
    window: tuple[int, int] = (80, 24),
    terminal: tuple[int, int] | None = None,
    environ: dict[str, str] | None = None,
    hold_start: bool = False,
) -> KeeperProcess:
    """Launch the guard and the keeper of a run in the background; :meth:`wait_ready` next.

    The processes' terminals are *window* (columns, rows), or, given the *terminal* the UI
    tiles with panes, the size of a pane (the keeper knows how many there are). The keeper
    is given this process's environment, or *environ*: the "shell" the processes get.
    *hold_start*: the processes start once this front end has connected (see KeeperConfig)."""
    options = options.absolute()
    paths = run_paths(Path(options.app_root))
    pid = holder(paths)
    if pid is not None:
        raise UserError(already_running(pid, _where(options)))
    owner = secrets.token_hex(16) if foreground else None
    config_r, config_w = os.pipe()
    ready_r, ready_w = os.pipe()
    lifeline_r, lifeline_w = os.pipe() if foreground else (None, None)
    keeper = [sys.executable, *bytecode.flags(bytecode.KEEPER), "-m", "tuirunner.keeper"]
    keeper += ["--config-fd", str(config_r), "--ready-fd", str(ready_w)]
    inherited = [config_r, ready_w]
    if lifeline_r is not None:
        keeper += ["--lifeline-fd", str(lifeline_r)]
        inherited.append(lifeline_r)
    keeper.append(options.app_root)
    timeout = DEFAULT_TIMEOUT if options.timeout is None else options.timeout
    # The keeper writes the run's longest stop there once it has read the settings.
    noted = str(paths.stop_timeout)
    with contextlib.suppress(OSError):
        os.unlink(noted)  # a previous run's
    log = os.open(paths.log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        guard = subprocess.Popen(
            guards.command(timeout, noted, keeper),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            pass_fds=inherited,
            env=environ,
            start_new_session=True,  # terminal signals are the front end's to handle
            preexec_fn=guards.subreaper(),  # (before the shell's exec: the mark outlives it)
            cwd=PACKAGE_PARENT,  # so that ``-m tuirunner.keeper`` finds this very package
        )
    finally:
        for fd in (log, *inherited):
            os.close(fd)
    # The protocol's types are imported once the keeper is on its way (msgspec costs ~20 ms).
    from tuirunner.protocol import KeeperConfig, RunPathsPayload, encode_plain

    config = KeeperConfig(
        options=options.to_json(),
        owner=owner,
        window=window,
        terminal=terminal,
        paths=RunPathsPayload(str(paths.socket), str(paths.lock), str(paths.log)),
        hold_start=hold_start and foreground,
        environ=dict(os.environ) if environ is None else environ,
    )
    with os.fdopen(config_w, "wb") as f:
        f.write(encode_plain(config))
    return KeeperProcess(guard, paths, ready_r, lifeline_w, owner)


def _where(options: RunOptions) -> str:
    return "" if options.app_root in (".", os.getcwd()) else f" -d {options.app_root}"
