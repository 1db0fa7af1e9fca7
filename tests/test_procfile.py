from pathlib import Path

import pytest

from tuirunner.errors import UserError
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
