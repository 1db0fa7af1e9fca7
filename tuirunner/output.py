"""A bounded per-process output buffer, fed with raw bytes from a pseudo-terminal.

This is the hot path: a child may print hundreds of thousands of lines a second. ``feed`` works
on whole chunks (64 KiB reads) with C-level string operations and no per-line Python work in the
common case:

- an incremental UTF-8 decoder (invalid bytes become U+FFFD; a character split across two reads
  is kept whole);
- ``\\r\\n`` → ``\\n`` (a PTY turns every ``\\n`` into ``\\r\\n``), including a pair split across
  reads;
- a bare ``\\r`` rewrites the line (progress bars): only the text after the last ``\\r`` is kept;
- a line longer than ``line_cap`` characters is split, so memory is never unbounded;
- complete lines go into a ``deque(maxlen=…)``; the partial last line (a prompt like
  ``(Pdb) ``) is kept apart and shown too;
- the lines kept take at most ``max_bytes`` of memory (an emoji is 4 bytes in a ``str``): the
  oldest go first when long lines of wide characters would otherwise make 10,000 lines hundreds
  of megabytes. Sizes are counted per chunk, not per line (``len`` of an ASCII chunk,
  ``sys.getsizeof`` of another), in a deque of ``[lines, bytes]`` batches of ~64 KiB beside
  the lines (a read adds to the open batch: two additions); the count errs on the high side by
  at most a batch;
- when each line arrived (epoch milliseconds): 4 bytes a line, in an ``array('I')`` ring beside
  the lines, filled a read at a time (one slice assignment: every line a read completes arrived
  together). A line continued over several reads keeps the time of its first bytes (a prompt
  shows when it was printed, not when it was answered). A copy of the buffer (a client's) gets
  the same times with the same bytes (``time`` in the protocol's output frames, sync headers and
  runner lines), so both agree to the millisecond.
"""

from __future__ import annotations

import codecs
import itertools
import re
import sys
import time
from array import array
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING

from tuirunner.line_times import LineTimes

if TYPE_CHECKING:  # the protocol (msgspec, ~20 ms) is imported when a buffer is first exported:
    # the command line imports this module for its constants before it launches the keeper.
    from tuirunner.protocol import SyncHeader

DEFAULT_SCROLLBACK = 10_000
DEFAULT_LINE_CAP = 16_384
#: Memory the kept lines of one buffer may take: 10,000 lines of up to ~6,500 ASCII characters
#: (or ~1,600 emoji) each fit, so the default scrollback of ordinary output is never cut by it.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
#: A batch of the byte count (see the module docstring) closes at this size (or a 16th of
#: max_bytes): a flood read 4 KiB at a time closes one every 16 reads, not one each.
BATCH_BYTES = 64 * 1024
_STR_HEADER = sys.getsizeof("")  # what an ASCII str takes besides its characters
_WIDE_HEADER = sys.getsizeof("\U0001f600") - 4  # and any other str, at most

# CSI sequences, OSC sequences (BEL or ST terminated), and two-byte escapes.
ANSI_ESCAPE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI … final byte
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC … BEL / ST
    r"|\x1b[PX^_][^\x1b]*\x1b\\"  # DCS, SOS, PM, APC … ST
    r"|\x1b[ -/]*[0-~]"  # other escapes: ESC c (reset), ESC 7, ESC ( B …
    r"|\x1b"  # a lone ESC
)


# SGR ("select graphic rendition": colours, bold, …), the only sequence a child may send through.
SGR = re.compile(r"\x1b\[[0-9;:]*m")
# C0 controls but TAB, DEL and the C1 controls (0x9b is an 8-bit CSI), and the bidirectional
# overrides and isolates (U+202A-U+202E, U+2066-U+2069) that make text read differently from
# what it is. ESC is handled apart.
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1a\x1c-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# SGR parameters followed by sub-parameters that are colours, not attributes (38;5;8 is grey).
_EXTENDED_COLOUR = {key: {"5": 1, "2": 3} for key in ("38", "48", "58")}  # 38;5;N, 38;2;R;G;B
# What visible_controls() spells out: every control character (TAB, LF and ESC included), and
# the bidirectional overrides that make text read differently from what it is.
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SPELLED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def strip_ansi(text: str) -> str:
    """Remove terminal escape sequences."""
    return ANSI_ESCAPE.sub("", text) if "\x1b" in text else text


def _keep_sgr(match: re.Match[str]) -> str:
    sequence = match.group()
    if not SGR.fullmatch(sequence):
        return ""
    return _unconcealed(sequence) if "8" in sequence else sequence


def _unconcealed(sequence: str) -> str:
    """An SGR sequence without its "concealed" attribute (8), which would hide text from the
    reader that is still there to copy; colours such as ``38;5;8`` are kept."""
    params = sequence[2:-1].split(";")
    kept: list[str] = []
    i = 0
    while i < len(params):
        param = params[i]
        extra = _EXTENDED_COLOUR.get(param, {}).get(params[i + 1] if i + 1 < len(params) else "")
        if extra is not None:
            kept.extend(params[i : i + 2 + extra])
            i += 2 + extra
            continue
        if not (param.isdigit() and int(param) == 8):
            kept.append(param)
        i += 1
    return f"\x1b[{';'.join(kept)}m" if kept else ""


def sgr_only(text: str) -> str:
    """*text* with its colours (SGR sequences) and TABs, and no other escape sequence or control
    character: what a child's output may send to the user's terminal. Nothing left can retitle
    it, switch screens, move the cursor or make the terminal answer a query into the shell, hide
    text (concealed, ``ESC[8m``) or reorder it (bidirectional overrides)."""
    if "\x1b" in text:
        text = ANSI_ESCAPE.sub(_keep_sgr, text)
    return CONTROL.sub("", text) if CONTROL.search(text) else text


def strip_controls(text: str) -> str:
    """*text* with no escape sequence and no control character but TAB (nor bidirectional
    override)."""
    text = strip_ansi(text)
    return CONTROL.sub("", text) if CONTROL.search(text) else text


def visible_controls(text: str) -> str:
    """*text* with its control characters spelled out (``\\x1b``, ``\\x07``, ``\\n``, C1 and
    bidirectional controls too), to show data such as an env file's values in a terminal."""
    if not _INVISIBLE.search(text):
        return text
    return _INVISIBLE.sub(_spell, text)


def _spell(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SPELLED:
        return _SPELLED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def collapse_cr(line: str) -> str:
    """What a terminal shows of a line rewritten with ``\\r``: its last non-empty segment."""
    if "\r" not in line:
        return line
    for segment in reversed(line.split("\r")):
        if segment:
            return segment
    return ""


class OutputBuffer(LineTimes):
    """The last *maxlen* lines of a process's output, plus its unfinished last line."""

    def __init__(
        self,
        maxlen: int = DEFAULT_SCROLLBACK,
        line_cap: int = DEFAULT_LINE_CAP,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ):
        if maxlen < 1:
            raise ValueError("maxlen must be at least 1")
        self.lines: deque[str] = deque(maxlen=maxlen)
        self.max_bytes = max_bytes
        # What the kept lines take, by batch of lines added together: [lines, bytes] each;
        # the first batch may have lost some of its lines to maxlen already.
        self._batches: deque[list[int]] = deque()
        self._batch_lines = 0
        self._bytes = 0
        # The batch being filled (lines and bytes), closed once it holds _close_at bytes: a flood
        # of small reads costs two additions a read, and one deque operation per batch.
        self._open_lines = self._open_bytes = 0
        self._close_at = min(BATCH_BYTES, max(max_bytes // 16, 1))
        self.partial = ""
        self.total = 0  # complete lines ever added; absolute index of the partial line
        self.line_cap = line_cap
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending_cr = False
        # When each line arrived: see the module docstring (and time()).
        self._times = array("I")
        self._base: int | None = None  # epoch milliseconds the ring's values count from
        self.stamp = 0  # epoch milliseconds of the last read or line added
        self._partial_ms = 0  # when the partial line's first bytes came

    @property
    def bytes(self) -> int:
        """The memory the kept lines take, at least (as ``sys.getsizeof`` counts it)."""
        return self._bytes + self._open_bytes

    @property
    def first_index(self) -> int:
        """Absolute index of the oldest line still kept."""
        return self.total - len(self.lines)

    def __len__(self) -> int:
        """Lines available to show: the kept complete lines, plus the partial one if any."""
        return len(self.lines) + (1 if self.partial else 0)

    def feed(self, data: bytes, at: float | None = None) -> list[str]:
        """Add raw bytes that arrived *at* (epoch seconds; now if None); return the lines they
        completed (possibly none)."""
        ms = time.time_ns() // 1_000_000 if at is None else round(at * 1000)
        self.stamp = ms
        return self._add_text(self._decoder.decode(data), ms)

    def _add_text(self, text: str, ms: int) -> list[str]:
        continued = bool(self.partial)
        if self._pending_cr:
            text = "\r" + text
            self._pending_cr = False
        has_cr = "\r" in text
        if has_cr:
            if text.endswith("\r"):
                # Maybe the first half of a \r\n split across two reads: decide next time.
                text = text[:-1]
                self._pending_cr = True
            text = text.replace("\r\n", "\n")
            has_cr = "\r" in text  # only progress-bar style rewrites are left to collapse
        # What the lines completed here take at most: this text, the partial line before, and
        # a header per line (added below).
        ascii = text.isascii()
        size = len(text) if ascii else sys.getsizeof(text) - _STR_HEADER
        if self.partial:
            ascii = ascii and self.partial.isascii()
            size += sys.getsizeof(self.partial) - _STR_HEADER
        # No line here can be longer than this (most chunks are far under the cap).
        longest = len(text) + len(self.partial)
        parts = text.split("\n")
        if self.partial:
            has_cr = has_cr or "\r" in self.partial  # a rewritten line may end in this chunk
            parts[0] = self.partial + parts[0]
        self.partial = parts.pop()
        if has_cr:
            if parts:
                parts = [collapse_cr(p) if "\r" in p else p for p in parts]
            if "\r" in self.partial:
                # Keep a progress bar that never ends its line from growing without bound.
                head, _, tail = self.partial.rpartition("\r")
                self.partial = collapse_cr(head) + "\r" + tail if tail else collapse_cr(head)
        cap = self.line_cap
        if parts and longest > cap and max(map(len, parts)) > cap:
            parts = list(_split_long(parts, cap))
        if len(self.partial) > cap:
            whole = list(_split_long([self.partial], cap))
            self.partial = whole.pop()
            parts.extend(whole)
        if parts:
            n = len(parts)
            self.lines.extend(parts)
            self._open_lines += n
            self._open_bytes += size + (_STR_HEADER if ascii else _WIDE_HEADER) * n
            if self._open_bytes >= self._close_at:
                self._close_batch()
            self._stamp(self.total, n, ms)
            if continued and n <= (self.lines.maxlen or 1):
                self._restamp(self.total, self._partial_ms)
            self.total += n
            self._partial_ms = ms
        elif not continued:
            self._partial_ms = ms
        return parts

    def _keep(self, parts: list[str], ms: int | None) -> None:
        """Append *parts* (arrived at *ms*; None: the caller stamps them) to the kept lines
        (measured), and drop the oldest beyond ``maxlen`` or ``max_bytes``."""
        if ms is not None:
            self._stamp(self.total, len(parts), ms)
        self.lines.extend(parts)
        self._open_lines += len(parts)
        self._open_bytes += _sizes(parts)
        self._close_batch()

    def _close_batch(self) -> None:
        """Count the open batch, forget the batches whose lines the deque dropped (maxlen),
        and trim to ``max_bytes``."""
        lines, batches = self.lines, self._batches
        batches.append([self._open_lines, self._open_bytes])
        self._batch_lines += self._open_lines
        self._bytes += self._open_bytes
        self._open_lines = self._open_bytes = 0
        gone = self._batch_lines - len(lines)
        while gone and gone >= batches[0][0]:
            n, b = batches.popleft()
            gone -= n
            self._batch_lines -= n
            self._bytes -= b
        if self._bytes > self.max_bytes:
            self._trim(gone)

    def _trim(self, gone: int) -> None:
        """Drop the oldest lines until the kept ones fit in ``max_bytes`` (keeping one)."""
        lines, batches = self.lines, self._batches
        while self._bytes > self.max_bytes and len(batches) > 1:
            n, b = batches.popleft()
            for _ in range(n - gone):
                lines.popleft()
            gone = 0
            self._batch_lines -= n
            self._bytes -= b
        if self._bytes > self.max_bytes:  # one batch larger than the budget: line by line
            batch = batches[0]
            batch[0] -= gone
            self._batch_lines -= gone
            while self._bytes > self.max_bytes and len(lines) > 1:
                b = sys.getsizeof(lines.popleft())
                batch[0] -= 1
                batch[1] -= b
                self._batch_lines -= 1
                self._bytes -= b

    def finish(self) -> str | None:
        """End of output: the partial line becomes a complete line. Returns it, if any."""
        text = self._decoder.decode(b"", final=True)
        if text:
            self._add_text(text, self.stamp)
        self._pending_cr = False
        partial = collapse_cr(self.partial)
        self.partial = ""
        if not partial:
            return None
        self._keep([partial], self._partial_ms)
        self.total += 1
        return partial

    def append_line(self, line: str, at: float | None = None) -> None:
        """Add a line of the runner's own (e.g. a restart marker) that came *at* (epoch
        seconds; now if None), ending any partial line."""
        self.finish()
        ms = time.time_ns() // 1_000_000 if at is None else round(at * 1000)
        self.stamp = ms
        self._keep([line], ms)
        self.total += 1

    def line(self, index: int) -> str | None:
        """The line at absolute *index* (the partial line at ``total``), or None if gone."""
        if index == self.total:
            return collapse_cr(self.partial) if self.partial else None
        offset = index - self.first_index
        if 0 <= offset < len(self.lines):
            return self.lines[offset]
        return None

    def snapshot(self) -> list[str]:
        """All lines available to show, the partial one included."""
        lines = list(self.lines)
        if self.partial:
            lines.append(collapse_cr(self.partial))
        return lines

    def tail(self, n: int) -> list[str]:
        lines = self.snapshot()
        return lines[-n:] if n > 0 else []

    # --- mirroring: a client keeps a copy, fed with the same bytes ---------------------------

    def export(self, since: int = 0, limit: int | None = None) -> tuple[SyncHeader, list[str]]:
        """What a copy of this buffer whose ``total`` is *since* lacks (at most the last *limit*
        complete lines), with the state that makes the copy decode the next bytes the same way:
        ``(header, lines)`` for :meth:`apply_export`."""
        start = max(since, self.first_index)
        if limit is not None:
            start = max(start, self.total - limit)
        lines = list(itertools.islice(self.lines, start - self.first_index, None))
        buffered, flag = self._decoder.getstate()
        from tuirunner.protocol import SyncHeader

        header = SyncHeader(
            start=start,
            partial=self.partial,
            cr=self._pending_cr,
            decoder=(buffered.decode("latin-1"), flag),
            times=self._time_runs(start, len(lines)),
            time=self._partial_ms / 1000 if self.partial else None,
        )
        return header, lines

    def apply_export(self, header: SyncHeader, lines: list[str]) -> None:
        """Catch up with the buffer that :meth:`export` ed *header* and *lines*."""
        start = header.start
        if start != self.total:  # lines were lost in between: what we have no longer follows
            self.lines.clear()
            self._batches.clear()
            self._batch_lines = self._bytes = self._open_lines = self._open_bytes = 0
            self.total = start
            self._times = array("I")
        if lines:
            # Stamped by the runs below, unless they do not cover every line.
            covered = sum(count for count, _ in header.times) >= len(lines)
            self._keep(lines, None if covered else self.stamp)
            at = self.total
            for count, when in header.times:
                count = min(count, self.total + len(lines) - at)
                if count > 0:
                    self._stamp(at, count, round(when * 1000))
                at += count
        self.total += len(lines)
        self.partial = header.partial
        if header.time is not None:
            self._partial_ms = round(header.time * 1000)
        self._pending_cr = header.cr
        buffered, flag = header.decoder
        self._decoder.setstate((buffered.encode("latin-1"), flag))


def _sizes(parts: list[str]) -> int:
    """What ``sys.getsizeof`` says *parts* take together. A copy of a buffer brings 10,000
    lines at a time, which ``getsizeof`` would measure one call each (3 ms): ASCII lines, the
    usual, are measured at once (``getsizeof`` of an ASCII str is its header and its length)."""
    if len(parts) > 1:
        joined = "".join(parts)
        if joined.isascii():
            return len(joined) + _STR_HEADER * len(parts)
    return sum(map(sys.getsizeof, parts))


def _split_long(parts: list[str], cap: int) -> Iterator[str]:
    for p in parts:
        while len(p) > cap:
            yield p[:cap]
            p = p[cap:]
        yield p
