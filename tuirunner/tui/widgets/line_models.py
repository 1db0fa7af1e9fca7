"""What an output view shows, as the buffer interface it reads (``first_index``, ``total``,
``partial``, ``line(i)``, ``snapshot()``, ``len``): so that painting, search, selection, copy
and saving work the same on a pane with a time column and on the merged view.

- :class:`TimedLines`: a process's buffer with the time each line came before it
  (``HH:MM:SS.mmm``, local time), put in place of the buffer only while ``t`` shows times;
- :class:`MergedLines`: every process's lines in the order they came, each after its coloured
  ``name |`` prefix as plain mode prints it, and the runner's own lines (started, crashed…)
  as ``system``. It copies no output: it is a list of runs ``(ms, process, first line, count)``
  over the processes' own buffers (:mod:`tuirunner.merge`), caught up when they change.

Lines are strings with SGR colour sequences, as a child's own are: the view's usual decoding
colours them, and search and copy see the plain text (prefix included).
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterator, Sequence
from itertools import accumulate, islice, repeat

from rich.text import Text

from tuirunner.merge import Run, clock_time, runs_of
from tuirunner.output import OutputBuffer
from tuirunner.printer import COLOURS, SYSTEM
from tuirunner.tracebacks import quiet_until, remember_quiet
from tuirunner.tui.widgets.output_lines import line_to_text

_DIM, _UNDIM = "\x1b[2m", "\x1b[22m"
TIME_WIDTH = len(_DIM) + 12 + len(_UNDIM) + 1  # a time prefix's length, in characters


def time_prefix(when: float | None) -> str:
    if when is None:
        return " " * 13  # as wide as a time and its space
    return f"{_DIM}{clock_time(when)}{_UNDIM} "


def styled_time(raw: str) -> tuple[Text, str]:
    """A line after time_prefix() as (the time, styled; the rest), without ANSI decoding (a
    screenful of Rich's decoder is tens of milliseconds)."""
    if not raw.startswith(_DIM):  # no time
        return Text(raw[:13]), raw[13:]
    text = Text()  # (not Text(style=): that would dim the whole line)
    text.append(raw[len(_DIM) : len(_DIM) + 12], style="dim")
    text.append(" ")
    return text, raw[TIME_WIDTH:]


class TimedLines:
    """*buffer*'s lines, each after the time it came."""

    def __init__(self, buffer: OutputBuffer) -> None:
        self.buffer = buffer

    @property
    def first_index(self) -> int:
        return self.buffer.first_index

    @property
    def total(self) -> int:
        return self.buffer.total

    @property
    def partial(self) -> str:
        return self.buffer.partial

    def __len__(self) -> int:
        return len(self.buffer)

    def line(self, index: int) -> str | None:
        raw = self.buffer.line(index)
        return None if raw is None else time_prefix(self.buffer.time(index)) + raw

    def printed(self, index: int) -> str | None:
        """Line *index* as its process printed it (no time)."""
        return self.buffer.line(index)

    def styled(self, raw: str) -> Text:
        """A line of ours as the view shows it (see output_rows.py)."""
        text, rest = styled_time(raw)
        text.append_text(line_to_text(rest))
        return text

    def snapshot(self) -> list[str]:
        buffer = self.buffer
        end = buffer.total + (1 if buffer.partial else 0)
        return [self.line(i) or "" for i in range(buffer.first_index, end)]

    def __getattr__(self, name: str):  # anything else is the buffer's
        return getattr(self.buffer, name)


class _Rows:
    """A merged model's rows, read like a deque of lines (mostly from the end)."""

    def __init__(self, model: MergedLines) -> None:
        self.model = model

    def __len__(self) -> int:
        return len(self.model)

    def __reversed__(self) -> Iterator[str]:
        model = self.model
        for index in range(model.total - 1, model.first_index - 1, -1):
            yield model.line(index) or ""

    def __iter__(self) -> Iterator[str]:
        model = self.model
        for index in range(model.first_index, model.total):
            yield model.line(index) or ""


class _SourceRows:
    """A merged model's rows as their processes printed them (no ``name |`` prefix, no time):
    what the traceback scanner reads. Read from the end a run at a time, straight from each
    buffer's deque (a scan of a flood's rows costs no Python work per row)."""

    def __init__(self, model: MergedLines) -> None:
        self.model = model

    @property
    def total(self) -> int:
        return self.model.total

    @property
    def first_index(self) -> int:
        return self.model.first_index

    @property
    def lines(self) -> _SourceRows:
        return self

    def __len__(self) -> int:
        return len(self.model)

    def _spans(self, start: int, end: int) -> Iterator[tuple[OutputBuffer, int, int]]:
        """Rows *start* to *end* (absolute) as spans of their buffers' lines, in row order:
        ``(buffer, its first line, its end line)``."""
        model = self.model
        first, ends, runs = model.first_index, model._ends, model._runs
        start = max(start, first)
        k = bisect.bisect_right(ends, start - first)
        while k < len(runs):
            row = (ends[k - 1] if k else 0) + first  # the run's first row
            if row >= end:
                return
            _, source, line, count = runs[k]
            yield model.buffers[source], line + max(0, start - row), line + min(count, end - row)
            k += 1

    def quiet_until(self, start: int, end: int) -> int:
        """The first of rows *start* to *end* (absolute) not known to be a line its buffer's
        scanners found no trigger in (tracebacks.py), *end* if none: a flood's rows are not
        searched twice."""
        at = max(start, self.model.first_index)
        for buffer, lo, hi in self._spans(start, end):
            reached = quiet_until(buffer, lo, hi)
            at += reached - lo
            if reached < hi:
                return at
        return min(at, end)

    def remember_quiet(self, start: int, end: int) -> None:
        """Rows *start* to *end* hold no trigger: so do their lines, for their buffers' own
        scanners."""
        for buffer, lo, hi in self._spans(start, end):
            remember_quiet(buffer, lo, hi)

    def __reversed__(self) -> Iterator[str]:
        model = self.model
        for _, source, start, count in reversed(model._runs):
            buffer = model.buffers[source]
            end = start + count
            kept = max(0, end - max(start, buffer.first_index))  # the run's lines still there
            if kept:
                after = buffer.total - end  # the buffer's lines after the run
                yield from islice(reversed(buffer.lines), after, after + kept)
            if kept < count:
                yield from repeat("", count - kept)  # dropped, not yet forgotten here


class MergedLines:
    """Every source's complete lines, merged in arrival order (see the module docstring).

    *names* and *buffers* are the processes' (Procfile order), then the runner's own
    (``system``, last). ``hidden`` holds the indexes of the sources not shown."""

    partial = ""  # unfinished lines (a prompt) show in their pane, not here

    def __init__(self, names: Sequence[str], buffers: Sequence[OutputBuffer]) -> None:
        self.names = list(names)
        self.buffers = list(buffers)
        width = max(len(SYSTEM), *map(len, self.names))
        system = len(self.names) - 1
        colours = ["1" if i == system else COLOURS[i % len(COLOURS)] for i in range(system + 1)]
        self._prefixes = [
            f"\x1b[{colour}m{name:<{width}} | \x1b[0m"
            for colour, name in zip(colours, self.names, strict=True)
        ]
        # The same, styled once (a view styles a row without decoding its prefix: styled()).
        self._styled = {prefix: line_to_text(prefix) for prefix in self._prefixes}
        self.hidden: set[int] = set()
        self.show_time = False
        self.version = 0  # bumped when rows already shown changed place (caches are stale)
        self.first_index = 0
        self._runs: list[Run] = []
        self._ends: list[int] = []  # rows up to and including each run
        self._known: dict[int, int] = {}  # next line to take from each shown source
        self._firsts: dict[int, int] = {}  # each shown source's first line when last looked
        self.rebuild()

    # --- the buffer interface --------------------------------------------------------------

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    @property
    def total(self) -> int:
        return self.first_index + len(self)

    def locate(self, index: int) -> tuple[int, int, int] | None:
        """``(source, its line index, ms)`` of row *index* (absolute), or None."""
        offset = index - self.first_index
        if not 0 <= offset < len(self):
            return None
        k = bisect.bisect_right(self._ends, offset)
        ms, source, start, count = self._runs[k]
        return source, start + offset - (self._ends[k] - count), ms

    def line(self, index: int) -> str | None:
        found = self.locate(index)
        if found is None:
            return None
        source, at, ms = found
        raw = self.buffers[source].line(at)
        if raw is None:
            return None
        head = self._prefixes[source]
        return (time_prefix(ms / 1000) + head if self.show_time else head) + raw

    def printed(self, index: int) -> str | None:
        """Row *index* as its process printed it (no prefix, no time)."""
        found = self.locate(index)
        return None if found is None else self.buffers[found[0]].line(found[1])

    @property
    def source_rows(self) -> _SourceRows:
        """The rows without their prefixes, for the traceback scanner."""
        return _SourceRows(self)

    @property
    def lines(self) -> _Rows:
        """The rows as a buffer's ``lines``: what filters, wrap and traceback marks read
        (from the end, as they read a buffer's deque)."""
        return _Rows(self)

    def snapshot(self) -> list[str]:
        out = []
        for ms, source, start, count in self._runs:
            buffer = self.buffers[source]
            head = self._prefixes[source]
            if self.show_time:
                head = time_prefix(ms / 1000) + head
            for i in range(start, start + count):
                raw = buffer.line(i)  # (None: dropped, not yet forgotten here)
                out.append("" if raw is None else head + raw)  # one entry a row, as search needs
        return out

    def styled(self, raw: str) -> Text:
        """A row as the view shows it: its prefixes styled once, the child's line decoded."""
        if self.show_time:
            text, raw = styled_time(raw)
        else:
            text = Text()
        head, sep, rest = raw.partition("\x1b[0m")
        prefix = self._styled.get(head + sep)
        if prefix is None:
            text.append_text(line_to_text(raw))
        else:
            text.append_text(prefix)
            text.append_text(line_to_text(rest))
        return text

    def source_name(self, index: int) -> str | None:
        """The process row *index* (absolute) is a line of."""
        found = self.locate(index)
        return None if found is None else self.names[found[0]]

    # --- keeping up with the buffers --------------------------------------------------------

    def rebuild(self) -> None:
        """Merge the shown sources from scratch (rows start at 0 again)."""
        shown = [i for i in range(len(self.buffers)) if i not in self.hidden]
        self._runs = list(heapq.merge(*(self._runs_of(i) for i in shown)))
        self._ends = list(accumulate(run[3] for run in self._runs))
        self._known = {i: self.buffers[i].total for i in shown}
        self._firsts = {i: self.buffers[i].first_index for i in shown}
        self.first_index = 0
        self.version += 1

    def catch_up(self) -> bool:
        """Take the lines the shown buffers got since last time, and forget the ones they
        dropped. Returns whether anything changed."""
        new: list[Run] = []
        buffers = self.buffers
        for i, known in self._known.items():
            total = buffers[i].total
            if total != known:
                new.extend(self._runs_of(i, known))
                self._known[i] = total
        if new:
            new.sort()
            for run in new:
                self._add(run)
        if any(buffers[i].first_index != first for i, first in self._firsts.items()):
            self._compact()
            return True
        return bool(new)

    def _runs_of(self, source: int, start: int | None = None) -> list[Run]:
        """*source*'s lines from *start* as runs; the runner's own without the lines about a
        hidden process (``web.1 started …``)."""
        buffer = self.buffers[source]
        if source != len(self.buffers) - 1 or not self.hidden:
            return runs_of(source, buffer, start)
        about = tuple(f"{self.names[i]} " for i in self.hidden)
        runs: list[Run] = []
        first = buffer.first_index if start is None else max(start, buffer.first_index)
        for i in range(first, buffer.total):
            line, when = buffer.line(i), buffer.time(i)
            if line is None or when is None or line.startswith(about):
                continue
            runs.append((round(when * 1000), source, i, 1))
        return runs

    def _add(self, run: Run) -> None:
        runs, ends = self._runs, self._ends
        if not runs or run >= runs[-1]:
            last = runs[-1] if runs else None
            if last and last[:2] == run[:2] and last[2] + last[3] == run[2]:
                runs[-1] = (last[0], last[1], last[2], last[3] + run[3])
                ends[-1] += run[3]
            else:
                runs.append(run)
                ends.append((ends[-1] if ends else 0) + run[3])
            return
        # Came after a line of another process from the same millisecond or later: in place.
        pos = bisect.bisect(runs, run)
        runs.insert(pos, run)
        before = ends[pos - 1] if pos else 0
        ends[pos:] = list(accumulate((r[3] for r in runs[pos:]), initial=before))[1:]
        self.version += 1

    def _compact(self) -> None:
        """Forget the rows of lines their buffers dropped."""
        buffers = self.buffers
        firsts = {i: buffers[i].first_index for i in self._firsts}
        kept: list[Run] = []
        removed = 0
        inside = False  # a row went from between rows that stay: rows changed places
        for run in self._runs:
            ms, source, start, count = run
            first = firsts[source]
            if start + count <= first:
                removed += count
                inside = inside or bool(kept)
                continue
            if start < first:
                removed += first - start
                inside = inside or bool(kept)
                run = (ms, source, first, start + count - first)
            kept.append(run)
        self._runs = kept
        self._ends = list(accumulate(run[3] for run in kept))
        self._firsts = firsts
        self.first_index += removed
        if inside:
            self.version += 1

    def set_hidden(self, hidden: set[int]) -> None:
        """Show only the sources not in *hidden*: the runs of the others are dropped, those of
        the ones shown again merged in (the runner's own lines are redone: they follow the
        processes shown); rows start at 0 again."""
        self.catch_up()
        hidden = set(hidden)
        system = len(self.buffers) - 1
        gone = hidden - self.hidden
        back = self.hidden - hidden
        self.hidden = hidden
        kept = [run for run in self._runs if run[1] not in gone and run[1] != system]
        for i in gone:
            self._known.pop(i, None)
            self._firsts.pop(i, None)
        extra = []
        for i in [*back, system]:
            if i in hidden:
                continue
            extra.append(self._runs_of(i))
            self._known[i] = self.buffers[i].total
            self._firsts[i] = self.buffers[i].first_index
        self._runs = list(heapq.merge(kept, *extra))
        self._ends = list(accumulate(run[3] for run in self._runs))
        self.first_index = 0
        self.version += 1
