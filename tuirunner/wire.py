"""The keeper's socket protocol: length-prefixed frames, in both directions.

A frame is a 5-byte header — the payload's length (4 bytes, big-endian) and a kind byte — then
the payload:

- ``J``: one JSON object (UTF-8): commands, replies, snapshots, events;
- ``O``: raw output of a process: its index (2 bytes) then the bytes it wrote, exactly as read
  from its terminal, for the client to feed into its copy of the output buffer;
- ``S``: a copy of the missing part of a process's output buffer: a JSON header (4-byte length
  then JSON: ``{"p": index, ...}`` plus :meth:`OutputBuffer.export`'s header) then the lines,
  UTF-8, joined by newlines (a buffer line never contains one).

Raw output stays bytes end to end: the keeper decodes it once for its own buffer, a client once
for its copy, and nobody pays for a JSON round trip on the hot path.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from typing import Any

PROTOCOL = 1
HEADER = struct.Struct("!IB")
INDEX = struct.Struct("!H")
LENGTH = struct.Struct("!I")
MAX_FRAME = 256 << 20  # a frame larger than this is a protocol error, not something to buffer

JSON = ord("J")
OUTPUT = ord("O")
SYNC = ord("S")


class ProtocolError(Exception):
    pass


def json_frame(message: dict[str, Any]) -> bytes:
    payload = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()
    return HEADER.pack(len(payload), JSON) + payload


def output_frame(index: int, data: bytes) -> bytes:
    return HEADER.pack(len(data) + INDEX.size, OUTPUT) + INDEX.pack(index) + data


def sync_frame(index: int, header: dict[str, Any], lines: list[str]) -> bytes:
    head = json.dumps({"p": index, "n": len(lines), **header}, separators=(",", ":")).encode()
    body = "\n".join(lines).encode()
    size = LENGTH.size + len(head) + len(body)
    return HEADER.pack(size, SYNC) + LENGTH.pack(len(head)) + head + body


def decode_sync(payload: bytes) -> tuple[dict[str, Any], list[str]]:
    (size,) = LENGTH.unpack_from(payload)
    header = json.loads(payload[LENGTH.size : LENGTH.size + size])
    body = payload[LENGTH.size + size :]
    lines = body.decode().split("\n") if header["n"] else []
    return header, lines


class FrameReader:
    """Splits a byte stream into ``(kind, payload)`` frames."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> Iterator[tuple[int, bytes]]:
        buffer = self._buffer
        buffer += data
        offset = 0
        end = len(buffer)
        try:
            while end - offset >= HEADER.size:
                size, kind = HEADER.unpack_from(buffer, offset)
                if size > MAX_FRAME:
                    raise ProtocolError(f"frame of {size} bytes")
                start = offset + HEADER.size
                if end - start < size:
                    break
                offset = start + size
                yield kind, bytes(buffer[start:offset])
        finally:
            del buffer[:offset]

    def decode(self, data: bytes) -> Iterator[tuple[int, Any]]:
        """Like :meth:`feed`, with JSON payloads parsed."""
        for kind, payload in self.feed(data):
            yield kind, json.loads(payload) if kind == JSON else payload
