"""A scripted keeper for pilot and snapshot tests that need no real processes.

It sits on one end of a ``socket.socketpair()``; the real :class:`tuirunner.client.Client` is on
the other, so the app decodes real frames (tests/fake_frames.py builds them all). The test says
what happens: processes start, print, exit; runner lines, notices, env changes, a resync. The
commands the app sends are recorded and answered: by default as a keeper would (a stop stops,
a restart gives a new pid), or refused with an error (:meth:`FakeKeeper.refuse`).

    fake = FakeKeeper(tmp_path, "web: serve\\nworker: work\\n")
    fake.run_all()
    fake.print("web.1", "listening")
    app = TuirunnerApp(fake.connect(), handle_signals=False)
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests import fake_frames as frames
from tuirunner.client import Client
from tuirunner.environment import EnvChange, Environment, env_file_specs, load_environment
from tuirunner.events import ExitStatus, ProcessInfo, State
from tuirunner.output import OutputBuffer
from tuirunner.procfile import formation, parse_concurrency, parse_procfile_text
from tuirunner.protocol import EnvPayload
from tuirunner.runtime import run_paths
from tuirunner.secrets import MASK
from tuirunner.tokenformats import CHECKING

DIGEST_KEY = b"fake keeper key!"
Handler = Callable[[dict[str, Any]], Any]


class Refused(Exception):
    """Raised by a command handler: the keeper refuses with this message."""


class FakeKeeper:
    def __init__(
        self,
        app_root: Path,
        procfile: str,
        *,
        concurrency: str = "",
        env_files: list[str] | None = None,
        shell_env: dict[str, str] | None = None,
        scrollback: int = 10_000,
        timeout: float = 2.0,
        run_id: str = "0123456789abcdef",
        checking: tuple[str, ...] = (),
    ) -> None:
        self.app_root = Path(app_root)
        self.procfile = procfile
        parsed = parse_procfile_text(procfile, self.app_root / "Procfile")
        instances = formation(parsed, concurrency=parse_concurrency([concurrency]))
        self.processes = [
            ProcessInfo(
                name=i.name, type=i.type.name, number=i.number, command=i.command, port=i.port
            )
            for i in instances
        ]
        self.index = {p.name: n for n, p in enumerate(self.processes)}
        self.buffers = [OutputBuffer(scrollback) for _ in self.processes]
        self.scrollback = scrollback
        self.timeout = timeout
        self.run_id = run_id
        self.env_files = env_files
        self.shell_env = dict(shell_env if shell_env is not None else {"PATH": "/usr/bin:/bin"})
        self.shell_env["PWD"] = str(self.app_root)  # as a shell started in the app root has it
        self.env_version = 1
        self.envs: dict[int, Environment] = {1: self.load_environment()}
        # Variables whose values are still being checked for token formats: they go masked,
        # as a keeper sends them to a terminal UI (Hello.early_env), until environment_checked.
        self.checking = set(checking)
        self.commands: list[dict[str, Any]] = []  # every command received: {"op", "args", "id"}
        self.handlers: dict[str, Handler] = {
            "restart": self._restart,
            "start": self._start,
            "stop": self._stop,
            "reveal": self._reveal,
        }
        self.hello: dict[str, Any] = {}
        self.client: Client | None = None
        self._sent_total = [0 for _ in self.processes]  # of each buffer, what the client has
        self._next_pid = 4000
        self._sock, self._client_sock = socket.socketpair()
        self._incoming = frames.ClientFrames()
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- connecting --------------------------------------------------------------------------

    def connect(self, *, env: bool = True, resources: bool = False, skim: bool = True) -> Client:
        """The client, as ``Client.connect`` makes it once its socket is connected: hello,
        welcome, the buffers, synced."""
        client = Client(self._client_sock, run_paths(self.app_root), None)
        self._client_sock.sendall(
            frames.hello(
                output=True,
                names=None,
                tail=None,
                env=env,
                owner=None,
                resources=resources,
                skim=skim,
            )
        )
        (self.hello,) = self._read_blocking()
        state = {
            "pid": os.getpid(),
            "version": "fake",
            "run_id": self.run_id,
            "app_root": str(self.app_root),
            "procfile": str(self.app_root / "Procfile"),
            "timeout": self.timeout,
            "scrollback": self.scrollback,
            "detached": False,
            "started_at": time.time(),
        }
        handshake = [frames.welcome(state, self._snapshot())]
        for index, buffer in enumerate(self.buffers):
            handshake.append(frames.buffer_copy(index, *buffer.export(0)))
            self._sent_total[index] = buffer.total
        handshake.append(frames.synced())
        # Sent by a thread while the client reads: with 1,000 processes it overfills the socket.
        sender = threading.Thread(target=self._sock.sendall, args=(b"".join(handshake),))
        sender.start()
        while not client._synced:  # as Client.connect reads until synced
            client._read_blocking()
        sender.join()
        start = client.start

        async def start_then_serve() -> None:  # the keeper's end joins the app's event loop
            await start()
            self._loop = asyncio.get_running_loop()
            self._loop.add_reader(self._sock.fileno(), self._readable)

        client.start = start_then_serve  # type: ignore[method-assign]
        self.client = client
        return client

    def _read_blocking(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while not messages:
            messages = self._incoming.feed(self._sock.recv(1 << 16))
        return messages

    def _readable(self) -> None:
        data = self._sock.recv(1 << 16)
        if not data:  # the client closed its end
            self.close()
            return
        for message in self._incoming.feed(data):
            if message.get("t") == "cmd":
                self._command(message)

    def close(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._sock.fileno())
        self._loop = None
        self._sock.close()

    def _send(self, frame: bytes) -> None:
        """Send *frame*, once a client said hello (what happened before is in the welcome)."""
        if self.hello and self._sock.fileno() != -1:
            self._sock.sendall(frame)

    # --- commands ----------------------------------------------------------------------------

    def _command(self, message: dict[str, Any]) -> None:
        command = {"op": message["op"], "args": message.get("args") or {}, "id": message["id"]}
        self.commands.append(command)
        handler = self.handlers.get(command["op"], lambda args: None)
        try:
            result = handler(command["args"])
        except Refused as exc:
            self._send(frames.reply(command["id"], error=str(exc)))
        else:
            self._send(frames.reply(command["id"], result))

    def refuse(self, op: str, error: str) -> None:
        """From now on, command *op* is refused with *error*."""

        def refusing(args: dict[str, Any]) -> Any:
            raise Refused(error)

        self.handlers[op] = refusing

    def ops(self) -> list[tuple[str, dict[str, Any]]]:
        """The commands received, as (op, args); resizes left out."""
        return [(c["op"], c["args"]) for c in self.commands if c["op"] != "resize"]

    def _chosen(self, args: dict[str, Any]) -> list[ProcessInfo]:
        names = args.get("names")
        return [p for p in self.processes if not names or p.name in names or p.type in names]

    def _restart(self, args: dict[str, Any]) -> list[ProcessInfo]:
        for proc in self._chosen(args):
            self.run(proc.name)
        return self._chosen(args)

    def _start(self, args: dict[str, Any]) -> list[ProcessInfo]:
        for proc in self._chosen(args):
            if not proc.state.alive:
                self.run(proc.name)
        return self._chosen(args)

    def _stop(self, args: dict[str, Any]) -> list[ProcessInfo]:
        """As the supervisor stops: a running process stops; a waiting one waits no more."""
        for proc in self._chosen(args):
            if proc.state.alive:
                self.set(proc.name, state=State.STOPPED, pid=None, ended_at=time.time())
            if proc.next_start_at is not None or proc.waiting_for:
                self.set(proc.name, next_start_at=None, waiting_for=None, failures=0)
        return self._chosen(args)

    def _reveal(self, args: dict[str, Any]) -> str | None:
        proc = self.processes[self.index[args["name"]]]
        env = self.envs[args.get("version") or self.env_version]
        var = env.for_process(proc.name, proc.port, self.run_id).variables.get(args["variable"])
        return None if var is None else var.value

    # --- what happens ------------------------------------------------------------------------

    def set(self, name: str, *, dropped: bool = False, **fields: Any) -> None:
        """Change fields of a process's state, and tell the client (a ``proc`` message) unless
        *dropped* (the client was behind: see :meth:`resync`)."""
        index = self.index[name]
        proc = self.processes[index]
        for key, value in fields.items():
            setattr(proc, key, value)
        if not dropped:
            self._send(frames.process(index, proc))

    def run(self, name: str, pid: int | None = None) -> int:
        """The process starts (again): a new pid, one more start."""
        proc = self.processes[self.index[name]]
        if pid is None:
            self._next_pid += 1
            pid = self._next_pid
        self.set(
            name,
            state=State.RUNNING,
            pid=pid,
            last_pid=pid,
            exit=None,
            start_count=proc.start_count + 1,
            started_at=time.time(),
            ended_at=None,
            env_version=self.env_version,
        )
        return pid

    def run_all(self) -> None:
        for proc in self.processes:
            self.run(proc.name)

    def exit(self, name: str, code: int = 0, signal: int | None = None) -> None:
        """The process ends by itself."""
        self.set(
            name,
            state=State.EXITED,
            pid=None,
            exit=ExitStatus(returncode=code, signal=signal),
            ended_at=time.time(),
        )

    def print(
        self,
        name: str,
        *lines: str,
        end: str = "\r\n",
        dropped: bool = False,
        at: float | None = None,
    ) -> None:
        """Output of the process, as its terminal gives it (``\\r\\n`` line ends), read *at*
        (epoch seconds; now if None)."""
        self.write(name, "".join(line + end for line in lines).encode(), dropped=dropped, at=at)

    def write(
        self, name: str, data: bytes, *, dropped: bool = False, at: float | None = None
    ) -> None:
        """Raw output; *dropped*: the client was behind and did not get it (see :meth:`resync`)."""
        index = self.index[name]
        buffer = self.buffers[index]
        buffer.feed(data, at)
        if not dropped and self.hello:
            self._send(frames.output(index, data, buffer.stamp / 1000))
            self._sent_total[index] = self.buffers[index].total

    def runner_line(self, name: str, text: str, at: float | None = None) -> None:
        index = self.index[name]
        buffer = self.buffers[index]
        buffer.append_line(text, at)
        self._send(frames.runner_line(index, text, buffer.stamp / 1000))

    def notice(self, name: str | None, message: str, kind: str = "info") -> None:
        index = None if name is None else self.index[name]
        self._send(frames.notice(index, message, kind))

    def load_environment(self) -> Environment:
        specs = env_file_specs(self.env_files, self.app_root)
        return load_environment(specs, self.shell_env, self.app_root)

    def reload_environment(self) -> EnvChange:
        """The env files changed on disk: a new environment version (``env``)."""
        old = self.envs[self.env_version]
        new = self.load_environment()
        change = old.diff(new)
        self.env_version += 1
        self.envs[self.env_version] = new
        wire = self._wire(new) if self.hello.get("env") else None
        change_json = {
            "added": list(change.added),
            "removed": list(change.removed),
            "changed": list(change.changed),
        }
        self._send(frames.environment(self.env_version, change_json, wire))
        return change

    def resync(self) -> None:
        """As after the client fell behind: the state again, what it missed, synced."""
        self._send(frames.resync(self._snapshot()))
        for index, buffer in enumerate(self.buffers):
            if buffer.total != self._sent_total[index]:
                self._send(frames.buffer_copy(index, *buffer.export(self._sent_total[index])))
                self._sent_total[index] = buffer.total
        self._send(frames.synced())

    def bye(self, reason: str = "down") -> None:
        self._send(frames.bye(reason))
        self.close()

    def environment_checked(self) -> None:
        """The values being checked for token formats are checked (``envchecked``)."""
        self.checking.clear()
        self._send(frames.env_checked({v: self._wire(env) for v, env in self.envs.items()}))

    def _wire(self, env: Environment) -> EnvPayload:
        wire = env.to_wire(DIGEST_KEY)
        for var in wire.variables:
            if var.name in self.checking:
                var.secret_reason = CHECKING
                for d in var.definitions:
                    d.shown, d.digest = MASK, d.digest or d.shown
        return wire

    def _snapshot(self) -> dict[str, Any]:
        envs = None
        if self.hello.get("env"):
            envs = {v: self._wire(env) for v, env in self.envs.items()}
        return frames.snapshot(self.processes, self.env_version, envs)
