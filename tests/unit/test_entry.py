"""The entry point's scan of the command line (tuirunner/entry.py): which subcommand, and
whether the terminal UI is likely, without argparse."""

import sys

import pytest

from tuirunner import entry
from tuirunner.cli import normalise_argv


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        ([], "start"),
        (["web", "worker"], "start"),
        (["-e", ".env.test", "run", "pytest"], "run"),
        (["-e", "start", "ps"], "ps"),  # -e's value is not the subcommand
        (["--tui", "attach"], "attach"),
        (["-f", "Procfile.dev"], "start"),
        (["--", "web"], "start"),
        (["--quiet", "web", "logs"], "logs"),  # --quiet takes a value
        (["-q", "web", "worker"], "start"),
    ],
)
def test_the_subcommand_is_found_without_parsing(argv, command):
    assert entry.subcommand(argv) == command
    normalised = normalise_argv(argv)
    assert normalised[entry.first_positional(normalised)] == command or command == "start"


def test_normalise_argv_inserts_start_where_the_scan_finds_none():
    assert normalise_argv(["-e", ".env", "web"]) == ["-e", ".env", "start", "web"]
    assert normalise_argv(["--", "web"]) == ["start", "web"]
    assert normalise_argv(["--help"]) == ["--help"]
    assert normalise_argv(["-t", "5"]) == ["-t", "5", "start"]
    assert normalise_argv(["ps"]) == ["ps"]


@pytest.mark.parametrize(
    ("argv", "tui"),
    [
        (["--tui"], True),
        (["--tui", "start", "web"], True),
        (["--tui", "attach"], True),
        (["--tui", "ps"], False),
        (["--tui", "-D"], False),
        (["--tui", "start", "--detach"], False),
        (["--tui", "--help"], False),
        (["--no-tui"], False),
        ([], False),  # (pytest's standard streams are no terminal)
    ],
)
def test_the_terminal_ui_is_expected_for_start_and_attach_on_a_terminal(argv, tui, monkeypatch):
    monkeypatch.delenv("_ARGCOMPLETE", raising=False)
    assert entry.shows_tui(argv) is tui


def test_no_second_start_for_completion_or_other_interpreter_options(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["tuirunner", "--tui"])
    monkeypatch.setattr("tuirunner.bytecode.optimized", lambda modules: True)
    assert entry.optimized_argv(module=True) == [
        sys.executable,
        "-OO",
        "-m",
        "tuirunner",
        "--tui",
    ]
    monkeypatch.setenv("_ARGCOMPLETE", "1")
    assert entry.optimized_argv(module=True) is None
    monkeypatch.delenv("_ARGCOMPLETE")
    monkeypatch.setattr(sys, "_xoptions", {"importtime": True})
    assert entry.optimized_argv(module=True) is None
    monkeypatch.setattr(sys, "_xoptions", {})
    monkeypatch.setattr("tuirunner.bytecode.optimized", lambda modules: False)
    assert entry.optimized_argv(module=True) is None
    monkeypatch.setattr("tuirunner.bytecode.optimized", lambda modules: True)
    monkeypatch.setattr(sys, "argv", ["/no/such/tuirunner-script", "--tui"])
    assert entry.optimized_argv(module=False) is None  # (it could not be run again)
