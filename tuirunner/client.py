"""One client API for every front end: connect to a keeper, events in, commands out.

:meth:`Client.connect` connects to the keeper of an app root (one that
:func:`tuirunner.launch.start_keeper` started) and mirrors its run
(:class:`~tuirunner.mirror.RunMirror`: the processes, their output, their masked environments,
events for listeners). The handshake is blocking, so a front end can build its
screen from the processes before any event loop runs; then :meth:`Client.start` moves the
connection onto the running asyncio loop. Control commands can stay blocking (:meth:`call`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from tuirunner.errors import KeeperError, NoKeeper, UserError
from tuirunner.launch import KeeperProcess
from tuirunner.mirror import (
    Disconnected,
    EnvironmentChanged,
    EnvironmentChecked,
    Listener,
    ProcessAdded,
    ProcessRemoved,
    ProcessView,
    Resynced,
    RunMirror,
    SettingsUpdate,
)
from tuirunner.protocol import (
    PROTOCOL,
    Add,
    Detach,
    Down,
    Hello,
    Migrate,
    Op,
    Remove,
    Reply,
    Resize,
    Restart,
    Reveal,
    ShowResources,
    Start,
    Stop,
    StopStray,
    Write,
    convert_result,
    encode,
)
from tuirunner.runtime import RunPaths, holder, run_paths
from tuirunner.wire import ProtocolError

# What front ends import from here, wherever it is defined.
__all__ = [
    "Client",
    "Disconnected",
    "EnvironmentChanged",
    "EnvironmentChecked",
    "KeeperError",
    "Listener",
    "NoKeeper",
    "ProcessAdded",
    "ProcessRemoved",
    "ProcessView",
    "Resynced",
    "SettingsUpdate",
    "op_name",
]


class _Protocol(asyncio.Protocol):
    def __init__(self, client: Client) -> None:
        self.client = client

    def data_received(self, data: bytes) -> None:
        self.client.receive(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.client._connection_lost()


class Client(RunMirror):
    """A connection to a keeper; see the module docstring."""

    def __init__(self, sock: socket.socket, paths: RunPaths, scrollback: int | None) -> None:
        super().__init__(str(paths.app_root), scrollback)
        self.sock = sock
        self.paths = paths
        self.launched: KeeperProcess | None = None  # the keeper we started, if we own the run
        self.resources = False  # it shows CPU, memory and ports (see connect)
        self.closed = False
        self._next_id = 0
        self._replies: dict[int, Callable[[Reply], None]] = {}
        self._transport: asyncio.Transport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.disconnected: asyncio.Future[str | None] | None = None

    def _reply(self, reply: Reply) -> None:
        callback = None if reply.id is None else self._replies.pop(reply.id, None)
        if callback is not None:
            callback(reply)
        else:
            super()._reply(reply)

    # --- connecting ---------------------------------------------------------------------------

    @classmethod
    def connect(
        cls,
        app_root: Path | str = ".",
        *,
        output: bool = True,
        names: Iterable[str] | None = None,
        tail: int | None = None,
        env: bool = False,
        early_env: bool = False,
        owner: str | None = None,
        scrollback: int | None = None,
        timeout: float = 30.0,
        resources: bool = False,
        skim: bool = False,
        launched: KeeperProcess | None = None,
    ) -> Client:
        """Connect to the keeper of *app_root* and take its state (blocking).

        *output*: stream the processes' output; *names*: only these processes (``web``,
        ``web.1``); *tail*: how many lines of each buffer to copy first (None: all);
        *env*: the environments too (*early_env*: at once, with any value still being checked
        for token formats wholly masked until an :class:`EnvironmentChecked`); *owner*: the
        foreground front end's token; *resources*: it shows the processes' CPU, memory and
        ports, so the keeper samples them while it is connected; *skim*: it shows only the
        last lines of each process, so the keeper may send a flood's last lines rather than
        every byte of it (not for a client that prints every line). *launched*: the keeper we
        just started (:func:`tuirunner.launch.start_keeper` in the foreground): wait until it
        listens, and connect as its owner. Raises NoKeeper if nothing runs there."""
        if launched is not None:
            launched.wait_ready()
            owner = launched.owner
        paths = run_paths(Path(app_root))
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(os.fspath(paths.socket))
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            holder(paths)  # removes a socket a dead keeper left
            raise NoKeeper(f"no tuirunner is running in {paths.app_root}") from None
        except PermissionError:
            sock.close()
            raise KeeperError(f"{paths.socket}: permission denied") from None
        client = cls(sock, paths, scrollback)
        client.launched = launched
        client.resources = resources
        hello = Hello(
            v=PROTOCOL,
            output=output,
            names=None if names is None else list(names),
            tail=tail,
            env=env,
            early_env=early_env,
            owner=owner,
            resources=resources,
            skim=skim,
        )
        try:
            sock.settimeout(timeout)
            sock.sendall(encode(hello))
            while not client._synced:
                client._read_blocking()
        except TimeoutError:
            sock.close()
            raise UserError(f"the keeper ({paths.socket}) does not answer") from None
        except OSError as exc:
            sock.close()
            raise NoKeeper(f"lost the keeper of {paths.app_root}: {exc.strerror}") from None
        return client

    def _read_blocking(self) -> None:
        data = self.sock.recv(1 << 18)
        if not data:
            self.closed = True
            raise ConnectionResetError(0, "the keeper closed the connection")
        self.receive(data)

    def read_some(self) -> bool:
        """Before :meth:`start`: take what the keeper has sent, waiting for it if nothing has
        (a front end that shows the run before its event loop runs). False once the
        connection is closed or failed: :meth:`start` then reports it as lost."""
        try:
            self._read_blocking()
        except OSError:
            self.closed = True
            return False
        return True

    async def start(self) -> None:
        """Continue on the running event loop: events arrive from now on as they come."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        self.disconnected = loop.create_future()
        self.sock.settimeout(None)
        self.sock.setblocking(False)
        transport, _ = await loop.create_unix_connection(lambda: _Protocol(self), sock=self.sock)
        self._transport = transport  # type: ignore[assignment]
        if self.closed:
            self._connection_lost()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
        else:
            self.sock.close()

    def _connection_lost(self) -> None:
        self.closed = True
        for callback in list(self._replies.values()):
            callback(Reply(id=None, ok=False, error="the keeper went away"))
        self._replies.clear()
        if self.disconnected is not None and not self.disconnected.done():
            self.disconnected.set_result(self.bye)
            self._emit(Disconnected(self.bye))

    # --- the run we started (the foreground front end) -----------------------------------------

    def release(self) -> None:
        """Let go of a run we started: our end of its lifeline closes (the keeper stops
        everything then, unless we detached)."""
        if self.launched is not None:
            self.launched.release()

    def wait_keeper(self, timeout: float) -> int | None:
        """Wait for the keeper we started to be gone: its exit status (the guard's), None if
        it still runs after *timeout* or is not ours."""
        return None if self.launched is None else self.launched.wait(timeout)

    def keeper_death(self, code: int | None) -> str:
        """What to tell a user whose keeper died with status *code* (from :meth:`wait_keeper`),
        once what it left is stopped (blocks up to the run's stop timeout: see
        :mod:`tuirunner.aftermath`)."""
        from tuirunner import aftermath

        guard = None if self.launched is None else self.launched.guard.pid
        return aftermath.finish(self.run_id, code, self.keeper_pid, guard, self.timeout)

    def run_ended(self) -> str:
        """What to tell a user whose run ended by itself (the keeper's guard died, the keeper
        got a signal: :attr:`bye`), once anything left is stopped too."""
        from tuirunner import aftermath

        return aftermath.ended(
            self.bye or "the run ended", self.run_id, self.timeout, keeper=self.keeper_pid
        )

    # --- commands -----------------------------------------------------------------------------

    def _frame(self, op: Op) -> tuple[int, bytes]:
        self._next_id += 1
        op.id = self._next_id
        return op.id, encode(op)

    def request(self, op: Op) -> asyncio.Future[Any]:
        """Send a command on the event loop (after :meth:`start`); a future of its result
        (KeeperError with the keeper's reason if it failed). Front ends may ignore it: the
        events tell what happens (but a front end that shows its refusals learns why)."""
        assert self._loop is not None, "start() first"
        future: asyncio.Future[Any] = self._loop.create_future()

        def done(reply: Reply) -> None:
            if future.done():
                return
            try:
                future.set_result(_result(op, reply))
            except KeeperError as exc:
                future.set_exception(exc)

        # Nobody may await it: do not let an ignored failure be reported as never retrieved.
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        if self.closed or self._transport is None or self._transport.is_closing():
            done(Reply(id=None, ok=False, error="the keeper went away"))
            return future
        request, frame = self._frame(op)
        self._replies[request] = done
        self._transport.write(frame)
        return future

    def call(self, op: Op, timeout: float | None = None) -> Any:
        """Send a command and wait for its result (blocking; before :meth:`start` only)."""
        name = op_name(op)
        request, frame = self._frame(op)
        answer: list[Reply] = []
        self._replies[request] = answer.append
        self.sock.settimeout(timeout)
        try:
            self.sock.sendall(frame)
            while not answer:
                self._read_blocking()
        except TimeoutError:
            raise KeeperError(f"{name}: no answer from the keeper") from None
        except OSError:
            raise KeeperError(f"{name}: the keeper went away") from None
        return _result(op, answer[0])

    def follow(self) -> str | None:
        """Process events until the keeper closes the connection (blocking); its reason."""
        self.sock.settimeout(None)
        with contextlib.suppress(ConnectionResetError):
            while True:
                self._read_blocking()
        return self.bye

    # The front ends' vocabulary (on the event loop; fire and forget, or await).

    def restart(self, *names: str) -> asyncio.Future[Any]:
        """Restart these processes (types, instances); none: every process."""
        return self.request(Restart(names=list(names) or None))

    def show_resources(self, shown: bool) -> asyncio.Future[Any]:
        """Whether this client shows the processes' CPU, memory and ports now (the keeper
        samples them only while a client does)."""
        return self.request(ShowResources(shown=shown))

    def start_processes(self, *names: str) -> asyncio.Future[Any]:
        return self.request(Start(names=list(names) or None))

    def add(self, name: str, command: str, start: bool = True) -> asyncio.Future[Any]:
        """Add a process to the run (gone with it): its snapshot."""
        return self.request(Add(name=name, command=command, start=start))

    def remove(self, name: str) -> asyncio.Future[Any]:
        """Stop a process added to the run and take it out: the names removed."""
        return self.request(Remove(name=name))

    def stop(self, *names: str) -> asyncio.Future[Any]:
        return self.request(Stop(names=list(names) or None))

    def restart_all(self) -> asyncio.Future[Any]:
        return self.request(Restart())

    def start_all(self) -> asyncio.Future[Any]:
        return self.request(Start())

    def stop_all(self) -> asyncio.Future[Any]:
        return self.request(Stop())

    def down(self, force: bool = False) -> asyncio.Future[Any]:
        return self.request(Down(force=force))

    def detach(self) -> asyncio.Future[Any]:
        return self.request(Detach())

    def write(self, name: str, data: bytes) -> asyncio.Future[Any]:
        return self.request(Write(name=name, data=data))

    def resize(self, name: str, columns: int, rows: int) -> asyncio.Future[Any]:
        return self.request(Resize(name=name, columns=columns, rows=rows))

    def migrate(self, name: str | None = None) -> asyncio.Future[Any]:
        """Apply the project's migrations (the release oneshot, or a migrate process)."""
        return self.request(Migrate(name=name))

    def stop_stray(self, name: str) -> asyncio.Future[Any]:
        """Stop the stray of an earlier run here holding *name*'s port, and restart *name*."""
        return self.request(StopStray(name=name))

    def reveal(self, name: str, variable: str, version: int | None = None) -> asyncio.Future:
        """The real value of a (secret) variable: asked for explicitly, one at a time."""
        return self.request(Reveal(name=name, variable=variable, version=version))


def op_name(op: Op) -> str:
    """What the op is called on the wire (and in messages): ``restart``."""
    return type(op).__struct_config__.tag  # type: ignore[return-value]


def _result(op: Op, reply: Reply) -> Any:
    """The result of *op* from its reply; KeeperError with the reason if it failed."""
    if not reply.ok:
        raise KeeperError(reply.error or f"{op_name(op)} failed")
    try:
        return convert_result(op, reply.result)
    except ProtocolError as exc:
        raise KeeperError(str(exc)) from None
