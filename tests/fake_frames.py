"""The frames a keeper sends, one function per message, as tuirunner/keeper.py builds them
(``Keeper.welcome``, ``snapshot``, ``on_event``, ``resync``, ``Session.reply``,
``reload_environment``), and the reading of what a client sends. The fake keeper
(tests/fake_keeper.py) builds every frame here and nowhere else, and the client's hello too
(it connects the real Client as ``Client.connect`` does)."""

from __future__ import annotations

from typing import Any

from tuirunner.wire import JSON, PROTOCOL, FrameReader, json_frame, output_frame, sync_frame


def welcome(state: dict[str, Any], snapshot: dict[str, Any]) -> bytes:
    """*state*: pid, version, run_id, app_root, procfile, timeout, scrollback, detached,
    started_at; *snapshot*: see :func:`snapshot`."""
    return json_frame({"t": "welcome", "v": PROTOCOL, **state, **snapshot})


def snapshot(
    processes: list[dict[str, Any]], env_version: int, envs: dict[int, dict] | None
) -> dict[str, Any]:
    """The processes' state and environments (``Keeper.snapshot``), for a welcome or a resync;
    *envs* (wire form, by version) only for a client that asked for them."""
    message: dict[str, Any] = {"processes": processes, "env_version": env_version}
    if envs is not None:
        message["envs"] = {str(version): env for version, env in envs.items()}
    return message


def resync(snapshot: dict[str, Any]) -> bytes:
    return json_frame({"t": "resync", **snapshot})


def synced() -> bytes:
    return json_frame({"t": "synced"})


def buffer_copy(index: int, header: dict[str, Any], lines: list[str]) -> bytes:
    """What a client lacks of a process's output buffer (``OutputBuffer.export``)."""
    return sync_frame(index, header, lines)


def output(index: int, data: bytes) -> bytes:
    """Raw output of process *index*, as read from its terminal."""
    return output_frame(index, data)


def process(index: int, info: dict[str, Any]) -> bytes:
    """A process's state changed (``ProcessInfo.to_json``)."""
    return json_frame({"t": "proc", "p": index, "info": info})


def runner_line(index: int, text: str) -> bytes:
    return json_frame({"t": "line", "p": index, "text": text})


def output_end(index: int) -> bytes:
    return json_frame({"t": "end", "p": index})


def notice(index: int | None, message: str, kind: str) -> bytes:
    return json_frame({"t": "notice", "p": index, "msg": message, "kind": kind})


def reply(request: int, result: Any = None, error: str | None = None) -> bytes:
    message: dict[str, Any] = {"t": "reply", "id": request, "ok": error is None}
    if error is None:
        message["result"] = result
    else:
        message["error"] = error
    return json_frame(message)


def environment(version: int, change: dict[str, list[str]], env: dict | None) -> bytes:
    """An env file changed: *change* has added, removed, changed; *env* (wire form) only for a
    client that asked for environments."""
    message: dict[str, Any] = {"t": "env", "version": version, "change": change}
    if env is not None:
        message["env"] = env
    return json_frame(message)


def bye(reason: str = "down") -> bytes:
    return json_frame({"t": "bye", "reason": reason})


def refused(error: str) -> bytes:
    return json_frame({"t": "refused", "error": error})


def hello(**options: Any) -> bytes:
    """What a client sends first (``Client.connect``): *options* are output, names, tail, env,
    owner, resources, skim."""
    return json_frame({"t": "hello", "v": PROTOCOL, **options})


class ClientFrames:
    """What a client sends (``hello``, ``cmd``), as messages."""

    def __init__(self) -> None:
        self._reader = FrameReader()

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        return [payload for kind, payload in self._reader.decode(data) if kind == JSON]
