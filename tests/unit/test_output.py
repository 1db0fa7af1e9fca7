from tuirunner.output import (
    OutputBuffer,
    collapse_cr,
    sgr_only,
    strip_ansi,
    strip_controls,
    visible_controls,
)


def test_crlf_is_normalised_even_when_split_across_reads():
    buf = OutputBuffer()
    assert buf.feed(b"one\r") == []
    assert buf.feed(b"\ntwo\r\nthr") == ["one", "two"]
    assert buf.partial == "thr"
    assert buf.feed(b"ee\r\n") == ["three"]
    assert list(buf.lines) == ["one", "two", "three"]


def test_partial_line_is_kept_and_shown_like_a_prompt():
    buf = OutputBuffer()
    buf.feed(b"> /app/views.py(12)index()\r\n(Pdb) ")
    assert buf.snapshot() == ["> /app/views.py(12)index()", "(Pdb) "]
    assert len(buf) == 2
    assert buf.line(buf.total) == "(Pdb) "
    assert buf.finish() == "(Pdb) "
    assert buf.partial == "" and list(buf.lines)[-1] == "(Pdb) "


def test_utf8_split_across_reads_and_invalid_bytes():
    buf = OutputBuffer()
    data = "café ☕\n".encode()
    assert buf.feed(data[:4]) == []
    assert buf.feed(data[4:]) == ["café ☕"]
    assert buf.feed(b"bad \xff\xfe bytes\n") == ["bad \ufffd\ufffd bytes"]


def test_carriage_return_rewrites_the_line_and_stays_bounded():
    buf = OutputBuffer()
    for i in range(10_000):
        buf.feed(f"\rprogress {i}%".encode())
    assert len(buf.partial) < 40
    assert buf.snapshot() == ["progress 9999%"]
    assert buf.feed(b"\rdone   \n") == ["done   "]
    assert collapse_cr("abc\r") == "abc"
    assert collapse_cr("a\rb\r\r") == "b"


def test_bounded_scrollback_keeps_absolute_numbering():
    buf = OutputBuffer(maxlen=3)
    buf.feed(b"".join(b"line %d\n" % i for i in range(10)))
    assert list(buf.lines) == ["line 7", "line 8", "line 9"]
    assert buf.total == 10 and buf.first_index == 7
    assert buf.line(8) == "line 8" and buf.line(2) is None


def test_overlong_lines_are_split_never_unbounded():
    buf = OutputBuffer(line_cap=100)
    buf.feed(b"x" * 250 + b"\n")
    assert [len(x) for x in buf.lines] == [100, 100, 50]
    buf2 = OutputBuffer(line_cap=100)
    for _ in range(10):
        buf2.feed(b"y" * 99)  # never a newline
    assert len(buf2.partial) <= 100
    assert sum(map(len, buf2.lines)) + len(buf2.partial) == 990
    # A short read that ends a long unfinished line: the line is still split.
    buf3 = OutputBuffer(line_cap=100)
    buf3.feed(b"z" * 90)
    buf3.feed(b"z" * 20 + b"\nok\n")
    assert list(buf3.lines) == ["z" * 100, "z" * 10, "ok"]


def test_a_runner_line_ends_the_partial_line():
    buf = OutputBuffer()
    buf.feed(b"no newline")
    buf.append_line("-- restarted --")
    assert list(buf.lines) == ["no newline", "-- restarted --"]


def test_strip_ansi():
    assert (
        strip_ansi("\x1b[1;32mOK\x1b[0m \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ \x1b[2K")
        == "OK link "
    )
    assert strip_ansi("plain") == "plain"


def test_a_rewritten_line_completed_by_a_later_chunk_is_collapsed():
    buf = OutputBuffer()
    buf.feed(b"50%\r60%")
    assert buf.feed(b" done\n") == ["60% done"]


HOSTILE = (
    "\x1b[31mred\x1b[0m"  # colour: kept
    "\x1b]0;retitled\x07"  # window title (OSC, BEL-terminated)
    "\x1b]2;again\x1b\\"  # window title (OSC, ST-terminated)
    "\x1b[?1049h"  # alternate screen
    "\x1b[?1000h"  # mouse reporting
    "\x1b[6n"  # cursor position query: the terminal would type the answer
    "\x1b[>c"  # device attributes query
    "\x1bP+q544e\x1b\\"  # DCS (XTGETTCAP query)
    "\x1bc"  # full reset
    "\x9b6n"  # 8-bit CSI
    "\x07\x08\x0e\x7f"  # BEL, backspace, shift-out, DEL
    "\ta\x1b[1;38;2;10;20;30mb"  # TAB and a truecolour SGR: kept
)


def test_sgr_only_keeps_colours_and_tabs_and_nothing_else():
    assert sgr_only(HOSTILE) == "\x1b[31mred\x1b[0m6n\ta\x1b[1;38;2;10;20;30mb"
    assert sgr_only("plain text") == "plain text"


def test_strip_controls_keeps_only_text_and_tabs():
    assert strip_controls(HOSTILE) == "red6n\tab"


def test_visible_controls_spells_them_out():
    assert visible_controls("a\x1b]0;t\x07b\nc\td\r\x9b\x7f\u202eé☕") == (
        "a\\x1b]0;t\\x07b\\nc\\td\\r\\x9b\\x7f\\u202eé☕"
    )
    assert visible_controls("plain ☕") == "plain ☕"


def _memory(buf: OutputBuffer) -> int:
    import sys

    return sum(map(sys.getsizeof, buf.lines))


def test_the_buffer_is_bounded_in_bytes_as_well_as_lines():
    # 11,000 lines of 16,384 emoji (4 bytes each in a str): 708 MB in 10,000 lines before.
    buf = OutputBuffer()
    line = ("😀" * 16_384 + "\r\n").encode()
    for _ in range(11_000 // 100):
        buf.feed(line * 100)
    assert buf.total == 11_000
    assert _memory(buf) <= 64 * 1024 * 1024
    assert _memory(buf) <= buf.bytes <= _memory(buf) + 300_000  # at most one chunk too many
    assert buf.line(buf.total - 1) == "😀" * 16_384  # the newest lines are the ones kept
    assert buf.line(buf.first_index - 1) is None and buf.first_index > 1_000


def test_the_byte_budget_leaves_the_default_scrollback_of_ordinary_output_intact():
    buf = OutputBuffer()
    chunk = b"".join(b"%06d " % i + b"x" * 200 + b"\r\n" for i in range(1_000))
    for _ in range(12):
        buf.feed(chunk)
    assert len(buf.lines) == 10_000  # the line limit, not the byte budget, decides
    assert _memory(buf) <= buf.bytes <= _memory(buf) + 300_000  # at most one chunk too many


def test_byte_accounting_follows_every_way_lines_come_and_go():
    buf = OutputBuffer(maxlen=5, max_bytes=2_000)
    buf.feed(b"a" * 700 + b"\r\n" + b"b\r\n")
    buf.append_line("--- restarted ---")
    buf.feed(b"c" * 900 + b"\r\n" + b"d" * 900 + b"\r\nlast")
    buf.finish()
    assert _memory(buf) <= buf.bytes <= 2_000
    assert list(buf.lines)[-1] == "last"
    copy = OutputBuffer(maxlen=5, max_bytes=2_000)
    copy.apply_export(*buf.export())
    assert list(copy.lines) == list(buf.lines) and _memory(copy) <= copy.bytes <= 2_000
    for n in range(20):
        buf.feed(b"%d\r\n" % n)
    assert _memory(buf) <= buf.bytes <= 2_000 and len(buf.lines) == 5
