"""The keeper: the process that owns a run's processes and serves its clients.

``python -m tuirunner.keeper`` is started by :func:`tuirunner.client.start_keeper`, under the
guard (:mod:`tuirunner.guard`). It is a child subreaper, spawns the processes (so it is their
parent), drains their terminals, runs the :class:`~tuirunner.supervisor.Supervisor`, reloads the
environment when an env file changes, restarts the processes that ``watch`` a file that changed
(:mod:`tuirunner.watching`), samples the processes' resources while a client shows them, and
serves a unix socket (:mod:`tuirunner.runtime` says where, :mod:`tuirunner.protocol` what is
said on it, :mod:`tuirunner.sessions` to whom) to every
front end: the Textual app, the plain printer, and the control commands (``ps``, ``restart``,
``logs``, ``attach``, ``down``…). It never imports Textual.

Lifetime. A foreground run passes a *lifeline*: a pipe whose other end only the front end holds.
When it closes without the front end having detached (quit, crash, SIGKILL, closed terminal),
the keeper stops everything and exits. ``down`` (or ``q`` in the app), SIGTERM, SIGINT and
SIGHUP do the same; a second one kills at once.
"""

from __future__ import annotations

import gc

if __name__ == "__main__":  # python -m tuirunner.keeper: no cyclic garbage collection while the
    # keeper starts (imports and set-up make few cycles; the collections cost ~5 % of the start,
    # on the way to the first child's spawn). Keeper.run enables it once the keeper is ready.
    gc.disable()
    # asyncio and hashlib without OpenSSL (~4.5 MB), shutil without bz2 and lzma, for the life of
    # the run (lean_imports.py).
    from tuirunner.lean_imports import import_shutil_without_archivers, import_without_openssl

    import_without_openssl()
    import_shutil_without_archivers()

import asyncio
import contextlib
import functools
import getopt
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tuirunner import heap, openfiles
from tuirunner.envcopies import EnvChecks, send_env_changed
from tuirunner.environment import EnvSource
from tuirunner.errors import UserError
from tuirunner.events import (
    Event,
    InfoChanged,
    Notice,
    OutputEnded,
    ProcessOutput,
    RunnerLine,
    StateChanged,
)
from tuirunner.groups import become_subreaper
from tuirunner.guard import join_guard, note_longest_stop, restore_signals
from tuirunner.names import unknown_message
from tuirunner.operations import HANDLERS, SAMPLE_INTERVAL, SAMPLE_SHARE
from tuirunner.options import RunOptions
from tuirunner.output import OutputBuffer
from tuirunner.project import Project, load_project
from tuirunner.protocol import (
    Change,
    End,
    KeeperConfig,
    KeeperStarted,
    Line,
    NoticeMessage,
    Op,
    Proc,
    decode_plain,
    encode,
    encode_plain,
)
from tuirunner.ptys import Ptys
from tuirunner.reshape import Reshape
from tuirunner.runtime import RunLock, RunPaths, already_running, holder, listen, run_paths
from tuirunner.sessions import Session
from tuirunner.spawn import Reaper, quiet_signal_wakeup
from tuirunner.supervisor import ManagedProcess, Supervisor
from tuirunner.tiling import first_window
from tuirunner.tokenformats import scan_elsewhere
from tuirunner.warmup import WarmUp
from tuirunner.watching import WATCH_DEBOUNCE, FileWatch, Stamp

log = logging.getLogger("tuirunner.keeper")

# The file watcher (watchfiles, when processes watch files): changes within WATCH_DEBOUNCE are
# one; WATCH_STEP is how often its thread wakes up to look for them (its idle cost); WATCH_POLL
# how often files that are not watched by events (env files, the app root's own) are looked at.
WATCH_STEP = 250
WATCH_POLL = 1.0
FD_OPTIONS = ["config-fd=", "ready-fd=", "lifeline-fd=", "guard-pid="]  # (see main)
HOLD_START = 5.0  # a run held for its owner (KeeperConfig.hold_start) starts after this anyway


def config_paths(config: KeeperConfig, options: RunOptions) -> RunPaths:
    """The run's files: the launcher's (both ends agree whatever the keeper's environment
    says), or found from the app root."""
    paths = config.paths
    if paths is None:
        return run_paths(Path(options.app_root))
    root = Path(options.app_root).resolve()
    return RunPaths(root, Path(paths.socket), Path(paths.lock), Path(paths.log))


def start_processes(supervisor: Supervisor, project: Project) -> None:
    if supervisor.shutting_down:  # a held run ended before its owner came: nothing starts
        return
    supervisor.start_all()
    project.environment.scan_secrets_ahead()  # after the spawns, before clients look


class HeldStart:
    """A run's start, held until its owner says hello or HOLD_START has passed (see
    KeeperConfig.hold_start): the owner's first snapshot comes after the start, and it hears of
    every start and exit that follows, even of a process that crashes at once."""

    def __init__(self) -> None:
        self._start: Callable[[], None] | None = None

    def hold(self, start: Callable[[], None], loop: asyncio.AbstractEventLoop) -> None:
        self._start = start
        loop.call_later(HOLD_START, self.release)  # the owner may never come

    def release(self) -> None:
        start, self._start = self._start, None
        if start is not None:
            start()


class Keeper:
    def __init__(self, config: KeeperConfig, ready_fd: int | None, lifeline_fd: int | None):
        self.options = RunOptions.from_json(config.options)
        self.owner_token = config.owner
        self.held = HeldStart() if config.hold_start else None  # the start, for the owner
        self.window, self.terminal = config.window, config.terminal
        self.ready_fd = ready_fd
        self.lifeline_fd = lifeline_fd
        self.detached = lifeline_fd is None
        self.sessions: set[Session] = set()
        self.env_checks = EnvChecks(self)
        self.supervisor: Supervisor | None = None
        self.stopping = False
        self.guard_pid, self.end_reason = os.getppid(), "down"  # the guard; the Bye's reason
        self.started_at = time.time()
        self.digest_key = os.urandom(16)  # for masked copies of environments
        self.done: asyncio.Event | None = None
        self.sampling: asyncio.Task | None = None
        self.warm_up = WarmUp()  # the -OO bytecode for the next run, if missing (bytecode.py)
        self.paths = config_paths(config, self.options)
        self.procfile = ""

    # --- start-up ---------------------------------------------------------------------------

    def _ready(self, **message: Any) -> None:
        """Tell the launcher how the start went (once)."""
        if self.ready_fd is None:
            if not message.get("ok"):
                log.error("%s", message.get("error"))
            return
        with contextlib.suppress(OSError):
            os.write(self.ready_fd, encode_plain(KeeperStarted(**message)) + b"\n")
            os.close(self.ready_fd)
        self.ready_fd = None

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        self.done = asyncio.Event()
        lock = RunLock(self.paths.lock)
        if not lock.acquire():
            pid = holder(self.paths)
            self._ready(ok=False, error=already_running(pid))
            return 3
        server = None
        try:
            try:
                project = load_project(self.options)
                instances = project.validate_run()
                env_stamps = Reshape.stamps(project)  # env files, Procfile, settings
                if self.terminal is not None:  # the UI's: a pane's size
                    self.window = first_window(len(instances), *self.terminal)
            except UserError as exc:
                self._ready(ok=False, error=str(exc))
                return 1
            self.procfile = str(project.procfile_path)
            become_subreaper()
            openfiles.raise_soft_limit(len(instances))  # within the hard limit, if too low
            os.chdir("/")  # everything is absolute; hold no directory busy
            self.supervisor = Supervisor(
                instances,
                project.environment,
                project.app_root,
                timeout=project.timeout,
                scrollback=project.scrollback,
                reaper=Reaper(loop, reap_all=True),
                subreaper=True,
                window=self.window,  # type: ignore[arg-type]
                settings=project.run_settings(),
                ptys=Ptys(loop),  # the children's terminals are read on the keeper's loop
            )
            self.reshape = Reshape(self, project)
            # The guard stops what the keeper leaves: it waits for the longest stop.
            note_longest_stop(str(self.paths.stop_timeout), self.supervisor.longest_stop)
            self.supervisor.subscribe(self.on_event)
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.add_signal_handler(sig, self.on_signal, sig)
            quiet_signal_wakeup()
            if self.lifeline_fd is not None:
                os.set_blocking(self.lifeline_fd, False)
                loop.add_reader(self.lifeline_fd, self.on_lifeline)
            server = await loop.create_unix_server(
                lambda: Session(self), sock=listen(self.paths.socket)
            )
            start = functools.partial(start_processes, self.supervisor, project)
            if self.held is not None:
                self.held.hold(start, loop)
            else:
                start()
            self._ready(ok=True, pid=os.getpid(), socket=str(self.paths.socket))
            self.warm_up.schedule(loop, self.supervisor.reaper)
            gc.enable()  # (see the top of this module)
            loop.call_later(heap.AFTER_START, heap.give_back)
            self.reshape.watcher = asyncio.create_task(self.watch_files(project, env_stamps))
            await self.done.wait()
            self.reshape.watcher.cancel()
            if self.sampling is not None:
                self.sampling.cancel()
        finally:
            self.warm_up.stop()
            if server is not None:
                server.close()
            with contextlib.suppress(OSError):
                self.paths.socket.unlink()
            await self._close_sessions()
            lock.remove(self.paths.log)  # a run that ended leaves no file behind
        return 0

    # --- lifetime ---------------------------------------------------------------------------

    def on_signal(self, sig: signal.Signals) -> None:
        log.info("%s received", sig.name)
        self.end_reason = self.end_reason if self.stopping else _why_ending(sig, self.guard_pid)
        self.shutdown(force=self.stopping)

    def on_lifeline(self) -> None:
        assert self.lifeline_fd is not None
        try:
            data = os.read(self.lifeline_fd, 64)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            return
        self._drop_lifeline()
        if not self.detached:
            log.info("the front end went away without detaching: stopping everything")
            self.shutdown()

    def detach(self) -> None:
        """The owner (the foreground front end) leaves; the run goes on without it."""
        self.detached = True
        self._drop_lifeline()

    def _drop_lifeline(self) -> None:
        if self.lifeline_fd is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self.lifeline_fd)
            with contextlib.suppress(OSError):
                os.close(self.lifeline_fd)
            self.lifeline_fd = None

    def shutdown(self, force: bool = False, reason: str = "down") -> None:
        """Stop everything, then say goodbye with *reason* (the first one; a second only forces)."""
        assert self.supervisor is not None
        if force:
            self.supervisor.kill_all_now()
        if self.stopping:
            return
        self.stopping = True
        self.end_reason = reason if reason != "down" else self.end_reason
        asyncio.get_running_loop().create_task(self._shutdown())

    async def _shutdown(self) -> None:
        assert self.supervisor is not None and self.done is not None
        try:
            await self.supervisor.stop_all()
            # The log files get what is still pending (a thread writes them).
            await asyncio.get_running_loop().run_in_executor(None, self.supervisor.close)
        finally:
            for session in list(self.sessions):
                session.bye(self.end_reason)
            self.done.set()

    async def _close_sessions(self) -> None:
        sessions = list(self.sessions)
        for session in sessions:
            session.close()
        if sessions:
            await asyncio.wait([s.lost for s in sessions], timeout=2.0)

    # --- events from the supervisor -----------------------------------------------------------

    def broadcast(self, frame: bytes) -> None:
        for session in list(self.sessions):
            if session.hello:
                session.send(frame)

    def on_event(self, event: Event) -> None:
        proc = event.process
        if isinstance(event, ProcessOutput):
            if self.sessions:
                index, total = self.index(proc), proc.buffer.total
                for session in list(self.sessions):
                    session.send_output(index, event.data, total)
        elif isinstance(event, RunnerLine):
            when = proc.buffer.stamp / 1000
            frame = encode(Line(p=self.index(proc), text=event.text, time=when))
            self._buffer_change(proc, frame, line=True)
        elif isinstance(event, OutputEnded):
            self._buffer_change(proc, encode(End(p=self.index(proc))), line=False)
        elif isinstance(event, StateChanged | InfoChanged):
            frame = encode(Proc(p=self.index(proc), info=proc.snapshot()))
            for session in list(self.sessions):
                session.send_info(frame)
        elif isinstance(event, Notice):
            index = None if proc is None else self.index(proc)
            self.broadcast(encode(NoticeMessage(p=index, msg=event.message, kind=event.kind)))

    def _buffer_change(self, proc: ManagedProcess, frame: bytes, *, line: bool) -> None:
        index = self.index(proc)
        total = proc.buffer.total
        for session in list(self.sessions):
            session.send_buffer_change(index, frame, total, line)

    def buffer(self, index: int) -> OutputBuffer:
        assert self.supervisor is not None
        return self.supervisor.processes[index].buffer

    def index(self, proc: ManagedProcess) -> int:
        assert self.supervisor is not None
        return self.supervisor.index[proc]

    # --- requests ---------------------------------------------------------------------------

    def unknown(self, name: str) -> str:
        assert self.supervisor is not None
        return unknown_message(name, [p.name for p in self.supervisor.processes])

    async def command(self, session: Session, op: Op) -> None:
        """Carry *op* out (:data:`tuirunner.operations.HANDLERS`) and reply."""
        name = type(op).__name__.lower()
        try:
            result = await HANDLERS[type(op)](self, session, op)
        except KeyError as exc:
            session.reply(op.id, error=self.unknown(exc.args[0]))
        except (TypeError, ValueError) as exc:
            session.reply(op.id, error=f"bad arguments to {name}: {exc}")
        except Exception as exc:  # a bug must not take the keeper down
            session.reply(op.id, error=_failed(name, exc, self.supervisor))
        else:
            session.reply(op.id, result)

    # --- resources ----------------------------------------------------------------------------

    def update_sampling(self) -> None:
        """Sample the processes' resources while a client that shows them is connected."""
        wanted = any(s.hello and s.wants_resources for s in self.sessions)
        running = self.sampling is not None and not self.sampling.done()
        if wanted and not running:
            assert self.supervisor is not None
            loop = asyncio.get_running_loop()
            self.sampling = loop.create_task(sample_forever(self.supervisor))
        elif not wanted and running:
            assert self.sampling is not None and self.supervisor is not None
            self.sampling.cancel()
            self.sampling = None
            self.supervisor.forget_resources()

    # --- watching files -------------------------------------------------------------------------

    async def watch_files(self, project: Project, env_stamps: dict[str, Stamp]) -> None:
        """One watcher for the run: env files (reload the environment) and the files that
        processes ``watch`` (restart them). *env_stamps*: the env files' as they were loaded."""
        sup = self.supervisor
        assert sup is not None
        env_source = project.env_source
        watch = FileWatch(
            sup.app_root,
            env_source.watched_files(),
            project.settings,
            [p.type for p in sup.processes],
            on_env=lambda: self.reload_environment(env_source),
            on_files=sup.files_changed,
            debounce=WATCH_DEBOUNCE,
            step=WATCH_STEP,
            poll=WATCH_POLL,
            since=env_stamps,
            **self.reshape.watch_options(project),
        )
        if watch.watching:
            log.info("watching %s for %s", ", ".join(watch.roots), ", ".join(watch.watching))
        try:
            await watch.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("watching files failed")

    def reload_environment(self, env_source: EnvSource) -> None:
        sup = self.supervisor
        assert sup is not None
        old = sup.env_version
        change = sup.set_environment(env_source.load())
        if sup.env_version != old:
            send_env_changed(self, Change(change.added, change.removed, change.changed))


def _why_ending(sig: signal.Signals, guard_pid: int) -> str:
    """What the clients are told when *sig* ends the run (the guard's death, or a signal)."""
    if os.getppid() != guard_pid:
        return f"the keeper's guard (pid {guard_pid}) died"
    return f"the keeper (pid {os.getpid()}) received {sig.name}"


def _failed(name: str, exc: Exception, supervisor: Supervisor | None) -> str:
    """The reply's error for a command that raised *exc*; logged. Too many open files is said
    in words, with the limit the run needs."""
    count = len(supervisor.processes) if supervisor is not None else 0
    why = openfiles.explain(exc, count) if isinstance(exc, OSError) else None
    if why is None:
        log.exception("command %s failed", name)
    else:
        log.error("command %s failed: %s", name, why)
    return f"{name} failed: {why or exc}"


async def sample_forever(supervisor: Supervisor) -> None:
    """A round every SAMPLE_INTERVAL, or less often when rounds are dear (a thousand process
    trees): sampling takes at most SAMPLE_SHARE of a core."""
    while True:
        began = time.process_time()
        try:
            supervisor.sample_resources()
        except Exception:  # never let a surprise in /proc stop the keeper
            log.exception("sampling the resources failed")
        cost = time.process_time() - began
        await asyncio.sleep(max(SAMPLE_INTERVAL, cost / SAMPLE_SHARE))


def main(argv: list[str] | None = None) -> int:
    """``python -m tuirunner.keeper --config-fd N [--ready-fd N] [--lifeline-fd N] [APP_ROOT]
    [--guard-pid N]``, as :mod:`tuirunner.launch` and guard.sh write it: APP_ROOT is only shown
    in ``ps`` (the config has it); getopt, not argparse, which would cost ~0.35 MB for good."""
    given, _ = getopt.gnu_getopt(sys.argv[1:] if argv is None else argv, "", FD_OPTIONS)
    args = {name[2:]: int(value) for name, value in given}
    heap.steady_large_blocks()  # a flood's memory stays flat (heap.py)
    restore_signals()
    if not join_guard(args.get("guard-pid")):
        return 1  # the guard died before the keeper could follow it: the run is over
    with os.fdopen(args["config-fd"], "rb") as f:
        config = decode_plain(f.read(), KeeperConfig)
    if config.environ is not None:  # the front end's, exactly (see KeeperConfig)
        os.environ.clear()
        os.environ.update(config.environ)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s keeper[%(process)d] %(levelname)s %(message)s",
    )
    scan_elsewhere()  # a keeper lives long: detect-secrets runs in children (secretscan.py)
    try:
        return asyncio.run(Keeper(config, args.get("ready-fd"), args.get("lifeline-fd")).run())
    except Exception:
        log.exception("the keeper failed")
        return 70


if __name__ == "__main__":
    from tuirunner.fastexit import exit_now

    exit_now(main())
