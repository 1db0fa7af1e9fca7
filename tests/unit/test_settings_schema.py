"""Settings by schema: msgspec's errors said in the settings' words at any key path (table keys
msgspec does not name, quoted keys, the pyproject prefix), and the pure parts of the package
(graph, expand) on their own."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuirunner.export import quoting
from tuirunner.settings import (
    BACKOFF_KEYS,
    DEPENDENCY_KEYS,
    GLOBAL_KEYS,
    PROCESS_KEYS,
    READY_KEYS,
    VARIABLE,
    SettingsError,
    graph,
    load_settings,
    settings_from_dict,
)
from tuirunner.settings.model import ProcessSettings, Settings


def error_in(tmp_path, text, name="tuirunner.toml"):
    (tmp_path / name).write_text(text)
    with pytest.raises(SettingsError) as exc:
        load_settings(tmp_path)
    return str(exc.value).removeprefix(f"{tmp_path / name}: ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # a table's key, which msgspec's path leaves out ("$.processes[...]"), is found again
        (
            '[processes.web]\nlog_backups = 1\n[processes.worker]\nenv = { "X.Y" = 1 }',
            'processes.worker.env."X.Y": expected a string, got 1 (quote it: "1")',
        ),
        (
            '[processes."a b"]\nlog_backups = -1',
            'processes."a b".log_backups: must be from 0 to 100, got -1',
        ),
        ('formation = { ok = 1, "w.x" = -1 }', 'formation."w.x": must be from 0 to 100, got -1'),
        (
            '[processes.web]\ndepends_on = { a = "started", b = { restart = 1 } }',
            "processes.web.depends_on.b.restart: expected true or false, got 1",
        ),
        (
            '[processes.web]\ndepends_on = { a = "started", b = { restart = true, x = 1 } }',
            "processes.web.depends_on.b.x: unknown key (valid keys: condition, restart)",
        ),
        ('[processes.web]\nwatch = ["a", "b", ""]', "processes.web.watch[2]: must not be empty"),
        (
            '[processes.web]\nready = { port = 80, hots = "h" }',
            'processes.web.ready.hots: unknown key (did you mean "host"?)',
        ),
        # strings, numbers, dates
        ('procfile = "P\\u0000"', "procfile: must not contain a NUL character"),
        (
            '[processes.web]\nenv = { A = "\\u0000" }',
            "processes.web.env.A: must not contain a NUL character",
        ),
        ("timeout = -inf", "timeout: must be a finite number, got -inf"),
        (
            "[processes.web]\nready = { port = 80, interval = inf }",
            "processes.web.ready.interval: must be a finite number, got inf",
        ),
        ("port = 1979-05-27T07:32:00", "port: expected an integer, got a date/time"),
        ("env = []\nport = 5000.5", "port: expected an integer, got 5000.5"),
        (
            "[processes.web]\nenv = { DEBUG = true }",
            'processes.web.env.DEBUG: expected a string, got true (quote it: "true")',
        ),
        (
            "[processes.web]\nready = { port = 1.5 }",
            "processes.web.ready.port: expected a port number or a variable such as "
            '"$PORT", got 1.5',
        ),
        ('[processes.web]\nstop_signal = ""', 'processes.web.stop_signal: unknown signal ""'),
    ],
)
def test_schema_errors_at_any_key_path(tmp_path, text, message):
    assert error_in(tmp_path, text + "\n") == message


def test_schema_errors_in_pyproject_name_the_table_keys(tmp_path):
    text = '[tool.tuirunner.processes."a.b"]\nbackoff = { initial = "1" }\n'
    assert error_in(tmp_path, text, "pyproject.toml") == (
        'tool.tuirunner.processes."a.b".backoff.initial: expected a number (of seconds), got "1"'
    )


def test_the_keys_in_messages_come_from_the_schema_in_the_documented_order():
    assert GLOBAL_KEYS == (
        "procfile",
        "env",
        "port",
        "timeout",
        "scrollback",
        "formation",
        "makemigrations_check",
        "processes",
        "groups",
        "editor",
        "notify_on_crash",
    )
    assert PROCESS_KEYS[:4] == ("oneshot", "depends_on", "ready", "autorestart")
    assert READY_KEYS == (
        "http",
        "port",
        "log",
        "command",
        "url",
        "host",
        "timeout",
        "interval",
        "headers",
    )
    assert (BACKOFF_KEYS, DEPENDENCY_KEYS) == (
        ("initial", "max", "reset_after"),
        ("condition", "restart"),
    )


def test_the_model_is_frozen():
    with pytest.raises(AttributeError):
        ProcessSettings().oneshot = True  # type: ignore[misc]
    with pytest.raises(AttributeError):
        Settings().port = 1  # type: ignore[misc]


def test_graph_start_order_and_cycles():
    edges = {"web": ["db", "release"], "release": ["db"]}
    assert graph.start_order(["web", "worker", "release", "db"], edges) == [
        "db",
        "release",
        "web",
        "worker",
    ]
    assert graph.find_cycle(edges) is None
    cyclic = {"a": ["b"], "b": ["c"], "c": ["b"]}
    assert graph.find_cycle(cyclic) == ["b", "c", "b"]
    with pytest.raises(ValueError, match="dependency cycle: a -> b -> c -> b"):
        graph.start_order(["a", "b", "c"], cyclic)


def test_the_exporters_keep_the_variables_settings_expand():
    assert [m.group(0) for m in VARIABLE.finditer("$A ${B} $ $1")] == ["$A", "${B}"]
    assert quoting.VARIABLE is VARIABLE


# --- any table: a Settings or one SettingsError, never another exception -------------------------

KEYS = st.sampled_from(
    [*GLOBAL_KEYS, *PROCESS_KEYS, *READY_KEYS, *BACKOFF_KEYS, *DEPENDENCY_KEYS, "web", "a.b", "x y"]
)
SCALARS = (
    st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats()
    | st.sampled_from(["", " ", "db", "$PORT", "http://x/", "INT", "always", "ready", "a\0"])
    | st.text(max_size=8)
    | st.dates()
)
TOML_VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=12,
)

INNER_KEYS = st.sampled_from([*READY_KEYS, *BACKOFF_KEYS, *DEPENDENCY_KEYS, "db", "A B", "PORT"])
PROCESS_TABLES = st.dictionaries(
    st.sampled_from([*PROCESS_KEYS, "autorestat"]),
    TOML_VALUES | st.dictionaries(INNER_KEYS, TOML_VALUES, max_size=3),
    max_size=4,
)
TABLES = st.dictionaries(KEYS, TOML_VALUES, max_size=4) | st.fixed_dictionaries(
    {"processes": st.dictionaries(st.sampled_from(["web", "db", "a.b"]), PROCESS_TABLES)}
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TABLES, st.sampled_from(["", "tool.tuirunner"]))
def test_any_table_is_settings_or_one_settings_error(table, prefix):
    try:
        settings_from_dict(table, Path("tuirunner.toml"), prefix)
    except SettingsError as exc:
        assert str(exc).startswith("tuirunner.toml: ") and "\n" not in str(exc)
        assert exc.reason and not exc.reason.startswith("Expected")  # msgspec's own words


def test_the_terminal_uis_settings(tmp_path):
    assert error_in(tmp_path, 'editor = "code -g"\n') == (
        'editor: expected a command with {file}, such as "code -g {file}:{line}"'
    )
    assert error_in(tmp_path, 'editor = "vim \'{file}"\n').startswith(
        "editor: not a valid command line"
    )
    assert "notify_on_crash" in error_in(tmp_path, 'notify_on_crash = "loud"\n')
    (tmp_path / "tuirunner.toml").write_text(
        'editor = "code -g {file}:{line}"\nnotify_on_crash = "desktop"\n'
    )
    settings = load_settings(tmp_path)
    assert (settings.editor, settings.notify_on_crash) == ("code -g {file}:{line}", "desktop")
    assert load_settings(tmp_path / "nowhere").notify_on_crash == "off"
