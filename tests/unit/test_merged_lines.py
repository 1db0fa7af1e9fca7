"""The merged view's model: arrival order over the processes' own buffers, kept up to date as
they grow and drop lines (no Textual app needed)."""

from __future__ import annotations

from tuirunner.merge import merged_lines, parse_since
from tuirunner.output import OutputBuffer, strip_ansi
from tuirunner.tracebacks import TracebackScanner, quiet_until
from tuirunner.tui.widgets.line_models import MergedLines

T0 = 1_780_000_000.0


def model(*buffers: OutputBuffer) -> MergedLines:
    names = [f"p{i}" for i in range(len(buffers))] + ["system"]
    return MergedLines(names, [*buffers, OutputBuffer(10)])


def plain(m: MergedLines) -> list[str]:
    return [strip_ansi(line) for line in m.snapshot()]


def test_lines_are_merged_by_arrival_then_kept_up_to_date():
    a, b = OutputBuffer(100), OutputBuffer(100)
    a.feed(b"a1\r\n", T0 + 1)
    b.feed(b"b1\r\n", T0 + 2)
    a.feed(b"a2\r\n", T0 + 3)
    m = model(a, b)
    assert plain(m) == ["p0     | a1", "p1     | b1", "p0     | a2"]
    b.feed(b"b2\r\nb3\r\n", T0 + 4)
    assert m.catch_up()
    assert plain(m)[-2:] == ["p1     | b2", "p1     | b3"]
    assert [m.source_name(i) for i in range(m.first_index, m.total)] == [
        "p0",
        "p1",
        "p0",
        "p1",
        "p1",
    ]
    version = m.version
    # A line that came earlier but arrived later (same ms, lower process) goes in its place.
    a.feed(b"a3\r\n", T0 + 4)
    m.catch_up()
    assert plain(m)[-3:] == ["p0     | a3", "p1     | b2", "p1     | b3"]
    assert m.version != version  # rows moved: the view renders again
    assert plain(m) == [strip_ansi(m.line(i)) for i in range(m.first_index, m.total)]


def interleaved(a_keeps: int) -> tuple[OutputBuffer, OutputBuffer]:
    """Buffers a (keeping *a_keeps* lines) and b, each fed three lines, in turns: a0 b0 a1 …"""
    a, b = OutputBuffer(a_keeps), OutputBuffer(100)
    for i in range(3):
        a.feed(b"a%d\r\n" % i, T0 + i)
        b.feed(b"b%d\r\n" % i, T0 + i + 0.5)
    return a, b


def test_lines_a_buffer_dropped_leave_the_merge():
    a, b = interleaved(3)
    m = model(a, b)
    assert len(m) == 6
    a.feed(b"a3\r\na4\r\n", T0 + 10)  # a drops a0 and a1
    m.catch_up()
    assert plain(m) == [
        "p1     | b0",
        "p1     | b1",
        "p0     | a2",
        "p1     | b2",
        "p0     | a3",
        "p0     | a4",
    ]
    assert m.total - m.first_index == 6


def test_hidden_processes_and_times():
    a, b = OutputBuffer(10), OutputBuffer(10)
    a.feed(b"a\r\n", T0)
    b.feed(b"b\r\n", T0 + 1)
    m = model(a, b)
    m.set_hidden({0})
    assert plain(m) == ["p1     | b"]
    m.set_hidden(set())
    m.show_time = True
    assert plain(m)[0].endswith(" p0     | a") and plain(m)[0][2] == ":"


def test_logs_order_is_the_same_merge():
    a, b = OutputBuffer(10), OutputBuffer(10)
    a.feed(b"a1\r\na2\r\n", T0)
    b.feed(b"b1\r\n", T0)  # same millisecond: Procfile order
    a.feed(b"a3\r\n", T0 + 1)
    got = [(i, lines) for i, _, lines in merged_lines([a, b])]
    assert got == [(0, ["a1", "a2"]), (1, ["b1"]), (0, ["a3"])]
    assert [lines for _, _, lines in merged_lines([a, b], since=T0 + 0.5)] == [["a3"]]


def test_since():
    now = T0
    assert parse_since("5m", now) == now - 300
    assert parse_since("90s", now) == now - 90
    assert parse_since("2h", now) == now - 7200
    assert parse_since("2026-12-04T14:02:00+00:00") == 1_796_392_920.0
    at = parse_since("00:00", now)
    assert now - 86400 < at <= now


def test_hiding_and_showing_again_is_the_same_as_merging_from_scratch():
    buffers = [OutputBuffer(50) for _ in range(3)]
    for t in range(30):
        buffers[t % 3].feed(b"line %d\r\n" % t, T0 + t * 0.01 + (t % 2) * 0.005)
    m = model(*buffers)
    m.buffers[-1].append_line("p1 started (pid 7)", T0)
    m.buffers[-1].append_line("p0 started (pid 8)", T0 + 0.001)
    m.rebuild()
    everything = plain(m)
    m.set_hidden({1})
    assert not any(line.startswith("p1 ") or "p1 started" in line for line in plain(m))
    fresh = model(*buffers[:3])
    fresh.buffers[-1] = m.buffers[-1]
    fresh.hidden = {1}
    fresh.rebuild()
    assert plain(m) == plain(fresh)
    m.set_hidden({0, 2})
    m.set_hidden(set())
    assert plain(m) == everything


def test_the_rows_as_printed_are_the_rows_without_their_prefix():
    """What the traceback scanner reads: each row's own line, read from the end; a line its
    buffer dropped (not yet forgotten by the merge) is an empty row."""
    a, b = OutputBuffer(3), OutputBuffer(100)
    for i in range(3):
        a.feed(b"a%d\r\n" % i, T0 + i)
        b.feed(b"b%d\r\nb%d+\r\n" % (i, i), T0 + i + 0.5)
    m = model(a, b)
    rows = m.source_rows
    assert (rows.first_index, rows.total) == (m.first_index, m.total)
    assert list(reversed(rows.lines))[::-1] == [line.split("| ", 1)[1] for line in plain(m)]
    a.feed(b"a3\r\n", T0 + 10)  # a drops a0; the merge has not caught up yet
    assert list(reversed(rows.lines))[::-1][:3] == ["", "b0", "b0+"]
    m.catch_up()
    assert list(reversed(rows.lines))[::-1] == [line.split("| ", 1)[1] for line in plain(m)]
    assert next(reversed(rows.lines)) == "a3"


def test_rows_its_buffers_scanners_found_quiet_are_not_searched_again():
    """The merged view's traceback scanner skips the rows whose lines the app's scanners (one a
    buffer) already searched, and searches the rest: a traceback there is still found."""
    a, b = OutputBuffer(100), OutputBuffer(100)
    for i in range(4):
        a.feed(b"a%d\r\n" % i, T0 + i)
        b.feed(b"b%d\r\n" % i, T0 + i + 0.5)
    m = model(a, b)  # rows: a0 b0 a1 b1 a2 b2 a3 b3
    rows = m.source_rows
    assert rows.quiet_until(0, 8) == 0  # nobody searched anything yet
    TracebackScanner().catch_up(a)  # a0..a3 searched: no trigger
    assert rows.quiet_until(0, 8) == 1  # b0 was not
    TracebackScanner().catch_up(b)
    assert rows.quiet_until(0, 8) == 8
    assert rows.quiet_until(3, 6) == 6
    b.feed(b"Traceback (most recent call last):\r\n", T0 + 10)
    a.feed(b"a4\r\n", T0 + 11)
    m.catch_up()  # ... b3 Traceback a4
    TracebackScanner().catch_up(a)  # a4 searched, the traceback line not yet
    assert rows.quiet_until(0, m.total) == 8  # stops at the line nobody searched
    merged = TracebackScanner()
    merged.catch_up(rows)
    assert merged.errors == 1 and merged.blocks[0].start == 8  # found where nobody searched


def test_rows_the_merged_scanner_found_quiet_are_not_searched_again_by_the_buffers_own():
    a, b = interleaved(100)
    m = model(a, b)
    TracebackScanner().catch_up(m.source_rows)  # the merged view's scanner: all quiet
    assert quiet_until(a, 0, 3) == 3 and quiet_until(b, 0, 3) == 3
