from tuirunner.output import OutputBuffer, collapse_cr, strip_ansi


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
