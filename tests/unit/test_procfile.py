import os
from pathlib import Path

import pytest

from tuirunner.errors import UserError
from tuirunner.limits import MAX_FILE_BYTES
from tuirunner.procfile import formation, load_procfile, parse_concurrency, parse_procfile_text

P = Path("Procfile")


def test_parses_types_in_file_order_with_comments_and_blank_lines():
    pf = parse_procfile_text(
        "# the web\nweb: python manage.py runserver $PORT\n\n  # indented comment\n"
        "worker-high_1:python worker.py\r\nclock: a: b\n",
        P,
    )
    assert [(t.name, t.command, t.index, t.line) for t in pf.types] == [
        ("web", "python manage.py runserver $PORT", 0, 2),
        ("worker-high_1", "python worker.py", 1, 5),
        ("clock", "a: b", 2, 6),
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("web 3: space in name", "invalid process name 'web 3'"),
        ("web4 : space before colon", "no space allowed between the name and"),
        ("web.5: dot", "invalid process name 'web.5'"),
        ("wéb: unicode", "invalid process name"),
        ("web7:", "the command is empty"),
        ("web8:    ", "the command is empty"),
        ("just some words", "expected 'name: command'"),
        ("  web: indented", "must not be indented"),
        (": nothing", "the process name is empty"),
    ],
)
def test_a_malformed_line_names_file_line_and_text(line, reason):
    with pytest.raises(UserError) as exc:
        parse_procfile_text(f"web: ok\n# c\n{line}\n", Path("dir/Procfile"))
    message = str(exc.value)
    assert message.startswith("dir/Procfile:3: ")
    assert reason in message
    assert line.strip() in message


def test_duplicate_names_are_an_error_naming_both_lines():
    with pytest.raises(
        UserError,
        match=r"Procfile:3: duplicate process name 'web' \(first "
        r"defined on line 1\)",
    ):
        parse_procfile_text("web: a\nworker: b\nweb: c\n", P)


def test_empty_procfile_is_an_error():
    with pytest.raises(UserError, match="no processes defined"):
        parse_procfile_text("# only a comment\n\n", P)


def test_missing_procfile_and_invalid_utf8(tmp_path):
    with pytest.raises(UserError, match="Procfile does not exist"):
        load_procfile(tmp_path / "Procfile")
    bad = tmp_path / "Procfile"
    bad.write_bytes(b"web: ok\nworker: caf\xe9\n")
    with pytest.raises(UserError, match=r"Procfile:2: not valid UTF-8"):
        load_procfile(bad)


PF = parse_procfile_text("web: w\nworker: k\nclock: c\n", P)


def ports(instances):
    return {i.name: i.port for i in instances}


def test_ports_follow_procfile_position_and_instance_index():
    got = formation(PF, concurrency={"web": 2, "worker": 3})
    assert ports(got) == {
        "web.1": 5000,
        "web.2": 5001,
        "worker.1": 5100,
        "worker.2": 5101,
        "worker.3": 5102,
        "clock.1": 5200,
    }


def test_a_types_port_does_not_move_when_only_some_types_start():
    assert ports(formation(PF, selected=["clock"], base_port=8000)) == {"clock.1": 8200}


def test_all_sets_the_default_and_zero_skips_a_type():
    got = formation(PF, concurrency=parse_concurrency(["all=2,web=0", "clock=1"]))
    assert [i.name for i in got] == ["worker.1", "worker.2", "clock.1"]


@pytest.mark.parametrize("spec", ["web", "web=x", "=2", "web=-1"])
def test_bad_concurrency_is_an_error(spec):
    with pytest.raises(UserError, match="invalid concurrency"):
        parse_concurrency([spec])


def test_unknown_names_are_errors():
    with pytest.raises(
        UserError, match="unknown process type 'wbe'; the Procfile defines web, worker, clock"
    ):
        formation(PF, selected=["wbe"])
    with pytest.raises(UserError, match="unknown process type 'wrk' in --concurrency"):
        formation(PF, concurrency={"wrk": 2})


def test_a_byte_order_mark_is_ignored(tmp_path):
    path = tmp_path / "Procfile"
    path.write_bytes(b"\xef\xbb\xbfweb: python -m http.server\r\nworker: python w.py\r\n")
    pf = load_procfile(path)
    assert [(t.name, t.command, t.line) for t in pf.types] == [
        ("web", "python -m http.server", 1),
        ("worker", "python w.py", 2),
    ]


@pytest.mark.parametrize("name", ["-web", "--help", "-"])
def test_a_name_starting_with_a_dash_is_an_error(name):
    with pytest.raises(UserError) as exc:
        parse_procfile_text(f"ok: a\n{name}: b\n", Path("Procfile"))
    assert str(exc.value) == (
        f"Procfile:2: invalid process name {name!r}: it must not start with '-' (it would read "
        f"as an option on the command line): '{name}: b'"
    )


def test_files_that_are_not_regular_or_too_large_are_refused_without_reading_them(tmp_path):
    fifo = tmp_path / "Procfile.fifo"
    os.mkfifo(fifo)
    big = tmp_path / "Procfile.big"
    big.write_bytes(b"web: " + b"x" * (2 * 1024 * 1024) + b"\n")
    cases = [
        (fifo, f"{fifo}: refusing to read this Procfile: a FIFO, not a regular file"),
        (
            Path("/dev/zero"),
            "/dev/zero: refusing to read this Procfile: a character device, not a regular file",
        ),
        (big, f"{big}: refusing to read this Procfile: larger than 1.0 MiB (2.0 MiB)"),
        (tmp_path, f"{tmp_path}: is a directory, not a Procfile"),
    ]
    for path, message in cases:
        with pytest.raises(UserError) as exc:
            load_procfile(path)
        assert str(exc.value) == message


def test_a_file_of_exactly_the_limit_is_read(tmp_path):
    path = tmp_path / "Procfile"
    line = b"web: " + b"x" * 100 + b"\n"
    comment = b"#" * (MAX_FILE_BYTES - len(line) - 1) + b"\n"
    path.write_bytes(comment + line)
    assert path.stat().st_size == MAX_FILE_BYTES
    assert load_procfile(path).names == ["web"]
    path.write_bytes(comment + line + b"\n")
    with pytest.raises(UserError, match=r"larger than 1\.0 MiB"):
        load_procfile(path)


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux's /proc")
def test_a_file_that_grows_after_the_check_is_still_read_only_up_to_the_limit(tmp_path):
    from tuirunner.limits import FileRefused, read_limited

    path = tmp_path / "Procfile"
    path.write_bytes(b"web: a\n")
    # A file that is small when checked and large when read, as /proc files are: size 0.
    proc_file = Path("/proc/self/environ")
    assert read_limited(path) == b"web: a\n"
    assert read_limited(proc_file, limit=1 << 20)  # size 0 in stat, read to the end
    with pytest.raises(FileRefused, match="grew while being read"):
        read_limited(proc_file, limit=8)


def test_ports_past_65535_are_an_error_naming_the_instance():
    with pytest.raises(UserError) as exc:
        formation(PF, base_port=65535)
    assert str(exc.value) == (
        "worker.1 would get port 65635, past 65535 (base port 65535 + 100 × 1 for its place in "
        "the Procfile + 0); choose a lower base port with -p"
    )
    with pytest.raises(UserError, match=r"^web\.3 would get port 65536, past 65535"):
        formation(PF, selected=["web"], concurrency={"web": 3}, base_port=65534)
    assert ports(formation(PF, selected=["web"], concurrency={"web": 2}, base_port=65534)) == {
        "web.1": 65534,
        "web.2": 65535,
    }
