"""Who holds a port already: before a process starts on its ``PORT``, and in ``tuirunner
check``. A holder is named with its pid and command line; when it carries a
``TUIRUNNER_RUN_ID``, it belongs to a tuirunner run — a living one (its keeper is among its
ancestors: that run's app root), or a *stray* of an earlier run whose keeper is gone. Only a
stray of the same app root may be stopped (:func:`stop_stray`), and only after checking again
that it is one; nothing else is ever touched.

``psutil.net_connections`` needs privileges on macOS to see other processes' sockets: then the
port is still known to be taken (a test bind), and the message says who could not be seen.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from tuirunner.environment.model import RUN_ID_VARIABLE

KEEPER_MODULE = "tuirunner.keeper"
_USES_PORT = re.compile(r"\$\{?PORT\b")
MAX_COMMAND = 120  # characters of a holder's command line in messages


def uses_port(command: str) -> bool:
    """Whether a Procfile command uses ``$PORT`` (only those are checked)."""
    return _USES_PORT.search(command) is not None


def port_taken(port: int) -> bool:
    """Whether something listens on *port* (a test bind on 127.0.0.1, then ::1, cheap)."""
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        try:
            with socket.socket(family, socket.SOCK_STREAM) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((host, port))
        except OSError as exc:
            if exc.errno in (98, 48):  # EADDRINUSE (Linux, macOS)
                return True
    return False


@dataclass(frozen=True)
class Holder:
    pid: int | None  # None: not visible (another user's process, or no privileges)
    command: str | None = None
    run_id: str | None = None
    name: str | None = None  # its PS (web.1) in that run
    app_root: str | None = None  # that run's app root, when known
    keeper_alive: bool = False

    def is_stray_of(self, app_root: Path | str, run_id: str | None = None) -> bool:
        """A process of an earlier run in *app_root* whose keeper is gone (not of *run_id*)."""
        if self.pid is None or self.run_id is None or self.keeper_alive:
            return False
        if run_id is not None and self.run_id == run_id:
            return False
        return self.app_root is not None and _same(self.app_root, app_root)

    def describe(self, port: int, app_root: Path | str | None = None) -> str:
        if self.pid is None:
            text = f"port {port} is already in use by a process tuirunner cannot see"
            if sys.platform == "darwin":
                text += f" (try: lsof -iTCP:{port} -sTCP:LISTEN)"
            return text
        command = (self.command or "?").strip()
        if len(command) > MAX_COMMAND:
            command = command[: MAX_COMMAND - 1] + "…"
        text = f"port {port} is already in use by pid {self.pid} ({command})"
        if self.run_id is not None:
            who = f"{self.name} of " if self.name else ""
            if self.keeper_alive:
                text += f": {who}the tuirunner run in {self.app_root or '?'}"
            elif app_root is not None and self.is_stray_of(app_root):
                text += f": {who}an earlier tuirunner run here, left behind"
            else:
                where = f" in {self.app_root}" if self.app_root else ""
                text += f": {who}an earlier tuirunner run{where}, left behind"
        return text


def _same(a: Path | str, b: Path | str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def _keeper_root(proc: psutil.Process) -> str | None:
    """The app root of the keeper among *proc*'s ancestors, or None (no living keeper)."""
    with contextlib.suppress(psutil.Error):
        for parent in proc.parents():
            with contextlib.suppress(psutil.Error):
                cmdline = parent.cmdline()
                if KEEPER_MODULE in cmdline:
                    return _app_root_argument(cmdline[cmdline.index(KEEPER_MODULE) + 1 :])
    return None


def _app_root_argument(args: list[str]) -> str | None:
    """The app root among a keeper's arguments (``--config-fd 3 --ready-fd 6 … APP_ROOT
    --guard-pid N``, launch.start_keeper and guard.sh): the one that is not an option's
    value. Every option of the keeper takes a value, and the app root is absolute."""
    args = iter(args)
    for arg in args:
        if not arg.startswith("--"):
            return arg
        next(args, None)  # its value
    return None


def describe_pid(pid: int) -> Holder:
    """What there is to know about the process *pid* as a port holder."""
    try:
        proc = psutil.Process(pid)
        command = " ".join(proc.cmdline()) or proc.name()
    except psutil.Error:
        return Holder(pid)
    run_id = name = root = None
    with contextlib.suppress(psutil.Error, OSError):
        environ = proc.environ()
        run_id = environ.get(RUN_ID_VARIABLE)
        name = environ.get("PS")
    keeper = False
    if run_id is not None:
        keeper_root = _keeper_root(proc)
        keeper = keeper_root is not None
        root = keeper_root
        if root is None:
            with contextlib.suppress(psutil.Error, OSError):
                root = proc.cwd()
    return Holder(pid, command, run_id, name, root, keeper)


def listeners(port: int) -> list[int | None]:
    """The pids listening on TCP *port* (None for one that cannot be seen); [] when psutil may
    not look (macOS without privileges)."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, PermissionError, OSError):
        return []
    pids = []
    for c in connections:
        listening = c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
        if listening and c.pid not in pids:
            pids.append(c.pid)
    return pids


def holders(port: int) -> list[Holder]:
    """Who listens on *port*; [] when it is free."""
    if not port_taken(port):
        return []
    pids = listeners(port)
    if not pids:
        return [Holder(None)]
    return [describe_pid(pid) if pid is not None else Holder(None) for pid in pids]


def stop_stray(pid: int, app_root: Path | str, run_id: str | None = None, timeout: float = 5):
    """Stop *pid* if it still is a stray of an earlier run in *app_root* (checked again now),
    with the processes of its run that are left in the same app root: SIGTERM, then SIGKILL
    after *timeout*. Returns the pids stopped; ValueError if it is not such a stray."""
    holder = describe_pid(pid)
    if not holder.is_stray_of(app_root, run_id):
        raise ValueError(f"pid {pid} is not a process left behind by a tuirunner run here")
    targets = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            if proc.environ().get(RUN_ID_VARIABLE) == holder.run_id and _same(proc.cwd(), app_root):
                targets.append(proc)
    for proc in targets:
        with contextlib.suppress(psutil.Error):
            proc.send_signal(signal.SIGTERM)
    alive = _wait_stopped(targets, timeout)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    _wait_stopped(alive, 2)
    return [p.pid for p in targets]


def running(p: psutil.Process) -> bool:
    """Whether *p* still runs: not gone, and not a zombie (dead, holding no port; its exit
    status is its parent's to collect, which may take a while, or forever)."""
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _wait_stopped(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Until none of *procs* runs, at most *timeout* seconds: those still running. Not
    psutil.wait_procs, which waits for a zombie that is not our child until it is reaped."""
    deadline = time.monotonic() + timeout
    while (procs := [p for p in procs if running(p)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return procs
