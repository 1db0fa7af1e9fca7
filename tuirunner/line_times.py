"""When each line of an output buffer arrived: the time part of
:class:`tuirunner.output.OutputBuffer` (see its module docstring).

Epoch milliseconds, 4 bytes a line, in an ``array('I')`` ring indexed by a line's absolute index
modulo the buffer's ``maxlen`` (lines the buffer dropped leave their slots to be reused), as
offsets from a base a day before the first line (a clock set back a little stays in range);
48 days on, the base moves.
"""

from __future__ import annotations

import bisect
import itertools
from array import array
from collections import deque

_BASE_MARGIN = 86_400_000
_TIME_SPAN = (1 << 32) - 1


class LineTimes:
    lines: deque[str]
    total: int
    partial: str
    _times: array
    _base: int | None
    _partial_ms: int
    first_index: int  # (OutputBuffer's property)

    def time(self, index: int) -> float | None:
        """When the line at absolute *index* arrived (epoch seconds, to the millisecond; the
        partial line at ``total``: when its first bytes did), or None if it is gone."""
        if index == self.total:
            return self._partial_ms / 1000 if self.partial else None
        if not self.first_index <= index < self.total or self._base is None:
            return None
        return (self._base + self._times[index % self.lines.maxlen]) / 1000

    def _offset(self, ms: int) -> int:
        """*ms* as a value of the ring."""
        base = self._base
        if base is None:
            base = self._base = ms - _BASE_MARGIN
        offset = ms - base
        if offset > _TIME_SPAN:  # 48 days on: move the base (the oldest times bottom out)
            shift = offset - _TIME_SPAN // 2
            self._times = array("I", (max(v - shift, 0) for v in self._times))
            self._base = base + shift
            offset -= shift
        return max(offset, 0)

    def _stamp(self, start: int, n: int, ms: int) -> None:
        """Lines *start* … *start + n - 1* arrived at *ms*. Called for every read the keeper
        makes (a 4 KiB read in a flood): the usual case, a ring grown to its size and no base
        to move, is a few operations."""
        cap = self.lines.maxlen or 1
        times = self._times
        pos = start % cap
        if n <= cap - pos and len(times) == cap and self._base is not None:
            offset = ms - self._base
            if 0 <= offset <= _TIME_SPAN:
                times[pos : pos + n] = array("I", (offset,)) * n
                return
        if n > cap:
            start, n = start + n - cap, cap
        value = array("I", (self._offset(ms),))  # (first: it may rebase the ring)
        times = self._times
        pos = start % cap
        need = min(pos + n, cap)
        if need > len(times):
            grow = min(cap, max(need, 2 * len(times), 64)) - len(times)
            times.frombytes(bytes(times.itemsize * grow))
        first = min(n, cap - pos)
        times[pos : pos + first] = value * first
        if n > first:
            times[0 : n - first] = value * (n - first)

    def _restamp(self, index: int, ms: int) -> None:
        """Line *index*, stamped already (with a later time), arrived at *ms*."""
        base = self._base
        offset = ms - base if base is not None else -1
        if 0 <= offset <= _TIME_SPAN:
            self._times[index % (self.lines.maxlen or 1)] = offset
        else:
            self._stamp(index, 1, ms)

    def _time_runs(self, start: int, n: int) -> list[tuple[int, float]]:
        """The times of lines *start* … *start + n - 1*, as runs of (how many, when)."""
        return [(count, ms / 1000) for count, ms in self.ms_runs(start, n)]

    def ms_runs(self, start: int | None = None, n: int | None = None) -> list[tuple[int, int]]:
        """When complete lines *start* … *start + n - 1* (default: all kept) arrived, as runs
        of (how many lines, epoch milliseconds), oldest first."""
        if start is None:
            start = self.first_index
        start = max(start, self.first_index)
        if n is None:
            n = self.total - start
        n = min(n, self.total - start)
        if n <= 0 or self._base is None:
            return []
        cap = self.lines.maxlen or 1
        pos = start % cap
        times = self._times
        values = times[pos : pos + n] if pos + n <= cap else times[pos:] + times[: pos + n - cap]
        base = self._base
        # A flood's runs are long and in order: each run's end is found by bisection and
        # checked (in C) to hold its value alone; a run out of order (a clock set back) is
        # walked. Many short runs (output a line at a time) are grouped in C.
        runs: list[tuple[int, int]] = []
        at = 0
        while at < n:
            value = values[at]
            end = bisect.bisect_right(values, value, at)
            if values[at:end] != array("I", (value,)) * (end - at):
                end = at + 1
                while end < n and values[end] == value:
                    end += 1
            if runs and runs[-1][1] == base + value:
                runs[-1] = (runs[-1][0] + end - at, base + value)
            else:
                runs.append((end - at, base + value))
            at = end
            if len(runs) * 8 > at + 64:  # short runs: the rest in one go
                for v, run in itertools.groupby(values[at:]):
                    count = len(list(run))
                    if runs[-1][1] == base + v:
                        runs[-1] = (runs[-1][0] + count, base + v)
                    else:
                        runs.append((count, base + v))
                break
        return runs
