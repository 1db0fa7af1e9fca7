"""Every process's lines in one stream, in the order they arrived (no Textual here).

The order is the same wherever it is worked out (``tuirunner logs``, the TUI's merged view,
attached or re-attached): by the time each line arrived (milliseconds, as the keeper recorded
it: see :mod:`tuirunner.output`), then by process (Procfile order), then by line. Nothing is
copied: a merge is a list of runs, ``(ms, process, first line, how many)``, over the buffers.
"""

from __future__ import annotations

import heapq
import re
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from datetime import time as dt_time

from tuirunner.errors import UserError
from tuirunner.output import OutputBuffer

Run = tuple[int, int, int, int]  # (epoch ms, process index, first absolute line index, count)


def runs_of(index: int, buffer: OutputBuffer, start: int | None = None) -> list[Run]:
    """The complete lines of *buffer* (from absolute line *start*) as runs of one time."""
    out: list[Run] = []
    at = buffer.first_index if start is None else max(start, buffer.first_index)
    for count, ms in buffer.ms_runs(at):
        out.append((ms, index, at, count))
        at += count
    return out


def merged_runs(buffers: Sequence[OutputBuffer]) -> list[Run]:
    """Every buffer's complete lines, merged in arrival order."""
    return list(heapq.merge(*(runs_of(i, b) for i, b in enumerate(buffers))))


def merged_lines(
    buffers: Sequence[OutputBuffer], since: float | None = None
) -> Iterator[tuple[int, float, list[str]]]:
    """``(process index, time, lines)`` groups in arrival order, from *since* (epoch s)."""
    floor = None if since is None else round(since * 1000)
    for ms, index, start, count in merged_runs(buffers):
        if floor is not None and ms < floor:
            continue
        buffer = buffers[index]
        lines = [buffer.line(i) for i in range(start, start + count)]
        yield index, ms / 1000, [line for line in lines if line is not None]


_AGO = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(text: str, now: float | None = None) -> float:
    """``5m``, ``90s``, ``2h``, ``1d`` ago; ``14:02`` or ``14:02:30`` (the last such time,
    today or yesterday); ``2026-12-04T14:02:00`` (local time, or with an offset): epoch
    seconds."""
    now = time.time() if now is None else now
    value = text.strip()
    ago = _AGO.fullmatch(value)
    if ago:
        return now - float(ago.group(1)) * _UNITS[ago.group(2)]
    if re.fullmatch(r"\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?", value):
        hour, minute, *rest = value.split(":")
        seconds = float(rest[0]) if rest else 0.0
        try:
            of_day = dt_time(int(hour), int(minute), int(seconds), int(seconds % 1 * 1e6))
        except ValueError:
            raise UserError(f"--since {text!r}: no such time of day") from None
        moment = datetime.combine(datetime.fromtimestamp(now).date(), of_day)
        if moment.timestamp() > now:
            moment -= timedelta(days=1)
        return moment.timestamp()
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        raise UserError(
            f"--since {text!r}: not a time; use 5m, 30s, 2h or 1d (ago), 14:02 (today), "
            "or 2026-12-04T14:02:00"
        ) from None


def iso_time(when: float) -> str:
    """ISO 8601, local time with its offset, to the millisecond."""
    return datetime.fromtimestamp(when).astimezone().isoformat(timespec="milliseconds")


def clock_time(when: float) -> str:
    """``HH:MM:SS.mmm``, local time (the TUI's time column)."""
    seconds, ms = divmod(round(when * 1000), 1000)
    return time.strftime("%H:%M:%S", time.localtime(seconds)) + f".{ms:03d}"
