"""One connected client of the keeper: its handshake, its requests, and flow control.

Output is sent to a client as the keeper reads it, in batches, never waiting: if a client falls
more than ``CLIENT_BACKLOG`` bytes behind (it is stopped, or slow), its output is dropped, and
once it has caught up it gets the missing part of each process's buffer instead
(:meth:`OutputBuffer.export`). A slow client costs the processes and the other clients nothing.

What a client sends is validated by :mod:`tuirunner.protocol`: a frame that is not a message
gets a :class:`~tuirunner.protocol.Reply` saying why (and a line in the keeper's log), and the
session goes on; only a frame too large or of an unknown kind ends it (after saying why), since
the stream cannot be read past it.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING, Any

import tuirunner
from tuirunner.output import OutputBuffer
from tuirunner.protocol import (
    MAX_CLIENTS,
    MAX_REQUEST,
    PROTOCOL,
    Bye,
    EnvPayload,
    Hello,
    Op,
    Refused,
    Reply,
    Resync,
    Synced,
    Welcome,
    decode_request,
    encode,
    output_frame,
    request_id,
    sync_frame,
)
from tuirunner.runtime import peer_uid
from tuirunner.tokenformats import checking, without_waiting
from tuirunner.wire import JSON, FrameReader, ProtocolError

if TYPE_CHECKING:
    from tuirunner.environment import Environment
    from tuirunner.keeper import Keeper

log = logging.getLogger("tuirunner.keeper")

CLIENT_BACKLOG = 4 << 20  # bytes a client may fall behind before its output is dropped


# A client hears from the keeper at most every FORWARD_GAP: what happens meanwhile (a flood's
# many small reads) goes in one write, and a process's output in one frame. Output after a quiet
# spell waits FORWARD_FIRST, for what comes with it (five processes that print on the same tick
# wake the window once, not five times: with 2 ms they took 87 frames in 30 s, with 8 ms 30);
# anything else (a reply, a state) goes at once. The window repaints output FLUSH_INTERVAL
# (33 ms) after it came, so a line is shown at most 8 ms later than it could be.
FORWARD_GAP = 0.005
FORWARD_FIRST = 0.008
# A terminal UI shows the last lines of a flood a few times a second and keeps no more than its
# scrollback: while output comes faster than SKIM_RATE (bytes a second, over SKIM_PERIOD), its
# session (a client that said "skim") hears of output every SKIM_GAP, and a process that wrote
# more than SKIM_BYTES meanwhile, or in more than one millisecond (an output frame has one time),
# is sent as a copy of the buffer's last lines, with their times, instead of every byte. Plain
# output and logs (which print every line) never skim.
SKIM_RATE = 1 << 20
SKIM_PERIOD = 0.1
SKIM_ONSET = 0.02  # how soon into a flood skimming starts
SKIM_GAP = 0.2  # a flooded pane repaints at most this often anyway (FLOOD_INTERVAL)
SKIM_BYTES = 512 << 10


class _Output:
    """Output of one process waiting to be sent: one frame, however many reads it took; or,
    skimmed, a copy of the buffer's last lines since *since* (see SKIM_BYTES)."""

    __slots__ = ("buffer", "chunks", "index", "ms", "since", "size", "sync")

    def __init__(self, index: int, data: bytes, buffer: OutputBuffer, since: int) -> None:
        self.index = index
        self.ms = buffer.stamp  # when it was read: a frame holds the reads of one millisecond
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
            header.p = self.index
            self.sync = sync_frame(header, lines)

    def frame(self) -> bytes:
        if self.skimmed:
            self.seal()
            assert self.sync is not None
            return self.sync
        data = self.chunks[0] if len(self.chunks) == 1 else b"".join(self.chunks)
        return output_frame(self.index, data, self.ms / 1000)


class FlowControl(asyncio.Protocol):
    """What a session sends, batched and never waited for: output joined into one frame per
    process and flush, skimmed during a flood for a client that only shows the last lines,
    dropped while the client is more than CLIENT_BACKLOG behind (and sent again as copies of
    the buffers once it caught up: :meth:`Session.resync`)."""

    def __init__(self, keeper: Keeper) -> None:
        self.keeper = keeper
        self.transport: asyncio.Transport | None = None
        self.hello = False  # it was welcomed: it gets what happens from now on
        self.indexes: set[int] = set()  # processes whose output it gets
        self.follows_all = False  # it gets the output of processes added later too
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

    def pause_writing(self) -> None:
        self.overflowed = True

    def resume_writing(self) -> None:
        if self.overflowed:
            self.resync()

    def resync(self) -> None:
        raise NotImplementedError

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
        if (
            output is not None
            and output.index == index
            and (output.skimmed or self.skimming or output.ms == self.keeper.buffer(index).stamp)
        ):
            if not output.skimmed:
                if self.skimming and output.ms != self.keeper.buffer(index).stamp:
                    # An output frame carries one time: reads of another millisecond go as
                    # a copy of the buffer (which keeps every line's time), not a frame each.
                    output.skim()
                else:
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

    def close(self) -> None:
        self.flush()
        if self.transport is not None:
            self.transport.close()
        if self.flush_handle is not None:
            self.flush_handle.cancel()
            self.flush_handle = None


class Session(FlowControl):
    """One connected client: its handshake, its requests and their replies."""

    def __init__(self, keeper: Keeper) -> None:
        super().__init__(keeper)
        self.reader = FrameReader(MAX_REQUEST, frozenset((JSON,)))
        self.refused = False
        self.owner = False
        self.wants_env = False
        self.early_env = False  # see Hello.early_env and EnvChecks
        self.wants_resources = False  # it shows CPU, memory and ports: sample them
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # --- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        uid = peer_uid(transport.get_extra_info("socket"))
        if uid != os.getuid():
            log.warning("refused a connection from uid %s", uid)
            self.turn_away(transport, f"this run belongs to uid {os.getuid()}")
            return
        if len(self.keeper.sessions) >= MAX_CLIENTS:
            log.warning("refused a connection: already %d clients", len(self.keeper.sessions))
            self.turn_away(
                transport,
                f"too many clients: this run serves at most {MAX_CLIENTS} at a time; "
                "close some (attach, logs -f) and try again",
            )
            return
        self.transport = transport
        transport.set_write_buffer_limits(high=CLIENT_BACKLOG, low=CLIENT_BACKLOG // 4)
        self.keeper.sessions.add(self)

    def turn_away(self, transport: asyncio.Transport, error: str) -> None:
        """Refuse a connection before it is a session: say why, then half-close and drop what
        it sends, so that it reads the reason (a close with its data unread would reset the
        connection instead)."""
        self.refused = True
        transport.write(encode(Refused(error=error)))
        transport.write_eof()
        asyncio.get_running_loop().call_later(2.0, transport.close)

    def connection_lost(self, exc: Exception | None) -> None:
        self.keeper.sessions.discard(self)
        self.transport = None
        if self.wants_resources:
            self.keeper.update_sampling()
        if not self.lost.done():
            self.lost.set_result(None)

    def data_received(self, data: bytes) -> None:
        if self.refused or self.transport is None:
            return
        try:
            for _, payload in self.reader.feed(data):
                try:
                    message = decode_request(payload)
                except ProtocolError as exc:
                    log.warning("a bad request from a client: %s", exc)
                    self.reply(request_id(payload), error=str(exc), always=True)
                    continue
                self.receive(message)
        except ProtocolError as exc:  # not a frame: what follows cannot be read
            log.warning("a client's stream broke: %s; closing it", exc)
            self.reply(None, error=f"{exc}; closing the connection", always=True)
            self.close()

    def receive(self, message: Hello | Op) -> None:
        if isinstance(message, Hello):
            if self.hello:
                self.reply(None, error="hello was said already", always=True)
            else:
                self.welcome(message)
        elif not self.hello:
            self.reply(message.id, error="say hello first", always=True)
        else:
            asyncio.get_running_loop().create_task(self.keeper.command(self, message))

    def reply(
        self, request: int | None, result: Any = None, error: str | None = None, always=False
    ) -> None:
        """Answer request *request* (None: a request without an id, answered only if
        *always*: an error about the frame itself)."""
        if request is None and not always:
            return
        if error is None:
            self.send(encode(Reply(id=request, ok=True, result=result)))
        else:
            self.send(encode(Reply(id=request, ok=False, error=error)))

    # --- the handshake, and catching up -------------------------------------------------------

    def refuse(self, error: str) -> None:
        self.send(encode(Refused(error=error)))
        self.close()

    def welcome(self, hello: Hello) -> None:
        keeper = self.keeper
        sup = keeper.supervisor
        assert sup is not None
        if hello.v != PROTOCOL:
            self.refuse(
                f"this client speaks protocol {hello.v} and the keeper (tuirunner "
                f"{tuirunner.__version__}) protocol {PROTOCOL}: use the same tuirunner for both"
            )
            return
        try:
            chosen = sup.processes if hello.names is None else sup.select(hello.names)
        except KeyError as exc:
            self.refuse(keeper.unknown(exc.args[0]))
            return
        self.indexes = {sup.processes.index(p) for p in chosen}
        self.follows_all = hello.names is None and hello.output  # processes added too
        self.wants_env = hello.env
        self.early_env = hello.env and hello.early_env
        self.wants_resources = hello.resources
        self.skim = hello.skim
        self.owner = keeper.owner_token is not None and hello.owner == keeper.owner_token
        if self.owner and keeper.held is not None:
            keeper.held.release()  # a run held for it starts now (KeeperConfig.hold_start)
        # What was read but is not yet in the buffers goes in first (it may change a state).
        sup.settle()
        welcome = Welcome(
            v=PROTOCOL,
            version=tuirunner.__version__,
            pid=os.getpid(),
            run_id=sup.run_id,
            app_root=str(sup.app_root),
            procfile=keeper.procfile,
            timeout=sup.stop_budget,
            scrollback=sup.scrollback,
            detached=keeper.detached,
            started_at=keeper.started_at,
            groups={name: list(members) for name, members in sup.settings.groups.items()},
            settings_error=keeper.reshape.error,
            processes=[p.snapshot() for p in sup.processes],
            env_version=sup.env_version,
            envs=self.envs(),
        )
        self.send(encode(welcome))
        for index in sorted(self.indexes):
            buffer = sup.processes[index].buffer
            if hello.tail != 0:
                self._send_copy(index, buffer, 0, hello.tail)
            self.sent_total[index] = buffer.total
        self.send(encode(Synced()))
        self.hello = True
        if not hello.output:
            self.indexes = set()
        if self.wants_resources:
            keeper.update_sampling()

    def _send_copy(
        self, index: int, buffer: OutputBuffer, since: int, limit: int | None = None
    ) -> None:
        header, lines = buffer.export(since, limit)
        header.p = index
        self.send(sync_frame(header, lines))

    def resync(self) -> None:
        """The client caught up after falling behind: send what it missed."""
        sup = self.keeper.supervisor
        if sup is None or self.transport is None:
            self.overflowed = False
            return
        # Output read but not yet in the buffers goes in first, while this client still counts
        # as behind (so it is in the sync frames below, not sent apart before them).
        sup.settle()
        self.overflowed = False
        resync = Resync(
            processes=[p.snapshot() for p in sup.processes],
            env_version=sup.env_version,
            envs=self.envs(),
        )
        self.send(encode(resync))
        for index in sorted(self.dropped):
            buffer = sup.processes[index].buffer
            self._send_copy(index, buffer, self.sent_total.get(index, 0))
            self.sent_total[index] = buffer.total
        self.dropped.clear()
        self.missed_info = False
        self.send(encode(Synced()))

    def envs(self) -> dict[int, EnvPayload] | None:
        """The environments in use, masked, if it asked for them (see :meth:`masked`)."""
        sup = self.keeper.supervisor
        if not self.wants_env or sup is None:
            return None
        envs = {v: self.masked(env) for v, env in sup.envs.items()}
        self.check_later()
        return envs

    def masked(self, env: Environment) -> EnvPayload:
        """A masked copy of *env* for this client. The token-format check of a value may still
        be under way in a child process (:mod:`tuirunner.secretscan`, ~0.4 s from the keeper's
        start): a client with ``early_env`` (the terminal UI, which would show nothing until
        then) gets such a value wholly masked now, and :meth:`check_later` sends it the
        verdicts; any other client waits for them."""
        if not self.early_env:
            return env.to_wire(self.keeper.digest_key)
        with without_waiting():
            return env.to_wire(self.keeper.digest_key)

    def check_later(self) -> None:
        """After copies from :meth:`masked`: EnvChecked once no value is being checked."""
        if self.early_env and checking():
            self.keeper.env_checks.add(self)

    def bye(self, reason: str) -> None:
        if self.hello:
            self.send(encode(Bye(reason=reason)))
