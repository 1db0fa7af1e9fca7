"""When each line arrived: kept beside the lines, copied with them, cheap."""

from __future__ import annotations

import random
import sys
import time

from tuirunner.output import OutputBuffer

T0 = 1_780_000_000.0  # an epoch time (2026)


def test_each_line_keeps_the_time_of_the_read_that_completed_it():
    buf = OutputBuffer(100)
    buf.feed(b"one\r\ntwo\r\n", T0)
    buf.feed(b"three\r\n", T0 + 1.5)
    assert [buf.time(i) for i in range(3)] == [T0, T0, T0 + 1.5]
    assert buf.time(3) is None  # no partial line
    assert buf.time(-1) is None


def test_a_line_continued_over_reads_keeps_the_time_of_its_first_bytes():
    buf = OutputBuffer(100)
    buf.feed(b"(Pdb) ", T0)
    assert buf.time(0) == T0  # the partial line
    buf.feed(b"c\r\nnext\r\n", T0 + 10)
    assert buf.time(0) == T0
    assert buf.time(1) == T0 + 10


def test_times_follow_the_lines_round_the_ring():
    buf = OutputBuffer(5)
    for i in range(12):
        buf.feed(b"line %d\r\n" % i, T0 + i)
    assert buf.first_index == 7
    assert [buf.time(i) for i in range(7, 12)] == [T0 + i for i in range(7, 12)]
    assert buf.time(6) is None
    buf.feed(b"".join(b"x\r\n" for _ in range(13)), T0 + 100)  # more than the ring at once
    assert [buf.time(i) for i in range(buf.first_index, buf.total)] == [T0 + 100] * 5


def test_runner_lines_and_the_end_have_times():
    buf = OutputBuffer(10)
    buf.feed(b"partial", T0)
    buf.append_line("tuirunner: restarted", T0 + 2)
    assert buf.snapshot() == ["partial", "tuirunner: restarted"]
    assert [buf.time(0), buf.time(1)] == [T0, T0 + 2]
    before = time.time()
    buf.append_line("now")
    assert before - 0.001 <= buf.time(2) <= time.time() + 0.001


def test_a_copy_has_the_same_times_to_the_millisecond():
    source = OutputBuffer(50)
    for i in range(30):
        source.feed(b"a %d\r\n" % i, T0 + i // 7 + 0.0004 * i)
    source.feed(b"unfinished", T0 + 99.123)
    copy = OutputBuffer(50)
    copy.apply_export(*source.export())
    assert copy.snapshot() == source.snapshot()
    assert [copy.time(i) for i in range(31)] == [source.time(i) for i in range(31)]
    # Then both are fed the same bytes at the same time (an output frame's ``time``).
    for buf in (source, copy):
        buf.feed(b" end\r\n", T0 + 200)
    assert copy.time(30) == source.time(30) == T0 + 99.123


def test_times_take_at_most_four_bytes_a_line():
    buf = OutputBuffer(100_000)
    for i in range(100):
        buf.feed(b"".join(b"line\r\n" for _ in range(1000)), T0 + i)
    assert len(buf._times) * buf._times.itemsize <= 4 * 100_000


def _runs_line_by_line(buf: OutputBuffer) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for i in range(buf.first_index, buf.total):
        ms = round(buf.time(i) * 1000)
        if runs and runs[-1][1] == ms:
            runs[-1] = (runs[-1][0] + 1, ms)
        else:
            runs.append((1, ms))
    return runs


def test_time_runs_are_the_times_line_by_line_whatever_their_order():
    rng = random.Random(17)
    for case in range(60):
        buf = OutputBuffer(rng.choice([7, 100, 1000]))
        at = T0
        for _ in range(rng.randint(1, 200)):
            kind = rng.random()
            if kind < 0.1:
                at -= rng.uniform(0, 5)  # the clock set back
            elif kind < 0.6:
                at += rng.choice([0, 0.001, 0.002])  # a flood: reads a millisecond apart
            else:
                at += rng.uniform(0, 2)
            lines = rng.choice([1, 1, 2, 30, 300])
            buf.feed(b"x\r\n" * lines + (b"part" if rng.random() < 0.3 else b""), at)
        assert buf.ms_runs() == _runs_line_by_line(buf), case
        start = rng.randint(buf.first_index, buf.total)
        n = rng.randint(0, buf.total - start)
        expect = []
        for i in range(start, start + n):
            ms = round(buf.time(i) * 1000)
            if expect and expect[-1][1] == ms:
                expect[-1] = (expect[-1][0] + 1, ms)
            else:
                expect.append((1, ms))
        assert buf.ms_runs(start, n) == expect, case


def test_a_copy_counts_the_bytes_its_lines_take_as_the_source_does():
    for text in ("ascii line", "wide \U0001f600 line", "latin é line"):
        source = OutputBuffer(1000)
        source.feed(b"".join(f"{text} {i}\r\n".encode() for i in range(500)), T0)
        copy = OutputBuffer(1000)
        copy.apply_export(*source.export())
        expect = sum(sys.getsizeof(line) for line in source.lines)
        assert copy.bytes == expect
        assert source.bytes >= expect  # (the source's count errs on the high side)


def test_times_months_apart_and_a_clock_set_far_back_bottom_out_at_the_oldest_the_ring_holds():
    buf = OutputBuffer(8)
    for i in range(8):  # a full ring: stamps take the quick way
        buf.feed(b"early %d\r\n" % i, T0 + i)
    buf.feed(b"(Pdb) ", T0 + 8)
    later = T0 + 60 * 86_400  # 60 days on: the ring's base moves, 48 days span from it
    buf.feed(b"c\r\nnext\r\n", later)
    oldest = buf._base / 1000
    assert later - 25 * 86_400 < oldest < later - 24 * 86_400  # (half the span back)
    # The continued line (its first bytes came 60 days ago) and the rest bottom out.
    assert [buf.time(i) for i in range(buf.first_index, buf.total)] == [oldest] * 7 + [later]
    buf.feed(b"back\r\n", T0 - 3 * 86_400)  # a clock set back before the base: the oldest
    assert buf.time(buf.total - 1) == oldest
    assert buf.time(buf.total - 2) == later
    buf.feed(b"now\r\n", later + 1.5)
    assert buf.time(buf.total - 1) == later + 1.5
