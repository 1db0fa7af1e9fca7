"""What a client can make a live keeper hold: frames (at most ``MAX_REQUEST``) and connections
(at most ``MAX_CLIENTS``; one more is refused, saying how many)."""

from __future__ import annotations

import time

import psutil
import pytest

from tests.helpers import clean_env, run_cli
from tests.integration.test_protocol_fuzz import Peer
from tuirunner.launch import start_keeper
from tuirunner.options import RunOptions
from tuirunner.protocol import MAX_CLIENTS, MAX_REQUEST, Refused
from tuirunner.runtime import run_paths
from tuirunner.wire import HEADER, JSON


@pytest.fixture
def keeper(tmp_path):
    (tmp_path / "Procfile").write_text("tick: while true; do echo tick; sleep 0.2; done\n")
    options = RunOptions(app_root=str(tmp_path), timeout=2.0)
    launched = start_keeper(options, foreground=False, environ=clean_env())
    pid = launched.wait_ready()
    yield run_paths(tmp_path).socket, psutil.Process(pid), tmp_path
    run_cli(["down"], tmp_path)
    launched.wait(20)


def test_clients_announcing_huge_frames_are_answered_and_dropped_unread(keeper):
    path, process, _ = keeper
    before = process.memory_info().rss
    chunk = b"\0" * (1 << 20)
    peers = []
    for _ in range(3):
        peer = Peer(path)
        peer.sock.sendall(HEADER.pack(250_000_000, JSON))
        peers.append(peer)
    for peer in peers:
        sent = 0
        peer.sock.settimeout(5)
        try:
            while sent < 50 << 20:  # then the bytes: 50 MB each, if the keeper took them
                sent += peer.sock.send(chunk)
        except OSError:  # reset, broken pipe or a full socket: the keeper stopped reading
            pass
        deadline = time.monotonic() + 20
        try:
            while peer.pump(0.1):
                assert time.monotonic() < deadline, "the connection stayed open"
        except ConnectionResetError:
            pass
        errors = [r.error for r in peer.replies() if not r.ok]
        assert errors and f"at most {MAX_REQUEST}" in errors[-1], peer.messages
    assert process.memory_info().rss - before < 20 << 20  # not 3 x 250 MB, nor 3 x 50 MB


def test_one_client_too_many_is_refused_saying_how_many(keeper):
    path, _, root = keeper
    peers = [Peer(path) for _ in range(MAX_CLIENTS)]
    for peer in peers:
        peer.wait(lambda p=peer: any(type(m).__name__ == "Synced" for m in p.messages), "sync")
    extra = Peer(path)
    while extra.pump(5):
        pass
    refused = [m for m in extra.messages if isinstance(m, Refused)]
    assert refused and f"at most {MAX_CLIENTS} at a time" in refused[0].error
    result = run_cli(["ps"], root)  # the command line says it too
    assert result.returncode == 1 and "too many clients" in result.stderr
    for peer in peers[:8]:
        peer.sock.close()
    deadline = time.monotonic() + 10
    while (result := run_cli(["ps"], root)).returncode != 0:
        assert time.monotonic() < deadline, result.stderr  # room again once some leave
        time.sleep(0.2)
