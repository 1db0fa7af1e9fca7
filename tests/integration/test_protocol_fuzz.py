"""Bad frames against a live keeper: random and mutated requests never crash it, never stall
another client, and each gets an error reply; another protocol version is refused by name."""

from __future__ import annotations

import json
import random
import select
import socket
import struct
import time

import pytest

from tests.helpers import clean_env, run_cli
from tuirunner.launch import start_keeper
from tuirunner.options import RunOptions
from tuirunner.protocol import (
    MAX_REQUEST,
    PROTOCOL,
    Hello,
    Refused,
    Reply,
    Resize,
    Restart,
    Reveal,
    Write,
    decode_event,
    decode_request,
    encode,
    request_id,
)
from tuirunner.runtime import run_paths
from tuirunner.wire import HEADER, JSON, OUTPUT, FrameReader, ProtocolError

TAGS = ["hello", "restart", "start", "stop", "sample", "down", "detach", "write", "resize"]
TAGS += ["reveal", "cmd", "", "welcome", "reply", None, 7]


class Peer:
    """A raw connection to the keeper: frames out, frames in."""

    def __init__(self, path, hello: bool = True) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(str(path))
        self.reader = FrameReader()
        self.output = 0  # output frames received
        self.messages: list = []
        if hello:
            self.sock.sendall(encode(Hello(v=PROTOCOL)))

    def pump(self, timeout: float = 0.0) -> bool:
        """Read what has come (waiting up to *timeout* for something); False once closed."""
        ready = select.select([self.sock], [], [], timeout)[0]
        if not ready:
            return True
        data = self.sock.recv(1 << 20)
        if not data:
            return False
        for kind, payload in self.reader.feed(data):
            if kind == OUTPUT:
                self.output += 1
            elif kind == JSON:
                self.messages.append(decode_event(payload))
        return True

    def wait(self, condition, what: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            if not self.pump(0.05) and not condition():
                raise AssertionError(f"the keeper closed the connection waiting for {what}")

    def replies(self) -> list[Reply]:
        return [m for m in self.messages if isinstance(m, Reply)]


def random_value(rng: random.Random, depth: int = 0):
    kinds = ["int", "str", "float", "bool", "none", "list", "dict", "big", "bytes"]
    kind = rng.choice(kinds if depth < 3 else kinds[:5])
    if kind == "int":
        return rng.choice([0, -1, 1, 2**31, -(2**63), 65535, 10**30])
    if kind == "str":
        return rng.choice(["", "web", "web.1", "nope", "\x1b]52;c;eA==\x07", "é" * 50, "\x00"])
    if kind == "float":
        return rng.choice([0.5, -1e308, 1e308, float("nan")]) if depth else 1.5
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "none":
        return None
    if kind == "list":
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == "big":
        return "x" * rng.randrange(1000, 100_000)
    if kind == "bytes":
        return "!!not base64!!"
    return {
        rng.choice(["names", "name", "id", "v", "data", "x", "t"]): random_value(rng, depth + 1)
        for _ in range(rng.randrange(4))
    }


def bad_payloads(rng: random.Random, count: int):
    """JSON payloads that are not a valid request (valid ones are skipped: they would act)."""
    valid = [
        encode(Restart(names=["nope"], id=5))[HEADER.size :],
        encode(Write(name="tick", data=b"\x00\xff", id=6))[HEADER.size :],
        encode(Resize(name="tick", columns=80, rows=24, id=7))[HEADER.size :],
        encode(Reveal(name="tick", variable="HOME", id=8))[HEADER.size :],
    ]
    made = 0
    while made < count:
        how = rng.randrange(4)
        if how == 0:  # a random object with a plausible or absurd tag
            message = {"t": rng.choice(TAGS), "id": rng.choice([None, rng.randrange(10**6)])}
            for _ in range(rng.randrange(4)):
                message[rng.choice(["names", "name", "data", "columns", "v", "x"])] = random_value(
                    rng
                )
            payload = json.dumps(message).encode()
        elif how == 1:  # a valid request with bytes flipped, cut or inserted
            data = bytearray(rng.choice(valid))
            for _ in range(rng.randrange(1, 4)):
                at = rng.randrange(len(data))
                action = rng.randrange(3)
                if action == 0:
                    data[at] = rng.randrange(256)
                elif action == 1:
                    del data[at:]
                    if not data:
                        data = bytearray(b"{")
                else:
                    data[at:at] = bytes([rng.randrange(256)])
            payload = bytes(data)
        elif how == 2:  # not JSON at all
            payload = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 64)))
        else:  # JSON, but not an object
            payload = json.dumps(random_value(rng)).encode()
        try:
            decode_request(payload)
        except ProtocolError:
            made += 1
            yield payload


@pytest.fixture
def keeper(tmp_path):
    (tmp_path / "Procfile").write_text(
        "tick: i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.05; done\n"
    )
    options = RunOptions(app_root=str(tmp_path), timeout=2.0)
    launched = start_keeper(options, foreground=False, environ=clean_env())
    launched.wait_ready()
    yield run_paths(tmp_path).socket
    run_cli(["down"], tmp_path)
    if launched.wait(20) is None:  # down did not get through: its guard takes the run down
        launched.guard.terminate()
        launched.wait(20)


def test_bad_frames_get_error_replies_while_another_client_keeps_receiving(keeper):
    watcher = Peer(keeper)
    fuzzer = Peer(keeper)
    fuzzer.wait(lambda: any(type(m).__name__ == "Synced" for m in fuzzer.messages), "synced")
    rng = random.Random(20261204)
    for n, payload in enumerate(bad_payloads(rng, 300)):
        before = len(fuzzer.replies())
        fuzzer.sock.sendall(HEADER.pack(len(payload), JSON) + payload)
        fuzzer.wait(lambda b=before: len(fuzzer.replies()) > b, f"a reply to bad frame {n}")
        reply = fuzzer.replies()[-1]
        assert not reply.ok and reply.error, payload
        assert reply.id == request_id(payload), payload
        if n % 50 == 0:  # meanwhile the other client still gets the ticks
            seen = watcher.output
            watcher.wait(lambda s=seen: watcher.output > s, f"output after bad frame {n}")
    # The keeper is well: a real request works, and says why a bad name is bad.
    fuzzer.sock.sendall(encode(Restart(names=["nope"], id=424242)))
    fuzzer.wait(lambda: fuzzer.replies()[-1].id == 424242, "the last reply")
    assert fuzzer.replies()[-1].error == "unknown process 'nope'; this run has tick.1"


@pytest.mark.parametrize(
    "frame, reason",
    [
        (struct.pack("!IB", MAX_REQUEST + 1, JSON), "a frame of"),
        (struct.pack("!IB", 3, ord("Z")) + b"abc", "unknown kind"),
        (struct.pack("!IB", 0xFFFFFFFF, JSON), "a frame of"),
    ],
)
def test_a_frame_that_breaks_the_stream_is_answered_then_the_connection_closes(
    keeper, frame, reason
):
    watcher = Peer(keeper)
    peer = Peer(keeper)
    peer.sock.sendall(frame)
    deadline = time.monotonic() + 20
    while peer.pump(0.1):
        assert time.monotonic() < deadline, "the connection stayed open"
    errors = [r.error for r in peer.replies() if not r.ok]
    assert errors and reason in errors[-1] and "closing the connection" in errors[-1]
    seen = watcher.output
    watcher.wait(lambda: watcher.output > seen, "output after the broken stream")


def test_a_client_of_another_protocol_version_is_refused_naming_both(keeper):
    peer = Peer(keeper, hello=False)
    peer.sock.sendall(encode(Hello(v=PROTOCOL + 7)))
    while peer.pump(5):
        pass
    refused = [m for m in peer.messages if isinstance(m, Refused)]
    assert refused, peer.messages
    assert f"protocol {PROTOCOL + 7}" in refused[0].error
    assert f"protocol {PROTOCOL}" in refused[0].error


def test_requests_before_hello_are_answered_not_acted_on(keeper):
    peer = Peer(keeper, hello=False)
    peer.sock.sendall(encode(Restart(names=["tick"], id=9)))
    peer.wait(lambda: peer.replies(), "a reply")
    assert peer.replies()[0] == Reply(id=9, ok=False, error="say hello first")
