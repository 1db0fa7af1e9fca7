"""The traceback detector: blocks, frames, chains, Django's error blocks, reloads, prompts."""

from __future__ import annotations

import random

from tuirunner.output import OutputBuffer
from tuirunner.tracebacks import TracebackScanner, at_prompt, is_project_file

DJANGO = """\
Watching for file changes with StatReloader
[05/Dec/2026 10:00:00] "GET / HTTP/1.1" 200 10
Internal Server Error: /boom/
Traceback (most recent call last):
  File "/venv/lib/python3.12/site-packages/django/core/handlers/exception.py", line 55, in inner
    response = get_response(request)
               ^^^^^^^^^^^^^^^^^^^^^
  File "/app/greetings/views.py", line 12, in boom
    raise ValueError("boom")
ValueError: boom
[05/Dec/2026 10:00:01] "GET /boom/ HTTP/1.1" 500 12345
"""

CHAINED = """\
Traceback (most recent call last):
  File "/app/a.py", line 2, in <module>
    {}["x"]
KeyError: 'x'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/app/a.py", line 4, in <module>
    raise RuntimeError("again")
RuntimeError: again
after
"""


def scan(text: str, chunks: int = 1) -> TracebackScanner:
    buffer = OutputBuffer()
    scanner = TracebackScanner()
    data = text.replace("\n", "\r\n").encode()
    step = max(1, len(data) // chunks)
    for i in range(0, len(data), step):
        buffer.feed(data[i : i + step])
        scanner.catch_up(buffer)
    return scanner


def test_a_django_error_is_one_block_from_its_header_to_the_exception():
    scanner = scan(DJANGO)
    [block] = scanner.blocks
    assert (block.start, block.end) == (2, 9)
    assert block.exception == "ValueError: boom"
    assert [(f.index, f.path, f.line) for f in block.frames] == [
        (4, "/venv/lib/python3.12/site-packages/django/core/handlers/exception.py", 55),
        (7, "/app/greetings/views.py", 12),
    ]
    assert block.project_frame("/app").path == "/app/greetings/views.py"
    assert block.frame_at(8).line == 12  # the code line under a frame
    assert scanner.error_since_reload


def test_the_same_blocks_whatever_the_reads():
    whole = scan(DJANGO + CHAINED)
    for chunks in (3, 17, 200):
        split = scan(DJANGO + CHAINED, chunks)
        assert [(b.start, b.end, b.exception) for b in split.blocks] == [
            (b.start, b.end, b.exception) for b in whole.blocks
        ]


def test_two_scanners_of_one_buffer_find_the_same_blocks_whenever_each_looks():
    # The second scanner of a buffer skips the spans the first found quiet: never a block.
    rng = random.Random(5)
    quiet = "".join(f"GET /items/{i} 200\n" for i in range(40))
    text = quiet + DJANGO + quiet + CHAINED + quiet + DJANGO
    whole = scan(text)
    expect = [(b.start, b.end, b.exception) for b in whole.blocks]
    data = text.replace("\n", "\r\n").encode()
    for _ in range(30):
        buffer = OutputBuffer(rng.choice([25, 1000]))
        scanners = [TracebackScanner(), TracebackScanner()]
        at = 0
        while at < len(data):
            step = rng.randint(1, 400)
            buffer.feed(data[at : at + step])
            at += step
            for scanner in scanners:
                if rng.random() < 0.5:
                    scanner.catch_up(buffer)
        for scanner in scanners:
            scanner.catch_up(buffer)
            kept = [b for b in expect if b[0] >= buffer.first_index]
            assert [(b.start, b.end, b.exception) for b in scanner.blocks] == kept
            assert scanner.errors >= len(kept)


def test_a_chained_exception_stays_in_one_block():
    [block] = scan(CHAINED).blocks
    assert (block.start, block.end) == (0, 10)
    assert block.exception == "RuntimeError: again"
    assert len(block.frames) == 2


def test_a_reload_after_the_error_ends_it_and_jumps_find_the_blocks():
    scanner = scan(DJANGO + "Performing system checks...\n" + CHAINED)
    assert len(scanner.blocks) == 2
    assert scanner.error_since_reload  # the chained one came after the reload
    assert scanner.next_block(0, 1).start == 2
    assert scanner.next_block(2, 1).start == scanner.blocks[1].start
    assert scanner.next_block(scanner.blocks[1].start, -1).start == 2
    assert scanner.next_block(2, -1) is None
    reloaded = scan(DJANGO + "Watching for file changes with StatReloader\n")
    assert not reloaded.error_since_reload


def test_plain_output_has_no_block_and_old_blocks_go_with_their_lines():
    assert scan("Traceback is a word\nhello\n").blocks == []
    buffer = OutputBuffer(maxlen=5)
    scanner = TracebackScanner()
    buffer.feed(b'Traceback (most recent call last):\r\n  File "a.py", line 1\r\nE: e\r\n')
    scanner.catch_up(buffer)
    assert len(scanner.blocks) == 1
    buffer.feed(b"a\r\nb\r\nc\r\n")
    scanner.catch_up(buffer)
    assert scanner.blocks == []  # its start fell off the buffer
    assert scanner.errors == 1


def test_coloured_tracebacks_are_found():
    scanner = scan(
        '\x1b[31mTraceback (most recent call last):\x1b[0m\n  File "x.py", line 1\nE: e\n'
    )
    assert scanner.blocks[0].frames[0].path == "x.py"


def test_project_files():
    assert is_project_file("/app/greetings/views.py", "/app")
    assert is_project_file("greetings/views.py", "/app")
    assert not is_project_file("/app/.venv/lib/python3.12/site-packages/django/x.py", "/app")
    assert not is_project_file("/usr/lib/python3.12/json/x.py", "/app")
    assert not is_project_file("<frozen runpy>", "/app")


def test_prompts():
    for prompt in ("(Pdb) ", ">>> ", "Continue? [y/N] ", "Password: ", "ipdb> "):
        assert at_prompt(prompt), prompt
    for other in ("", "loading", "50% done", "Starting server:"):
        assert not at_prompt(other), other


def test_the_editor_command():
    from tuirunner.editor import editor_command

    assert editor_command("code -g {file}:{line}", {"EDITOR": "vi"}, "/a b.py", 3) == [
        "code",
        "-g",
        "/a b.py:3",
    ]
    env = {"VISUAL": "emacsclient -t", "EDITOR": "vi"}
    assert editor_command(None, env, "x.py", 7) == ["emacsclient", "-t", "+7", "x.py"]
    assert editor_command(None, {"EDITOR": "nvim"}, "x.py", 7) == ["nvim", "+7", "x.py"]
    assert editor_command(None, {}, "x.py", 7) is None
