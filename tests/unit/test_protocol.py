"""The keeper's frames and messages, and the client's copy of an output buffer (no
processes)."""

import json
import os
import random
import shutil
import stat
import tempfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuirunner.environment import EnvFileSpec, load_environment
from tuirunner.errors import UserError
from tuirunner.events import ExitStatus, ProcessInfo, State
from tuirunner.output import OutputBuffer
from tuirunner.protocol import (
    PROTOCOL,
    Hello,
    Line,
    Op,
    Proc,
    Resize,
    Restart,
    Reveal,
    SyncHeader,
    Write,
    decode_event,
    decode_output,
    decode_request,
    decode_sync,
    encode,
    output_frame,
    request_id,
    sync_frame,
)
from tuirunner.runtime import RunLock, holder, listen, run_paths, runtime_dir
from tuirunner.secrets import MASK
from tuirunner.wire import JSON, OUTPUT, SYNC, FrameReader, ProtocolError


def header(p: int, start: int, partial: str = "") -> SyncHeader:
    return SyncHeader(p=p, start=start, partial=partial, cr=False, decoder=("", 0))


NASTY = (
    (
        "plain line\r\nprogress 10%\rprogress 100%\r\nütf-8 ✓ split\r\n\x1b[31mred\x1b[0m\r\n(Pdb) "
    ).encode()
    + bytes([0xE2, 0x9C])
    + b"\x93 tail\r"
)


def test_frames_survive_any_split_of_the_stream():
    frames = [
        encode(Line(p=3, text="ünïcode")),
        output_frame(7, b"\x00\xff raw bytes\r\n", 1_780_000_000.125),
        sync_frame(header(2, 5, "(Pdb) "), ["a", "", "c"]),
        sync_frame(header(1, 0), []),
        sync_frame(header(4, 0), [""]),  # one empty line is not no line
    ]
    stream = b"".join(frames)
    for _ in range(50):
        reader = FrameReader()
        got = []
        cuts = sorted(random.sample(range(1, len(stream)), 8))
        for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
            got.extend(reader.feed(stream[start:end]))
        assert [kind for kind, _ in got] == [JSON, OUTPUT, SYNC, SYNC, SYNC]
        assert decode_event(got[0][1]) == Line(p=3, text="ünïcode")
        assert decode_output(got[1][1]) == (7, 1_780_000_000.125, b"\x00\xff raw bytes\r\n")
        head, lines = decode_sync(got[2][1])
        assert (head.p, head.n, head.start, head.partial) == (2, 3, 5, "(Pdb) ")
        assert lines == ["a", "", "c"]
        assert decode_sync(got[3][1])[1] == []
        assert decode_sync(got[4][1])[1] == [""]


def test_an_absurd_frame_length_is_a_protocol_error():
    reader = FrameReader()
    with pytest.raises(ProtocolError):
        list(reader.feed(b"\xff\xff\xff\xffJ"))


def test_a_copy_fed_the_same_bytes_after_an_export_matches_the_original():
    """A client joins at any point (an export), then gets the same bytes: it must end up with
    exactly the keeper's lines, partial line included, whatever the chunking."""
    for seed in range(30):
        rng = random.Random(seed)
        data = NASTY * 40
        cuts = sorted(rng.sample(range(1, len(data)), 25))
        chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
        join = rng.randrange(len(chunks))
        original = OutputBuffer(maxlen=50, line_cap=40)
        for chunk in chunks[:join]:
            original.feed(chunk)
        copy = OutputBuffer(maxlen=50, line_cap=40)
        copy.apply_export(*original.export(0))
        for chunk in chunks[join:]:
            assert copy.feed(chunk) == original.feed(chunk)
        assert copy.snapshot() == original.snapshot()
        assert (copy.total, copy.first_index) == (original.total, original.first_index)


def test_an_export_since_a_copys_total_sends_only_what_it_lacks():
    original = OutputBuffer(maxlen=1000)
    copy = OutputBuffer(maxlen=1000)
    original.feed(b"one\ntwo\nthr")
    copy.apply_export(*original.export(0))
    seen = copy.total
    original.feed(b"ee\nfour\nfi")  # the copy misses these (its client fell behind)
    header, lines = original.export(seen)
    assert lines == ["three", "four"] and header.partial == "fi"
    copy.apply_export(header, lines)
    assert copy.snapshot() == ["one", "two", "three", "four", "fi"]


def test_a_copy_that_missed_more_than_the_scrollback_starts_over():
    original = OutputBuffer(maxlen=3)
    copy = OutputBuffer(maxlen=3)
    copy.apply_export(*original.export(0))
    original.feed(b"".join(b"%d\n" % i for i in range(10)))
    copy.apply_export(*original.export(copy.total))
    assert copy.snapshot() == ["7", "8", "9"] and copy.total == 10


def test_masked_copies_of_an_environment_keep_secrets_out_but_tell_changes(tmp_path):
    (tmp_path / ".env").write_text(
        "SECRET_KEY=very-secret-value-1\nDEBUG=1\nDATABASE_URL=postgres://u:pw12345@db/app\n"
    )
    spec = EnvFileSpec(tmp_path / ".env", ".env", True)
    env = load_environment([spec], {"HOME": "/home/dev"}, tmp_path)
    wire = env.to_wire(b"key")
    assert "very-secret-value-1" not in repr(wire) and "pw12345" not in repr(wire)
    copy = type(env).from_wire(wire)
    assert copy.get("SECRET_KEY") == MASK and copy.get("DEBUG") == "1"
    assert copy.get("DATABASE_URL") == f"postgres://u:{MASK}@db/app"
    assert copy.variables["SECRET_KEY"].secret and not copy.variables["DEBUG"].secret
    assert copy.variables["SECRET_KEY"].secret_reason == "name"
    assert str(copy.variables["DEBUG"].source) == ".env:2"
    (tmp_path / ".env").write_text("SECRET_KEY=very-secret-value-2\nDEBUG=1\n")
    newer = type(env).from_wire(load_environment([spec], {}, tmp_path).to_wire(b"key"))
    change = copy.diff(newer)
    assert change.changed == ("SECRET_KEY",)  # masked the same, yet known to differ
    assert "DATABASE_URL" in change.removed and "HOME" in change.removed


def test_the_runtime_directory_is_private(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    path = runtime_dir()
    assert path == tmp_path / "tuirunner"
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
    path.chmod(0o755)
    with pytest.raises(UserError, match="others may enter it"):
        runtime_dir()


def test_a_socket_left_by_a_dead_keeper_is_detected_and_removed(tmp_path, monkeypatch):
    short = tempfile.mkdtemp(prefix="t")  # a socket's path must be short
    monkeypatch.setenv("XDG_RUNTIME_DIR", short)
    paths = run_paths(tmp_path)
    listen(paths.socket).close()  # a socket file nobody serves
    assert stat.S_IMODE(paths.socket.stat().st_mode) == 0o600
    paths.lock.write_text("4242\n")  # and a lock nobody holds
    assert holder(paths) is None
    assert not paths.socket.exists()
    lock = RunLock(paths.lock)
    assert lock.acquire()
    assert holder(paths) == os.getpid()
    assert not RunLock(paths.lock).acquire()  # one run per app root
    lock.release()
    shutil.rmtree(short)


def test_a_runtime_directory_too_long_for_a_socket_is_a_clear_error(tmp_path, monkeypatch):
    deep = tmp_path / ("d" * 60)
    deep.mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(deep))
    with pytest.raises(UserError, match="too long a path for a unix socket"):
        run_paths(tmp_path)


# --- messages -----------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(["t", "id", "names", "name", "v", "data"]), children)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_payload_is_a_request_or_a_protocol_error(payload):
    try:
        message = decode_request(payload)
    except ProtocolError as exc:
        assert str(exc)
        rid = request_id(payload)
        assert rid is None or isinstance(rid, int)
    else:
        assert isinstance(message, Hello | Op)


@pytest.mark.parametrize(
    "message",
    [
        Hello(v=PROTOCOL, names=["web"], tail=0, env=True, skim=True),
        Restart(id=1, names=["web", "worker.2"]),
        Write(id=2, name="web.1", data=b"\x00\xff\x1b[A"),
        Resize(id=3, name="web.1", columns=120, rows=40),
        Reveal(id=4, name="web.1", variable="SECRET_KEY", version=2),
    ],
)
def test_requests_round_trip(message):
    assert decode_request(encode(message)[5:]) == message


def test_events_round_trip_a_process_snapshot():
    info = ProcessInfo("web.1", "web", 1, "runserver", 8000, State.EXITED, exit=ExitStatus(3))
    info.ports = (8000, 8001)
    got = decode_event(encode(Proc(p=0, info=info))[5:])
    assert got.info.fields() == info.fields()
    assert got.info.exit.code == 3 and got.info.state is State.EXITED


def test_bad_requests_say_what_is_wrong():
    with pytest.raises(ProtocolError, match="unknown message 'cmd'"):
        decode_request(b'{"t": "cmd", "op": "restart"}')
    with pytest.raises(ProtocolError, match=r"Expected `int`.*\$\.columns"):
        decode_request(b'{"t": "resize", "name": "web", "columns": "wide", "rows": 3}')
    with pytest.raises(ProtocolError, match="unknown field `force`"):
        decode_request(b'{"t": "restart", "force": true}')
    assert request_id(b'{"t": "restart", "id": 12, "names": 3}') == 12
