"""The frames a keeper sends, one function per message of tuirunner/protocol.py, as the keeper
builds them (``Session.welcome``, ``Keeper.on_event``, ``Session.resync``, ``Session.reply``,
``Keeper.reload_environment``), and the reading of what a client sends. The fake keeper
(tests/fake_keeper.py) builds every frame here and nowhere else, and the client's hello too
(it connects the real Client as ``Client.connect`` does)."""

from __future__ import annotations

import time as _time
from typing import Any

import msgspec

from tuirunner.events import NoticeKind, ProcessInfo
from tuirunner.protocol import (
    PROTOCOL,
    Bye,
    Change,
    End,
    EnvChanged,
    EnvChecked,
    Hello,
    Line,
    NoticeMessage,
    Proc,
    Refused,
    Reply,
    Resync,
    Synced,
    SyncHeader,
    Welcome,
    decode_request,
    encode,
    output_frame,
    sync_frame,
)
from tuirunner.wire import JSON, FrameReader


def welcome(state: dict[str, Any], snapshot: dict[str, Any]) -> bytes:
    """*state*: pid, version, run_id, app_root, procfile, timeout, scrollback, detached,
    started_at; *snapshot*: see :func:`snapshot`."""
    return encode(Welcome(v=PROTOCOL, **state, **snapshot))


def snapshot(
    processes: list[ProcessInfo], env_version: int, envs: dict[int, Any] | None
) -> dict[str, Any]:
    """The processes' state and environments, for a welcome or a resync; *envs* (wire form, by
    version) only for a client that asked for them."""
    return {"processes": processes, "env_version": env_version, "envs": envs}


def resync(snapshot: dict[str, Any]) -> bytes:
    return encode(Resync(**snapshot))


def synced() -> bytes:
    return encode(Synced())


def buffer_copy(index: int, header: SyncHeader, lines: list[str]) -> bytes:
    """What a client lacks of a process's output buffer (``OutputBuffer.export``)."""
    header.p = index
    return sync_frame(header, lines)


def output(index: int, data: bytes, time: float | None = None) -> bytes:
    """Raw output of process *index*, as read from its terminal (at *time*, epoch seconds;
    now if None)."""
    return output_frame(index, data, _time.time() if time is None else time)


def process(index: int, info: ProcessInfo) -> bytes:
    """A process's state changed."""
    return encode(Proc(p=index, info=info))


def runner_line(index: int, text: str, time: float | None = None) -> bytes:
    return encode(Line(p=index, text=text, time=time))


def output_end(index: int) -> bytes:
    return encode(End(p=index))


def notice(index: int | None, message: str, kind: str) -> bytes:
    return encode(NoticeMessage(p=index, msg=message, kind=NoticeKind(kind)))


def reply(request: int, result: Any = None, error: str | None = None) -> bytes:
    if error is None:
        return encode(Reply(id=request, ok=True, result=result))
    return encode(Reply(id=request, ok=False, error=error))


def environment(version: int, change: dict[str, list[str]], env: Any | None) -> bytes:
    """An env file changed: *change* has added, removed, changed; *env* (wire form) only for a
    client that asked for environments."""
    change_ = Change(**{k: tuple(v) for k, v in change.items()})
    return encode(EnvChanged(version=version, change=change_, env=env))


def env_checked(envs: dict[int, Any]) -> bytes:
    """Every value has been checked for token formats: the environments (wire form) as they
    stay."""
    return encode(EnvChecked(envs=envs))


def bye(reason: str = "down") -> bytes:
    return encode(Bye(reason=reason))


def refused(error: str) -> bytes:
    return encode(Refused(error=error))


def hello(**options: Any) -> bytes:
    """What a client sends first (``Client.connect``): *options* are output, names, tail, env,
    owner, resources, skim."""
    return encode(Hello(v=PROTOCOL, **options))


class ClientFrames:
    """What a client sends, as dicts: ``{"t": "hello", ...}``, and each op as ``{"t": "cmd",
    "op": "restart", "args": {...}, "id": 3}``."""

    def __init__(self) -> None:
        self._reader = FrameReader()

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        messages = []
        for kind, payload in self._reader.feed(data):
            if kind != JSON:
                continue
            message = decode_request(payload)
            # The fields a client set (not left at their defaults), as the client's verbs say them.
            fields = {
                f.name: getattr(message, f.name)
                for f in msgspec.structs.fields(message)
                if f.required or getattr(message, f.name) != f.default
            }
            tag = type(message).__struct_config__.tag
            if isinstance(message, Hello):
                messages.append({"t": tag, **fields})
            else:
                request = message.id
                fields.pop("id", None)
                messages.append({"t": "cmd", "op": tag, "args": fields, "id": request})
        return messages
