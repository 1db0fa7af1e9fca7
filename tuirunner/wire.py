"""Frames on the keeper's socket, in both directions; what they hold is :mod:`tuirunner.protocol`.

A frame is a 5-byte header — the payload's length (4 bytes, big-endian) and a kind byte — then
the payload:

- ``J``: one message (JSON), a :class:`tuirunner.protocol.Message`;
- ``O``: raw output of a process: its index (2 bytes) then the bytes it wrote, exactly as read
  from its terminal, for the client to feed into its copy of the output buffer;
- ``S``: a copy of the missing part of a process's output buffer: a header (4-byte length then
  a :class:`tuirunner.protocol.SyncHeader` as JSON) then the lines, UTF-8, joined by newlines.

Raw output stays bytes end to end: the keeper decodes it once for its own buffer, a client once
for its copy, and nobody pays for a JSON round trip on the hot path.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

HEADER = struct.Struct("!IB")
INDEX = struct.Struct("!H")
LENGTH = struct.Struct("!I")
MAX_FRAME = 256 << 20  # a frame larger than this is a protocol error, not something to buffer

JSON = ord("J")
OUTPUT = ord("O")
SYNC = ord("S")
KINDS = frozenset((JSON, OUTPUT, SYNC))


class ProtocolError(Exception):
    """What arrived is not a frame, or not a message: the reason, in words."""


class FrameReader:
    """Splits a byte stream into ``(kind, payload)`` frames of at most *max_frame* bytes and
    of the *kinds* expected; anything else raises ProtocolError (the stream cannot be trusted
    after it: close the connection)."""

    def __init__(self, max_frame: int = MAX_FRAME, kinds: frozenset[int] = KINDS) -> None:
        self._buffer = bytearray()
        self.max_frame = max_frame
        self.kinds = kinds

    def feed(self, data: bytes) -> Iterator[tuple[int, bytes]]:
        buffer = self._buffer
        buffer += data
        offset = 0
        end = len(buffer)
        try:
            while end - offset >= HEADER.size:
                size, kind = HEADER.unpack_from(buffer, offset)
                if size > self.max_frame:
                    raise ProtocolError(f"a frame of {size} bytes (at most {self.max_frame})")
                if kind not in self.kinds:
                    raise ProtocolError(f"a frame of unknown kind {kind}")
                start = offset + HEADER.size
                if end - start < size:
                    break
                offset = start + size
                yield kind, bytes(buffer[start:offset])
        finally:
            del buffer[:offset]
