"""Python tracebacks in a process's output, found as blocks of lines (no UI here).

A block starts at ``Traceback (most recent call last):`` (or at Django's ``Internal Server
Error: /path`` logged just before it), takes the indented frame and code lines that follow, and
ends at the exception line (``ValueError: boom``). Chained exceptions (``During handling of the
above exception…``, ``The above exception was the direct cause…``) stay in the same block.

:class:`TracebackScanner` reads a buffer incrementally: :meth:`~TracebackScanner.catch_up` looks
only at the lines it has not seen, and a batch with no ``Traceback`` in it costs one substring
search. It also notices when the process reloaded (Django's autoreloader) after an error.
"""

from __future__ import annotations

import itertools
import os
import re
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from tuirunner.output import OutputBuffer, strip_controls

START = "Traceback (most recent call last):"
DJANGO_ERROR = re.compile(r"^(Internal Server Error|Bad Request|Service Unavailable): ")
FRAME = re.compile(r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+)')
CHAINED = (
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
)
#: Lines a process prints when it (re)starts serving: an error before them is over.
RELOADED = (
    "Watching for file changes with",
    "Performing system checks...",
)
#: What a process waiting at a prompt leaves as its unfinished last line.
PROMPT = re.compile(
    r"(\(Pdb\)|\(Pdb\+\+\)|ipdb>|>>>|\(y/n\)|\[y/N\]|\[Y/n\]|\[yes/no\]"
    r"|\? \[[^\]]*\]|[Pp]assword:)\s*$"
)
_TRIGGERS = (START, "Internal Server Error", *RELOADED)
MAX_BLOCK = 2000  # lines: a block never grows beyond this (a broken stream is not one block)


@dataclass
class Frame:
    index: int  # absolute line index of the ``File "…", line N`` line
    path: str
    line: int


@dataclass
class Block:
    """A traceback: lines *start* to *end* (absolute indices, both included)."""

    start: int
    end: int
    frames: list[Frame] = field(default_factory=list)
    exception: str = ""  # its last line: ``ValueError: boom``

    def contains(self, index: int) -> bool:
        return self.start <= index <= self.end

    def frame_at(self, index: int) -> Frame | None:
        """The frame of line *index*: its ``File`` line or the code line under it."""
        for frame in reversed(self.frames):
            if frame.index <= index <= frame.index + 1:
                return frame
        return None

    def project_frame(self, app_root: str) -> Frame | None:
        """The last frame in the project's own code (under *app_root*, not in an installed
        package), else the last frame."""
        for frame in reversed(self.frames):
            if is_project_file(frame.path, app_root):
                return frame
        return self.frames[-1] if self.frames else None


def is_project_file(path: str, app_root: str) -> bool:
    if path.startswith("<") or any(
        part in ("site-packages", "dist-packages") for part in path.split(os.sep)
    ):
        return False
    root = os.path.abspath(app_root)
    full = os.path.abspath(os.path.join(root, path))
    return full == root or full.startswith(root + os.sep)


def frame_in_line(text: str) -> tuple[str, int] | None:
    """(path, line) of a ``File "path", line N`` line."""
    match = FRAME.match(text)
    return (match.group("path"), int(match.group("line"))) if match else None


class Lines(Protocol):
    total: int
    first_index: int
    lines: Sequence[str]


class TracebackScanner:
    """The traceback blocks of one output buffer, found as its lines come."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.scanned = 0  # absolute index of the next line to look at
        self.errors = 0  # blocks found so far (never decreases, unlike len(blocks))
        self.reloaded_at = -1  # absolute index of the last "reloaded" line seen
        self._open: Block | None = None  # the block being read
        self._state = ""  # in the open block: "frames", "after" (its exception line seen)
        self._header: int | None = None  # index of a Django error line just before

    def catch_up(self, buffer: Lines) -> list[Block]:
        """Look at the complete lines added to *buffer* since last time; the blocks found."""
        total = buffer.total
        if total <= self.scanned:
            return []
        first = buffer.first_index
        start = max(self.scanned, first)
        quiet = self._open is None and self._header is None
        if quiet:  # what another scanner read already need not be searched again
            start = quiet_until(buffer, start, total)
            if start >= total:
                self.scanned = total
                self.forget_before(first)
                return []
        if start == first and isinstance(buffer, OutputBuffer):
            lines = list(buffer.lines)
        else:
            # The last complete lines, read from the end of the deque (an islice from the start
            # would walk the whole scrollback).
            lines = list(itertools.islice(reversed(buffer.lines), total - start))[::-1]
        if quiet and not _triggered(lines):
            self.scanned = total
            remember_quiet(buffer, start, total)
            found = []
        else:
            found = self._feed(lines, start)
        self.forget_before(first)
        return found

    def feed(self, lines: Iterable[str], start: int) -> list[Block]:
        """Scan *lines*, the first of which is absolute line *start*."""
        lines = list(lines)
        if self._open is None and self._header is None and not _triggered(lines):
            self.scanned = start + len(lines)
            return []
        return self._feed(lines, start)

    def _feed(self, lines: list[str], start: int) -> list[Block]:
        self.scanned = start + len(lines)
        found: list[Block] = []
        for offset, raw in enumerate(lines):
            block = self._line(start + offset, strip_controls(raw))
            if block is not None:
                found.append(block)
        return found

    def _line(self, index: int, text: str) -> Block | None:
        block = self._open
        if block is not None:
            if self._extend(block, index, text):
                return None
            self._open = None
        if text.startswith(START) or text.rstrip().endswith(START):
            start = index if self._header != index - 1 else index - 1
            self._header = None
            self._open = Block(start, index)
            self._state = "frames"
            self.blocks.append(self._open)
            self.errors += 1
            return self._open
        self._header = index if DJANGO_ERROR.match(text) else None
        if any(text.startswith(marker) for marker in RELOADED):
            self.reloaded_at = index
        return None

    def _extend(self, block: Block, index: int, text: str) -> bool:
        """Whether line *index* belongs to the open block (it is then added to it)."""
        if index - block.start > MAX_BLOCK:
            return False
        stripped = text.strip()
        if self._state == "frames":
            if text[:1].isspace() or not stripped:
                frame = frame_in_line(text)
                if frame is not None:
                    block.frames.append(Frame(index, *frame))
                block.end = index
                return True
            block.end = index  # the exception line
            block.exception = stripped
            self._state = "after"
            return True
        # After the exception line: a chained traceback continues the block.
        if not stripped:
            return True  # maybe a blank before "During handling…"; not added yet
        if stripped in CHAINED or stripped == START:
            block.end = index
            self._state = "frames" if stripped == START else "chained"
            return True
        if self._state == "chained" and stripped.startswith(START):
            block.end = index
            self._state = "frames"
            return True
        return False

    def forget_before(self, first: int) -> None:
        """Lines before *first* are gone from the buffer: so are the blocks that start there."""
        if self.blocks and self.blocks[0].start < first:
            self.blocks = [b for b in self.blocks if b.start >= first]

    def block_at(self, index: int) -> Block | None:
        for block in reversed(self.blocks):
            if block.contains(index):
                return block
            if block.end < index:
                break
        return None

    def next_block(self, index: int, step: int) -> Block | None:
        """The first block starting after line *index* (*step* 1), or before it (-1)."""
        if step > 0:
            return next((b for b in self.blocks if b.start > index), None)
        return next((b for b in reversed(self.blocks) if b.start < index), None)

    @property
    def error_since_reload(self) -> bool:
        """Whether the last block came after the last reload line."""
        return bool(self.blocks) and self.blocks[-1].start > self.reloaded_at


def _triggered(lines: list[str]) -> bool:
    """Whether *lines* may start a block or say the process reloaded (one C search each)."""
    joined = "\n".join(lines)
    return any(trigger in joined for trigger in _TRIGGERS)


# Spans of lines of an output buffer known to hold no trigger: a buffer is read by two scanners
# (the app's, for its attention marks, and its pane's, for the marks it paints), and a flood's
# copy of 10,000 lines need not be searched twice. A buffer's line at an absolute index never
# changes, so a span stays true. Only buffers themselves (a merged view's rows are renumbered).
_quiet: weakref.WeakKeyDictionary[OutputBuffer, tuple[int, int]] = weakref.WeakKeyDictionary()


def quiet_until(buffer: Lines, start: int, end: int) -> int:
    """The first of lines *start* to *end* of *buffer* not known to hold no trigger (*end*:
    all known). A view of other buffers' lines answers for them (``buffer.quiet_until``)."""
    if not isinstance(buffer, OutputBuffer):
        ask = getattr(buffer, "quiet_until", None)
        return start if ask is None else ask(start, end)
    span = _quiet.get(buffer)
    if span is None or not span[0] <= start:
        return start
    return max(start, min(end, span[1]))


def remember_quiet(buffer: Lines, start: int, end: int) -> None:
    """Lines *start* to *end* of *buffer* hold no trigger (a view of other buffers' lines tells
    them: ``buffer.remember_quiet``)."""
    if not isinstance(buffer, OutputBuffer):
        tell = getattr(buffer, "remember_quiet", None)
        if tell is not None:
            tell(start, end)
        return
    span = _quiet.get(buffer)
    if span is not None and span[0] <= start <= span[1]:
        start = span[0]
    _quiet[buffer] = (start, end)


def at_prompt(partial: str) -> bool:
    """Whether an unfinished last line looks like a prompt waiting for the user."""
    text = strip_controls(partial).rstrip("\r\n")
    return bool(text.strip()) and PROMPT.search(text) is not None and len(text) < 200
