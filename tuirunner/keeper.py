"""The keeper: the process that owns a run's processes and serves its clients.

``python -m tuirunner.keeper`` is started by :func:`tuirunner.client.start_keeper`, under the
guard (:mod:`tuirunner.guard`). It is a child subreaper, spawns the processes (so it is their
parent), drains their terminals, runs the :class:`~tuirunner.supervisor.Supervisor`, reloads the
environment when an env file changes, restarts the processes that ``watch`` a file that changed
(:mod:`tuirunner.watching`), samples the processes' resources while a client shows them, and
serves a unix socket (:mod:`tuirunner.runtime` says where, :mod:`tuirunner.wire` how) to every
front end: the Textual app, the plain printer, and the control commands (``ps``, ``restart``,
``logs``, ``attach``, ``down``…). It never imports Textual.

Lifetime. A foreground run passes a *lifeline*: a pipe whose other end only the front end holds.
When it closes without the front end having detached (quit, crash, SIGKILL, closed terminal),
the keeper stops everything and exits. ``down`` (or ``q`` in the app), SIGTERM, SIGINT and
SIGHUP do the same; a second one kills at once.

Flow control. Output is sent to a client as the keeper reads it, in batches, never waiting: if a
client falls more than ``CLIENT_BACKLOG`` bytes behind (it is stopped, or slow), its output is
dropped, and once it has caught up it gets the missing part of each process's buffer instead
(:meth:`OutputBuffer.export`). A slow client costs the processes and the other clients nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import tuirunner
from tuirunner import settings as settings_module
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
from tuirunner.guard import note_longest_stop
from tuirunner.options import RunOptions
from tuirunner.output import OutputBuffer
from tuirunner.project import Project, load_project
from tuirunner.ptys import Ptys
from tuirunner.runtime import RunLock, RunPaths, holder, listen, peer_uid, run_paths
from tuirunner.spawn import Reaper
from tuirunner.supervisor import ManagedProcess, Supervisor
from tuirunner.tui.layout import first_window
from tuirunner.watching import FileWatch, Stamp, stamps
from tuirunner.wire import (
    JSON,
    PROTOCOL,
    FrameReader,
    ProtocolError,
    json_frame,
    output_frame,
    sync_frame,
)

log = logging.getLogger("tuirunner.keeper")

CLIENT_BACKLOG = 4 << 20  # bytes a client may fall behind before its output is dropped
SAMPLE_INTERVAL = 2.0  # seconds between resource samples, while a client shows them
SAMPLE_FRESH = 0.3  # ps with nobody sampling: the CPU use over this long
# The file watcher (watchfiles, when processes watch files): changes within WATCH_DEBOUNCE are
# one; WATCH_STEP is how often its thread wakes up to look for them (its idle cost); WATCH_POLL
# how often files that are not watched by events (env files, the app root's own) are looked at.
WATCH_DEBOUNCE = int(settings_module.WATCH_DEBOUNCE * 1000)
WATCH_STEP = 250
WATCH_POLL = 1.0
# A client hears from the keeper at most every FORWARD_GAP: what happens meanwhile (a flood's
# many small reads) goes in one write, and a process's output in one frame. Output after a quiet
# spell waits FORWARD_FIRST, for what comes with it (five processes that print on the same tick
# wake the window once, not five times); anything else (a reply, a state) goes at once.
FORWARD_GAP = 0.005
FORWARD_FIRST = 0.002
# A terminal UI shows the last lines of a flood a few times a second and keeps no more than its
# scrollback: while output comes faster than SKIM_RATE (bytes a second, over SKIM_PERIOD), its
# session (a client that said "skim") hears of output every SKIM_GAP, and a process that wrote
# more than SKIM_BYTES meanwhile is sent as a copy of the buffer's last lines instead of every
# byte. Plain output and logs (which print every line) never skim.
SKIM_RATE = 1 << 20
SKIM_PERIOD = 0.1
SKIM_ONSET = 0.02  # how soon into a flood skimming starts
SKIM_GAP = 0.2  # a flooded pane repaints at most this often anyway (FLOOD_INTERVAL)
SKIM_BYTES = 512 << 10


class _Output:
    """Output of one process waiting to be sent: one frame, however many reads it took; or,
    skimmed, a copy of the buffer's last lines since *since* (see SKIM_BYTES)."""

    __slots__ = ("buffer", "chunks", "index", "since", "size", "sync")

    def __init__(self, index: int, data: bytes, buffer: OutputBuffer, since: int) -> None:
        self.index = index
        self.chunks = [data]
        self.size = len(data)
        self.buffer = buffer
        self.since = since  # the client's total before this output
        self.sync: bytes | None = None  # skimmed: the sync frame, once sealed

    @property
    def skimmed(self) -> bool:
        return not self.chunks

    def skim(self) -> None:
        self.chunks = []

    def seal(self) -> None:
        """A skimmed output is copied from the buffer as it is now: once more output of its
        process goes elsewhere, the buffer would have that too."""
        if self.skimmed and self.sync is None:
            header, lines = self.buffer.export(self.since)
            self.sync = sync_frame(self.index, header, lines)

    def frame(self) -> bytes:
        if self.skimmed:
            self.seal()
            assert self.sync is not None
            return self.sync
        data = self.chunks[0] if len(self.chunks) == 1 else b"".join(self.chunks)
        return output_frame(self.index, data)


class Session(asyncio.Protocol):
    """One connected client."""

    def __init__(self, keeper: Keeper) -> None:
        self.keeper = keeper
        self.transport: asyncio.Transport | None = None
        self.reader = FrameReader()
        self.hello = False
        self.refused = False
        self.owner = False
        self.wants_env = False
        self.wants_resources = False  # it shows CPU, memory and ports: sample them
        self.indexes: set[int] = set()  # processes whose output it gets
        self.pending: list[bytes | _Output] = []  # what the next flush writes, in order
        self.open_output: _Output | None = None  # the last of pending, while more may join it
        self.flush_handle: asyncio.TimerHandle | None = None
        self.flush_at = 0.0
        self.last_flush = 0.0
        self.skim = False  # it shows only the last lines: a flood may be skimmed (SKIM_BYTES)
        self.skimming = False  # output comes faster than SKIM_RATE
        self.rate_since = 0.0
        self.rate_bytes = 0
        self.overflowed = False  # behind by more than CLIENT_BACKLOG: output is being dropped
        self.dropped: set[int] = set()  # processes whose output was dropped
        self.missed_info = False
        self.sent_total: dict[int, int] = {}  # buffer.total after the last buffer change sent
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # --- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        uid = peer_uid(transport.get_extra_info("socket"))
        if uid != os.getuid():
            log.warning("refused a connection from uid %s", uid)
            self.refused = True
            transport.write(
                json_frame({"t": "refused", "error": f"this run belongs to uid {os.getuid()}"})
            )
            # Half-close, and drop what it sends, so that it reads the reason (a close with
            # its data unread would reset the connection instead).
            transport.write_eof()
            asyncio.get_running_loop().call_later(2.0, transport.close)
            return
        self.transport = transport
        transport.set_write_buffer_limits(high=CLIENT_BACKLOG, low=CLIENT_BACKLOG // 4)
        self.keeper.sessions.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.keeper.sessions.discard(self)
        self.transport = None
        if self.wants_resources:
            self.keeper.update_sampling()
        if not self.lost.done():
            self.lost.set_result(None)

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return
        try:
            for kind, message in self.reader.decode(data):
                if kind == JSON:
                    self.keeper.handle(self, message)
        except (ProtocolError, ValueError, KeyError, TypeError) as exc:
            log.warning("protocol error from a client: %s", exc)
            self.close()

    def pause_writing(self) -> None:
        self.overflowed = True

    def resume_writing(self) -> None:
        if self.overflowed:
            self.keeper.resync(self)

    # --- sending ------------------------------------------------------------------------------

    def send(self, frame: bytes) -> None:
        if self.transport is None:
            return
        self._close_output()
        self.pending.append(frame)
        self._schedule_flush(FORWARD_GAP)

    def _close_output(self) -> None:
        if self.open_output is not None:
            self.open_output.seal()
            self.open_output = None

    def _schedule_flush(self, gap: float, delay: float = 0.0) -> None:
        """Flush *gap* after the last flush, and not before *delay* from now; sooner if already
        scheduled later (a reply does not wait for a skimmed flood)."""
        loop = asyncio.get_running_loop()
        at = max(self.last_flush + gap, loop.time() + delay)
        if self.flush_handle is not None:
            if at >= self.flush_at:
                return
            self.flush_handle.cancel()
        self.flush_at = at
        self.flush_handle = loop.call_at(at, self.flush)

    def flush(self) -> None:
        if self.flush_handle is not None:
            self.flush_handle.cancel()
            self.flush_handle = None
        now = self.last_flush = asyncio.get_running_loop().time()
        if self.pending and self.transport is not None and not self.transport.is_closing():
            frames = [f if isinstance(f, bytes) else f.frame() for f in self.pending]
            data = frames[0] if len(frames) == 1 else b"".join(frames)
            self.transport.write(data)
            self.rate_bytes += len(data)
        self.pending.clear()
        self.open_output = None
        self._measure_rate(now)

    def _measure_rate(self, now: float) -> None:
        """Skimming starts SKIM_ONSET into a flood, and stops after a SKIM_PERIOD slower than
        SKIM_RATE."""
        elapsed = now - self.rate_since
        fast = self.rate_bytes > SKIM_RATE * elapsed
        if fast and self.skim and elapsed >= SKIM_ONSET:
            self.skimming = True
        if elapsed >= SKIM_PERIOD:
            self.skimming = self.skim and fast
            self.rate_since, self.rate_bytes = now, 0

    def _accepts(self, index: int) -> bool:
        """Whether a buffer change of process *index* is to be sent now; while the client is
        behind, it is dropped and remembered for the resync."""
        if index not in self.indexes or not self.hello:
            return False
        if self.overflowed:
            self.dropped.add(index)
            return False
        return True

    def send_output(self, index: int, data: bytes, total: int) -> None:
        """Output of process *index*, joined to the output of it sent just before if that has
        not left yet."""
        if self.transport is None or not self._accepts(index):
            return
        output = self.open_output
        if output is not None and output.index == index:
            if not output.skimmed:
                output.chunks.append(data)
                output.size += len(data)
                if self.skimming and output.size > SKIM_BYTES:
                    output.skim()
        else:
            self._close_output()
            buffer = self.keeper.buffer(index)
            output = self.open_output = _Output(index, data, buffer, self.sent_total.get(index, 0))
            self.pending.append(output)
            self._schedule_flush(SKIM_GAP if self.skimming else FORWARD_GAP, FORWARD_FIRST)
        self.sent_total[index] = total

    def send_buffer_change(self, index: int, frame: bytes, total: int, line: bool) -> None:
        """A runner line (*line*), or the end of output, of process *index*."""
        if not self._accepts(index):
            return
        output = self.open_output
        if line and output is not None and output.index == index and output.skimmed:
            # The skimmed output is a copy of the buffer, which has the line already.
            self._close_output()
        else:
            self.send(frame)
        self.sent_total[index] = total

    def send_info(self, frame: bytes) -> None:
        if not self.hello:
            return
        if self.overflowed:
            self.missed_info = True
            return
        self.send(frame)

    def reply(self, request: int | None, result: Any = None, error: str | None = None) -> None:
        if request is None:
            return
        message: dict[str, Any] = {"t": "reply", "id": request, "ok": error is None}
        if error is None:
            message["result"] = result
        else:
            message["error"] = error
        self.send(json_frame(message))

    def close(self) -> None:
        self.flush()
        if self.transport is not None:
            self.transport.close()
        if self.flush_handle is not None:
            self.flush_handle.cancel()
            self.flush_handle = None


class Keeper:
    def __init__(
        self, config: dict[str, Any], ready_fd: int | None, lifeline_fd: int | None
    ) -> None:
        self.options = RunOptions.from_json(config["options"])
        self.owner_token: str | None = config.get("owner")
        self.window = tuple(config.get("window") or (80, 24))
        terminal = config.get("terminal")
        self.terminal: tuple[int, int] | None = tuple(terminal) if terminal else None
        self.ready_fd = ready_fd
        self.lifeline_fd = lifeline_fd
        self.detached = lifeline_fd is None
        self.sessions: set[Session] = set()
        self.supervisor: Supervisor | None = None
        self.stopping = False
        self.started_at = time.time()
        self.digest_key = os.urandom(16)  # for masked copies of environments
        self.done: asyncio.Event | None = None
        self.sampling: asyncio.Task | None = None
        paths = config.get("paths")
        if paths:  # the launcher's: both ends agree whatever the keeper's environment says
            self.paths = RunPaths(
                Path(self.options.app_root).resolve(),
                Path(paths["socket"]),
                Path(paths["lock"]),
                Path(paths["log"]),
            )
        else:
            self.paths = run_paths(Path(self.options.app_root))
        self.procfile = ""

    # --- start-up ---------------------------------------------------------------------------

    def _ready(self, **message: Any) -> None:
        """Tell the launcher how the start went (once)."""
        if self.ready_fd is None:
            if not message.get("ok"):
                log.error("%s", message.get("error"))
            return
        with contextlib.suppress(OSError):
            os.write(self.ready_fd, json.dumps(message).encode() + b"\n")
            os.close(self.ready_fd)
        self.ready_fd = None

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        self.done = asyncio.Event()
        lock = RunLock(self.paths.lock)
        if not lock.acquire():
            pid = holder(self.paths)
            self._ready(ok=False, error=f"already running (pid {pid}): tuirunner attach")
            return 3
        server = None
        try:
            try:
                project = load_project(self.options)
                instances = project.validate_run()
                env_stamps = stamps(project.env_source.watched_files())
                if self.terminal is not None:  # the UI's: a pane's size
                    self.window = first_window(len(instances), *self.terminal)
            except UserError as exc:
                self._ready(ok=False, error=str(exc))
                return 1
            self.procfile = str(project.procfile_path)
            become_subreaper()
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
                settings=project.settings,
                ptys=Ptys(loop),  # the children's terminals are read on the keeper's loop
            )
            note_longest_stop(str(self.paths.lock), self.supervisor.longest_stop)  # the guard's
            self.supervisor.subscribe(self.on_event)
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.add_signal_handler(sig, self.on_signal, sig)
            if self.lifeline_fd is not None:
                os.set_blocking(self.lifeline_fd, False)
                loop.add_reader(self.lifeline_fd, self.on_lifeline)
            server = await loop.create_unix_server(
                lambda: Session(self), sock=listen(self.paths.socket)
            )
            self.supervisor.start_all()
            self._ready(ok=True, pid=os.getpid(), socket=str(self.paths.socket))
            watcher = asyncio.create_task(self.watch_files(project, env_stamps))
            await self.done.wait()
            watcher.cancel()
            if self.sampling is not None:
                self.sampling.cancel()
        finally:
            if server is not None:
                server.close()
            with contextlib.suppress(OSError):
                self.paths.socket.unlink()
            await self._close_sessions()
            lock.release()
        return 0

    # --- lifetime ---------------------------------------------------------------------------

    def on_signal(self, sig: signal.Signals) -> None:
        log.info("%s received", sig.name)
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

    def _drop_lifeline(self) -> None:
        if self.lifeline_fd is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self.lifeline_fd)
            with contextlib.suppress(OSError):
                os.close(self.lifeline_fd)
            self.lifeline_fd = None

    def shutdown(self, force: bool = False) -> None:
        assert self.supervisor is not None
        if force:
            self.supervisor.kill_all_now()
        if self.stopping:
            return
        self.stopping = True
        asyncio.get_running_loop().create_task(self._shutdown())

    async def _shutdown(self) -> None:
        assert self.supervisor is not None and self.done is not None
        try:
            await self.supervisor.stop_all()
            # The log files get what is still pending (a thread writes them).
            await asyncio.get_running_loop().run_in_executor(None, self.supervisor.close)
        finally:
            self.broadcast(json_frame({"t": "bye", "reason": "down"}))
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
            frame = json_frame({"t": "line", "p": self.index(proc), "text": event.text})
            self._buffer_change(proc, frame, line=True)
        elif isinstance(event, OutputEnded):
            self._buffer_change(proc, json_frame({"t": "end", "p": self.index(proc)}), line=False)
        elif isinstance(event, StateChanged | InfoChanged):
            frame = json_frame({"t": "proc", "p": self.index(proc), "info": proc.to_json()})
            for session in list(self.sessions):
                session.send_info(frame)
        elif isinstance(event, Notice):
            index = None if proc is None else self.index(proc)
            self.broadcast(json_frame({"t": "notice", "p": index, "msg": event.message}))

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

    def handle(self, session: Session, message: dict[str, Any]) -> None:
        kind = message.get("t")
        if kind == "hello":
            self.welcome(session, message)
        elif kind == "cmd":
            asyncio.get_running_loop().create_task(self.command(session, message))
        else:
            raise ProtocolError(f"unknown message {kind!r}")

    def snapshot(self, session: Session) -> dict[str, Any]:
        sup = self.supervisor
        assert sup is not None
        message: dict[str, Any] = {
            "processes": [p.to_json() for p in sup.processes],
            "env_version": sup.env_version,
        }
        if session.wants_env:
            message["envs"] = {str(v): env.to_wire(self.digest_key) for v, env in sup.envs.items()}
        return message

    def welcome(self, session: Session, hello: dict[str, Any]) -> None:
        sup = self.supervisor
        assert sup is not None
        if hello.get("v") != PROTOCOL:
            session.send(json_frame({"t": "refused", "error": "protocol version mismatch"}))
            session.close()
            return
        names = hello.get("names")
        try:
            chosen = sup.processes if names is None else sup.select(names)
        except KeyError as exc:
            session.send(json_frame({"t": "refused", "error": self.unknown(exc.args[0])}))
            session.close()
            return
        session.indexes = {sup.processes.index(p) for p in chosen}
        session.wants_env = bool(hello.get("env"))
        session.wants_resources = bool(hello.get("resources"))
        session.skim = bool(hello.get("skim"))
        session.owner = self.owner_token is not None and hello.get("owner") == self.owner_token
        # What was read but is not yet in the buffers goes in first (it may change a state).
        sup.settle()
        welcome = {
            "t": "welcome",
            "v": PROTOCOL,
            "version": tuirunner.__version__,
            "pid": os.getpid(),
            "run_id": sup.run_id,
            "app_root": str(sup.app_root),
            "procfile": self.procfile,
            "timeout": sup.longest_stop,
            "scrollback": sup.scrollback,
            "detached": self.detached,
            "started_at": self.started_at,
            **self.snapshot(session),
        }
        session.send(json_frame(welcome))
        tail = hello.get("tail")
        for index in sorted(session.indexes):
            buffer = sup.processes[index].buffer
            if tail != 0:
                header, lines = buffer.export(0, tail)
                session.send(sync_frame(index, header, lines))
            session.sent_total[index] = buffer.total
        session.send(json_frame({"t": "synced"}))
        session.hello = True
        if not hello.get("output", True):
            session.indexes = set()
        if session.wants_resources:
            self.update_sampling()

    def resync(self, session: Session) -> None:
        """The client caught up after falling behind: send what it missed."""
        sup = self.supervisor
        if sup is None or session.transport is None:
            session.overflowed = False
            return
        # Output read but not yet in the buffers goes in first, while this client still counts
        # as behind (so it is in the sync frames below, not sent apart before them).
        sup.settle()
        session.overflowed = False
        session.send(json_frame({"t": "resync", **self.snapshot(session)}))
        for index in sorted(session.dropped):
            buffer = sup.processes[index].buffer
            header, lines = buffer.export(session.sent_total.get(index, 0))
            session.send(sync_frame(index, header, lines))
            session.sent_total[index] = buffer.total
        session.dropped.clear()
        session.missed_info = False
        session.send(json_frame({"t": "synced"}))

    def unknown(self, name: str) -> str:
        assert self.supervisor is not None
        names = ", ".join(p.name for p in self.supervisor.processes)
        return f"unknown process {name!r}; this run has {names}"

    async def command(self, session: Session, message: dict[str, Any]) -> None:
        request = message.get("id")
        op = message.get("op")
        args = message.get("args") or {}
        handler = getattr(self, f"op_{op}", None)
        if handler is None:
            session.reply(request, error=f"unknown command {op!r}")
            return
        try:
            result = await handler(session, **args)
        except KeyError as exc:
            session.reply(request, error=self.unknown(exc.args[0]))
        except (TypeError, ValueError) as exc:
            session.reply(request, error=f"bad arguments to {op}: {exc}")
        except Exception as exc:  # a bug must not take the keeper down
            log.exception("command %s failed", op)
            session.reply(request, error=f"{op} failed: {exc}")
        else:
            session.reply(request, result)

    # Each op_NAME(session, **args) answers the command NAME. Names: "web" is every web
    # instance, "web.1" one; no names (None) means every process.

    def _chosen(self, names: list[str] | None) -> list[ManagedProcess]:
        assert self.supervisor is not None
        return self.supervisor.processes if not names else self.supervisor.select(names)

    async def op_restart(self, session: Session, names: list[str] | None = None) -> list[dict]:
        assert self.supervisor is not None
        chosen = self._chosen(names)
        await asyncio.gather(*(self.supervisor.restart(p.name) for p in chosen))
        return [p.to_json() for p in chosen]

    async def op_start(self, session: Session, names: list[str] | None = None) -> list[dict]:
        assert self.supervisor is not None
        chosen = self._chosen(names)
        await asyncio.gather(*(self.supervisor.start(p.name) for p in chosen))
        return [p.to_json() for p in chosen]

    async def op_stop(self, session: Session, names: list[str] | None = None) -> list[dict]:
        assert self.supervisor is not None
        chosen = self._chosen(names)
        await asyncio.gather(*(self.supervisor.stop(p.name) for p in chosen))
        return [p.to_json() for p in chosen]

    async def op_sample(self, session: Session, names: list[str] | None = None) -> list[dict]:
        """The processes with their resource use sampled now (``ps``): if no client has them
        sampled already, two samples SAMPLE_FRESH apart give the CPU use."""
        assert self.supervisor is not None
        chosen = self._chosen(names)
        sup = self.supervisor
        last = sup.sampled_at
        if last is None or time.monotonic() - last > 2 * SAMPLE_INTERVAL:
            sup.sample_resources()
            await asyncio.sleep(SAMPLE_FRESH)
            sup.sample_resources()
        return [p.to_json() for p in chosen]

    async def op_down(self, session: Session, force: bool = False) -> None:
        self.shutdown(force=force)

    async def op_detach(self, session: Session) -> bool:
        """The owner (the foreground front end) leaves; the run goes on without it."""
        if session.owner:
            self.detached = True
            self._drop_lifeline()
        return self.detached

    async def op_write(self, session: Session, name: str, data: str) -> bool:
        assert self.supervisor is not None
        return self.supervisor.write(name, base64.b64decode(data))

    async def op_resize(self, session: Session, name: str, columns: int, rows: int) -> None:
        assert self.supervisor is not None
        self.supervisor.set_window_size(name, int(columns), int(rows))

    async def op_reveal(
        self, session: Session, name: str, variable: str, version: int | None = None
    ) -> str | None:
        """The real value of a variable of *name*'s environment (current, or *version*):
        only on request, one at a time."""
        assert self.supervisor is not None
        proc = self.supervisor.get(name)
        env = self.supervisor.envs.get(version or self.supervisor.env_version)
        if env is None:
            raise ValueError(f"environment version {version} is gone")
        var = env.for_process(proc.name, proc.port, self.supervisor.run_id).variables.get(variable)
        return None if var is None else var.value

    # --- resources ----------------------------------------------------------------------------

    def update_sampling(self) -> None:
        """Sample the processes' resources while a client that shows them is connected."""
        wanted = any(s.hello and s.wants_resources for s in self.sessions)
        running = self.sampling is not None and not self.sampling.done()
        if wanted and not running:
            self.sampling = asyncio.get_running_loop().create_task(self._sample())
        elif not wanted and running:
            assert self.sampling is not None and self.supervisor is not None
            self.sampling.cancel()
            self.sampling = None
            self.supervisor.forget_resources()

    async def _sample(self) -> None:
        assert self.supervisor is not None
        while True:
            try:
                self.supervisor.sample_resources()
            except Exception:  # never let a surprise in /proc stop the keeper
                log.exception("sampling the resources failed")
            await asyncio.sleep(SAMPLE_INTERVAL)

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
        if sup.env_version == old:
            return
        message = {
            "t": "env",
            "version": sup.env_version,
            "change": {
                "added": change.added,
                "removed": change.removed,
                "changed": change.changed,
            },
        }
        for session in list(self.sessions):
            if not session.hello:
                continue
            if session.wants_env:
                env = sup.environment.to_wire(self.digest_key)
                session.send_info(json_frame({**message, "env": env}))
            else:
                session.send_info(json_frame(message))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tuirunner.keeper")
    parser.add_argument("--config-fd", type=int, required=True)
    parser.add_argument("--ready-fd", type=int)
    parser.add_argument("--lifeline-fd", type=int)
    parser.add_argument("app_root", nargs="?", help="shown in ps; the config has it")
    args = parser.parse_args(argv)
    with os.fdopen(args.config_fd, "rb") as f:
        config = json.loads(f.read())
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s keeper[%(process)d] %(levelname)s %(message)s",
    )
    try:
        return asyncio.run(Keeper(config, args.ready_fd, args.lifeline_fd).run())
    except Exception:
        log.exception("the keeper failed")
        return 70


if __name__ == "__main__":
    sys.exit(main())
