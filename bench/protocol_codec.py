"""The protocol's codec on the flood path, against the JSON dicts it replaced (same run).

What a flood sends besides raw output frames (``O``, bytes untouched by either codec): runner
lines, process snapshots, buffer copies (``S`` headers). Each is encoded by the keeper and
decoded by the client; this times both, per message, for the typed msgspec structs of
tuirunner/protocol.py and for the ``json.dumps``/``json.loads`` of dicts that came before
(revision e4031e4's wire.py, reproduced below as the reference).

    python bench/protocol_codec.py [--n 100000]
"""

from __future__ import annotations

import argparse
import json
import struct
import time

from tuirunner.events import ExitStatus, ProcessInfo, State
from tuirunner.protocol import Line, Proc, SyncHeader, decode_event, decode_sync, encode, sync_frame

HEADER = struct.Struct("!IB")
LENGTH = struct.Struct("!I")


def old_json_frame(message: dict) -> bytes:
    payload = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()
    return HEADER.pack(len(payload), ord("J")) + payload


def old_sync_frame(index: int, header: dict, lines: list[str]) -> bytes:
    head = json.dumps({"p": index, "n": len(lines), **header}, separators=(",", ":")).encode()
    body = "\n".join(lines).encode()
    return (
        HEADER.pack(LENGTH.size + len(head) + len(body), ord("S"))
        + LENGTH.pack(len(head))
        + head
        + body
    )


def old_decode_sync(payload: bytes):
    (size,) = LENGTH.unpack_from(payload)
    header = json.loads(payload[LENGTH.size : LENGTH.size + size])
    body = payload[LENGTH.size + size :]
    return header, body.decode().split("\n") if header["n"] else []


def timed(fn, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    n = parser.parse_args().n
    info = ProcessInfo("web.1", "web", 1, "python manage.py runserver", 8000, State.EXITED)
    info.exit = ExitStatus(returncode=1)
    old_info = {**info.fields(), "state": "exited", "exit": {"code": 1, "signal": None}}
    lines = [f"line {i} of a flood, with some text" for i in range(100)]
    rows = []

    def row(what, old_fn, new_fn):
        old, new = timed(old_fn, n), timed(new_fn, n)
        rows.append((what, old, new, new / old))

    line = Line(p=3, text="started with pid 4242")
    old_line = {"t": "line", "p": 3, "text": "started with pid 4242"}
    row("line: encode", lambda: old_json_frame(old_line), lambda: encode(line))
    enc_old, enc_new = old_json_frame(old_line)[5:], encode(line)[5:]
    row("line: decode", lambda: json.loads(enc_old)["text"], lambda: decode_event(enc_new).text)
    proc = Proc(p=0, info=info)
    old_proc = {"t": "proc", "p": 0, "info": old_info}
    row("snapshot: encode", lambda: old_json_frame(old_proc), lambda: encode(proc))
    enc_old, enc_new = old_json_frame(old_proc)[5:], encode(proc)[5:]
    row("snapshot: decode", lambda: json.loads(enc_old)["info"], lambda: decode_event(enc_new))
    header = SyncHeader(start=5, partial="", cr=False, decoder=("", 0))
    old_header = {"from": 5, "partial": "", "cr": False, "decoder": ["", 0]}
    row(
        "buffer copy (100 lines): encode",
        lambda: old_sync_frame(0, old_header, lines),
        lambda: sync_frame(header, lines),
    )
    s_old, s_new = old_sync_frame(0, old_header, lines)[5:], sync_frame(header, lines)[5:]
    row(
        "buffer copy (100 lines): decode",
        lambda: old_decode_sync(s_old),
        lambda: decode_sync(s_new),
    )
    print(f"{'message':34} {'dicts + json (µs)':>18} {'protocol (µs)':>14} {'ratio':>6}")
    for what, old, new, ratio in rows:
        print(f"{what:34} {old:18.2f} {new:14.2f} {ratio:6.2f}")


if __name__ == "__main__":
    main()
