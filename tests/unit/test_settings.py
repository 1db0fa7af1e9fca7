"""Settings: [tool.tuirunner] in pyproject.toml or tuirunner.toml — parsing, validation,
discovery, and the command line using them as defaults."""

import os
import re
import signal
from pathlib import Path

import pytest

from tests.helpers import clean_env, run_cli, write_files
from tuirunner.cli import parse_args
from tuirunner.client import Client
from tuirunner.errors import UserError
from tuirunner.options import RunOptions
from tuirunner.procfile import parse_procfile_text
from tuirunner.project import load_project
from tuirunner.settings import (
    DEFAULT_WATCH_IGNORE,
    MAX_SETTINGS_BYTES,
    AutoRestart,
    Backoff,
    Condition,
    Dependency,
    ProcessSettings,
    ReadyCheck,
    ReadyKind,
    Settings,
    SettingsError,
    expand_variables,
    glob_matches,
    load_settings,
)

FULL = """\
[project]
name = "demo"

[tool.tuirunner]
procfile = "Procfile.dev"
env = [".env", ".env.local"]
port = 8000
timeout = 5
scrollback = 2000
formation = { worker = 2, all = 1 }

[tool.tuirunner.processes.release]
oneshot = true
autorestart = "on-failure"

[tool.tuirunner.processes.db]
ready = { port = 5432, host = "localhost", timeout = 30, interval = 0.25 }
stop_signal = "int"

[tool.tuirunner.processes.web]
depends_on = { release = "completed", db = { condition = "ready", restart = true } }
ready = { http = "http://127.0.0.1:$PORT/health" }
autorestart = "always"
backoff = { initial = 0.5, max = 20, reset_after = 60 }
watch = ["**/*.py", "templates/"]
ignore = ["migrations"]
stop_signal = "SIGINT"
timeout = 10
env = { DJANGO_SETTINGS_MODULE = "demo_site.settings", DEBUG = "1" }
log_file = "log/web.log"
log_max_bytes = 1048576
log_backups = 5

[tool.tuirunner.processes.worker]
depends_on = ["db"]
ready = { log = "^Worker \\\\d+ ready" }

[tool.tuirunner.processes.mail]
ready = { command = "nc -z localhost 1025" }
"""


def settings_in(tmp_path: Path, text: str, name: str = "tuirunner.toml") -> Settings:
    (tmp_path / name).write_text(text)
    return load_settings(tmp_path)


def error_in(tmp_path: Path, text: str, name: str = "tuirunner.toml") -> str:
    with pytest.raises(SettingsError) as exc:
        settings_in(tmp_path, text, name)
    return str(exc.value)


# --- parsing -------------------------------------------------------------------------------------


def test_every_key_is_parsed(tmp_path):
    s = settings_in(tmp_path, FULL, "pyproject.toml")
    assert (s.path, s.prefix) == (tmp_path / "pyproject.toml", "tool.tuirunner")
    assert s.procfile == "Procfile.dev"
    assert s.env == (".env", ".env.local")
    assert (s.port, s.timeout, s.scrollback) == (8000, 5.0, 2000)
    assert s.formation == {"worker": 2, "all": 1}
    assert list(s.processes) == ["release", "db", "web", "worker", "mail"]

    assert s.processes["release"] == ProcessSettings(
        oneshot=True, autorestart=AutoRestart.ON_FAILURE
    )
    assert s.processes["db"] == ProcessSettings(
        ready=ReadyCheck(ReadyKind.PORT, "5432", host="localhost", timeout=30.0, interval=0.25),
        stop_signal=signal.SIGINT,
    )
    assert s.processes["web"] == ProcessSettings(
        depends_on=(
            Dependency("release", Condition.COMPLETED, restart=False),
            Dependency("db", Condition.READY, restart=True),
        ),
        ready=ReadyCheck(ReadyKind.HTTP, "http://127.0.0.1:$PORT/health"),
        autorestart=AutoRestart.ALWAYS,
        backoff=Backoff(initial=0.5, max=20.0, reset_after=60.0),
        watch=("**/*.py", "templates/"),
        ignore=("migrations",),
        stop_signal=signal.SIGINT,
        timeout=10.0,
        env={"DJANGO_SETTINGS_MODULE": "demo_site.settings", "DEBUG": "1"},
        log_file="log/web.log",
        log_max_bytes=1048576,
        log_backups=5,
    )
    assert s.processes["worker"] == ProcessSettings(
        depends_on=(Dependency("db", Condition.STARTED),),
        ready=ReadyCheck(ReadyKind.LOG, r"^Worker \d+ ready"),
    )
    assert s.processes["mail"].ready == ReadyCheck(ReadyKind.COMMAND, "nc -z localhost 1025")
    assert s.describe() == f"{s.path} [tool.tuirunner] (5 processes configured)"


def test_defaults_are_no_policy_at_all():
    p = ProcessSettings()
    assert (p.oneshot, p.depends_on, p.ready, p.autorestart) == (False, (), None, "no")
    assert p.backoff == Backoff(initial=1.0, max=30.0, reset_after=10.0)
    assert (p.watch, p.ignore, p.stop_signal) == ((), (), signal.SIGTERM)
    assert (p.timeout, p.env) == (None, {})
    assert (p.log_file, p.log_max_bytes, p.log_backups) == (None, 10 * 1024 * 1024, 3)
    r = ReadyCheck(ReadyKind.LOG, "x")
    assert (r.host, r.timeout, r.interval) == ("127.0.0.1", 60.0, 5.0)
    assert (p.port, p.stop_command, p.health) == (None, None, None)
    s = Settings()
    assert (s.path, s.source, s.procfile, s.env, s.port, s.timeout, s.scrollback) == ((None,) * 7)
    assert (s.formation, s.processes, s.describe()) == ({}, {}, "no settings")


def test_process_without_a_table_gets_the_defaults_and_instances_map_to_types(tmp_path):
    s = settings_in(tmp_path, '[processes.web]\nstop_signal = "QUIT"\n')
    assert s.process("worker") == ProcessSettings()
    assert s.process("web").stop_signal == signal.SIGQUIT
    assert s.process("web.2") is s.processes["web"]
    assert s.describe() == f"{tmp_path / 'tuirunner.toml'} (1 process configured)"
    assert settings_in(tmp_path, "port = 6000\n").describe().endswith("(no process configured)")


@pytest.mark.parametrize(
    ("written", "expected"),
    [('"SIGINT"', signal.SIGINT), ('"INT"', signal.SIGINT), ('"int"', signal.SIGINT),
     ('"SigHup"', signal.SIGHUP), ('"KILL"', signal.SIGKILL), ('"usr1"', signal.SIGUSR1)],
)  # fmt: skip
def test_stop_signal_names_with_or_without_sig_in_any_case(tmp_path, written, expected):
    s = settings_in(tmp_path, f"[processes.web]\nstop_signal = {written}\n")
    assert s.process("web").stop_signal is expected


def test_depends_on_forms(tmp_path):
    s = settings_in(
        tmp_path,
        '[processes.a]\noneshot = true\n[processes.b]\nready = { port = "$PORT" }\n'
        "[processes.web]\n"
        'depends_on = { a = { condition = "completed" }, b = { restart = true } }\n'
        '[processes.worker]\ndepends_on = ["a", "b"]\n',
    )
    assert s.dependencies_of("web") == (
        Dependency("a", Condition.COMPLETED, False),
        Dependency("b", Condition.STARTED, True),
    )
    assert s.dependencies_of("worker.1") == (Dependency("a"), Dependency("b"))
    assert s.dependencies_of("a") == ()
    assert s.dependents_of("b") == {
        "web": Dependency("b", Condition.STARTED, True),
        "worker": Dependency("b"),
    }
    assert s.dependents_of("web") == {}
    assert s.process("b").ready.target == "$PORT"


def test_start_order_puts_dependencies_first_and_otherwise_keeps_procfile_order(tmp_path):
    s = settings_in(
        tmp_path,
        '[processes.web]\ndepends_on = ["release", "db"]\n'
        '[processes.release]\ndepends_on = ["db"]\n',
    )
    assert s.start_order(["web", "worker", "release", "db"]) == ["db", "release", "web", "worker"]
    assert s.start_order(["worker", "web"]) == ["worker", "web"]  # deps not started: ignored
    assert Settings().start_order(["b", "a"]) == ["b", "a"]


def test_formation_with_command_line_on_top():
    s = Settings(formation={"worker": 2, "web": 3})
    assert s.formation_with({}) == {"worker": 2, "web": 3}
    assert s.formation_with({"web": 1}) == {"worker": 2, "web": 1}
    assert s.formation_with({"all": 0, "web": 1}) == {"all": 0, "web": 1}


def test_backoff_doubles_up_to_max():
    b = Backoff(initial=1, max=10)
    assert [b.delay(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    assert Backoff(initial=0.5, max=30).delay(1000) == 30


def test_ready_check_helpers():
    env = {"PORT": "5100", "HOST": "web.local"}
    http = ReadyCheck(ReadyKind.HTTP, "http://${HOST}:$PORT/ok?a=$")
    assert http.url(env) == "http://web.local:5100/ok?a=$"
    assert ReadyCheck(ReadyKind.PORT, "$PORT").address(env) == ("127.0.0.1", 5100)
    assert ReadyCheck(ReadyKind.PORT, "5432", host="::1").address({}) == ("::1", 5432)
    with pytest.raises(ValueError, match=r"\$PORT is not set"):
        ReadyCheck(ReadyKind.PORT, "$PORT").address({})
    with pytest.raises(ValueError, match="not a port number"):
        ReadyCheck(ReadyKind.PORT, "$HOST").address(env)
    assert ReadyCheck(ReadyKind.LOG, r"Listening on \d+").pattern.search("Listening on 80")
    assert expand_variables("$A-${B}$", {"A": "1", "B": "2"}) == "1-2$"


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("**/*.py", "manage.py", True),
        ("**/*.py", "app/views/home.py", True),
        ("*.py", "app/views/home.py", True),  # no "/": any depth
        ("app/*.py", "app/views/home.py", False),  # "*" stays in a directory
        ("app/*.py", "app/models.py", True),
        ("app/**/*.py", "app/models.py", True),
        ("app/**", "app/a/b.txt", True),
        ("templates/", "templates/base.html", True),  # a directory: everything inside
        ("templates", "app/templates/x.html", True),
        ("migrations", "app/migrations/0001.py", True),
        ("mig?ations", "app/migrations/0001.py", True),
        ("*.py[cod]", "a/__init__.pyc", True),
        ("[!a]*.py", "b.py", True),
        ("[!a]*.py", "a.py", False),
        ("*.py", "app/models.pyi", False),
        ("./app/*.py", "app/x.py", True),
        ("a.b", "axb", False),  # "." is literal
    ],
)
def test_glob_patterns(pattern, path, matches):
    assert glob_matches(pattern, path) is matches


def test_watched_ignores_defaults_user_patterns_and_log_files(tmp_path):
    s = settings_in(
        tmp_path,
        '[processes.web]\nwatch = ["**/*"]\nignore = ["media", "*.sqlite3"]\n'
        'log_file = "log/web.out"\n[processes.worker]\nlog_file = "var/worker.txt"\n',
    )
    assert s.watched("web.1", "app/views.py")
    assert s.watched("web", Path("app") / "templates" / "x.html")
    for ignored in (
        ".git/index",
        "app/__pycache__/views.cpython-311.pyc",
        "node_modules/x/index.js",
        ".venv/lib/site.py",
        "media/upload.png",
        "db.sqlite3",
        "log/web.out",
        "log/web.out.1",  # a rotated backup
        "var/worker.txt",  # another process's log: no restart loop
        "debug.log",
        "app/.views.py.swp",
    ):
        assert not s.watched("web", ignored), ignored
    assert not s.watched("worker", "app/views.py")  # no watch patterns: never restarted
    assert ".git" in DEFAULT_WATCH_IGNORE and "__pycache__" in DEFAULT_WATCH_IGNORE


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("procfile = 5", "procfile: expected a string, got 5"),
        ('procfile = ""', "procfile: must not be empty"),
        ('env = ".env"', 'env: expected an array of strings, got ".env"'),
        ('env = [".env", 3]', "env[1]: expected a string, got 3"),
        ("port = 0", "port: must be from 1 to 65535, got 0"),
        ('port = "5000"', 'port: expected an integer, got "5000"'),
        ("port = 5000.0", "port: expected an integer, got 5000.0"),
        ("timeout = -1", "timeout: must not be negative, got -1"),
        ("timeout = nan", "timeout: must be a finite number, got nan"),
        ("timeout = inf", "timeout: must be a finite number, got inf"),
        ("timeout = true", "timeout: expected a number (of seconds), got true"),
        ("timeout = 1979-05-27", "timeout: expected a number (of seconds), got a date/time"),
        ("scrollback = 0", "scrollback: must be from 1 to 1000000, got 0"),
        ("formation = 3", "formation: expected a table, got 3"),
        ("formation = { worker = -1 }", "formation.worker: must be from 0 to 100, got -1"),
        ("formation = { worker = 2.5 }", "formation.worker: expected an integer, got 2.5"),
        ("formation = { worker = 101 }", "formation.worker: must be from 0 to 100, got 101"),
        ('procfiel = "P"', 'procfiel: unknown key (did you mean "procfile"?)'),
        (
            "colours = true",
            "colours: unknown key (valid keys: procfile, env, port, timeout, scrollback, "
            "formation, makemigrations_check, processes, groups, editor, notify_on_crash)",
        ),
        (
            "[tool.tuirunner]\nport = 1",
            "tool: unknown key (in tuirunner.toml the keys are at the top level, without "
            "[tool.tuirunner])",
        ),
        ("processes = []", "processes: expected a table, got an array"),
        ("processes = { web = 1 }", "processes.web: expected a table, got 1"),
    ],
)
def test_validation_errors_of_global_keys(tmp_path, text, message):
    assert error_in(tmp_path, text + "\n") == f"{tmp_path / 'tuirunner.toml'}: {message}"


_ONE_OF_RESTART = 'expected "no", "on-failure" or "always"'
_ONE_OF_CONDITION = 'expected "started", "ready" or "completed"'
_ONE_CHECK = "needs one check: http, port, log, command or url"
_HTTP_URL = "expected an http:// or https:// URL with a host"
_STOPPING = "does not stop a process; use SIGTERM, SIGINT, SIGQUIT, SIGHUP or SIGKILL"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('oneshot = "yes"', 'oneshot: expected true or false, got "yes"'),
        ('autorestat = "always"', 'autorestat: unknown key (did you mean "autorestart"?)'),
        ("autorestart = true", f"autorestart: {_ONE_OF_RESTART}, got true"),
        ('autorestart = "on_failure"', f'autorestart: {_ONE_OF_RESTART}, got "on_failure"'),
        ("timeout = -5", "timeout: must not be negative, got -5"),
        ('timeout = "10s"', 'timeout: expected a number (of seconds), got "10s"'),
        # depends_on
        (
            'depends_on = "db"',
            'depends_on: expected a table (or an array of process names), got "db"',
        ),
        ('depends_on = ["db", "db"]', 'depends_on[1]: "db" is listed twice'),
        ("depends_on = [1]", "depends_on[0]: expected a string, got 1"),
        ('depends_on = { db = "healthy" }', f'depends_on.db: {_ONE_OF_CONDITION}, got "healthy"'),
        (
            "depends_on = { db = 1 }",
            f"depends_on.db: {_ONE_OF_CONDITION} or a table {{ condition, restart }}, got 1",
        ),
        (
            'depends_on = { db = { conditon = "ready" } }',
            'depends_on.db.conditon: unknown key (did you mean "condition"?)',
        ),
        (
            'depends_on = { db = { restart = "yes" } }',
            'depends_on.db.restart: expected true or false, got "yes"',
        ),
        ('depends_on = ["web"]', "depends_on: dependency cycle web -> web"),
        # ready
        ('ready = "http://x/"', 'ready: expected a table, got "http://x/"'),
        ("ready = {}", f"ready: {_ONE_CHECK}"),
        ("ready = { timeout = 3 }", f"ready: {_ONE_CHECK}"),
        (
            'ready = { http = "http://x/", port = 80 }',
            "ready: http and port cannot be combined; choose one check",
        ),
        (
            "ready = { tcp = 80 }",
            "ready.tcp: unknown key (valid keys: http, port, log, command, url, host, "
            "timeout, interval, headers)",
        ),
        ("ready = { http = 5 }", "ready.http: expected a string, got 5"),
        ('ready = { http = "ftp://x/" }', f'ready.http: {_HTTP_URL}, got "ftp://x/"'),
        ('ready = { http = "/health" }', f'ready.http: {_HTTP_URL}, got "/health"'),
        (
            'ready = { http = "http://localhost:99999/" }',
            'ready.http: invalid URL "http://localhost:99999/": Port out of range 0-65535',
        ),
        ("ready = { port = 70000 }", "ready.port: port 70000 is out of range (1 to 65535)"),
        ("ready = { port = 0 }", "ready.port: port 0 is out of range (1 to 65535)"),
        (
            'ready = { port = "8000" }',
            'ready.port: expected a port number or a variable such as "$PORT", got "8000"',
        ),
        (
            "ready = { port = true }",
            'ready.port: expected a port number or a variable such as "$PORT", got true',
        ),
        (
            'ready = { log = "(unclosed" }',
            "ready.log: invalid regular expression: missing ), unterminated subpattern at "
            "position 0",
        ),
        ('ready = { command = " " }', "ready.command: must not be empty"),
        (
            'ready = { log = "x", host = "h" }',
            "ready.host: only used with port or http, not log",
        ),
        (
            'ready = { port = 80, headers = { A = "b" } }',
            "ready.headers: only used with http, not port",
        ),
        (
            'ready = { http = "http://x/", headers = { "A B" = "b" } }',
            'ready.headers."A B": not a valid HTTP header name',
        ),
        (
            'ready = { http = "http://x/", headers = { A = "b\\nc" } }',
            "ready.headers.A: a header value is one line of text",
        ),
        ("health = { interval = 3 }", "health: needs one check: http, port or command"),
        (
            'health = { log = "x" }',
            "health.log: unknown key (valid keys: http, port, "
            "command, host, headers, interval, timeout, failures)",
        ),
        ("health = { port = 80, failures = 0 }", "health.failures: must be from 1 to 100, got 0"),
        ("port = 0", "port: must be from 1 to 65535, got 0"),
        ('stop_command = ""', "stop_command: must not be empty"),
        (
            'env = { TUIRUNNER_PORT_WEB = "1" }',
            "env.TUIRUNNER_PORT_WEB: TUIRUNNER_PORT_WEB is set by tuirunner for each process",
        ),
        ("ready = { port = 80, timeout = 0 }", "ready.timeout: must be greater than 0, got 0"),
        (
            "ready = { port = 80, interval = -1 }",
            "ready.interval: must be from 0.05 to 60 (seconds), got -1",
        ),
        # backoff
        ("backoff = 5", "backoff: expected a table, got 5"),
        (
            "backoff = { initial = 10, max = 5 }",
            "backoff.initial: initial (10) is greater than max (5)",
        ),
        ("backoff = { max = 0.5 }", "backoff.max: initial (1) is greater than max (0.5)"),
        (
            "backoff = { initial = 0 }",
            "backoff.initial: must be from 0.05 to 86400 (seconds), got 0",
        ),
        ("backoff = { reset_after = -1 }", "backoff.reset_after: must not be negative, got -1"),
        (
            "backoff = { factor = 2 }",
            "backoff.factor: unknown key (valid keys: initial, max, reset_after)",
        ),
        # watch, ignore
        ('watch = "**/*.py"', 'watch: expected an array of strings, got "**/*.py"'),
        ("watch = [1]", "watch[0]: expected a string, got 1"),
        (
            'watch = ["*.py", "/srv/app/*.py"]',
            'watch[1]: "/srv/app/*.py" must be relative to the app root',
        ),
        ('ignore = ["../shared"]', 'ignore[0]: "../shared" must stay inside the app root'),
        # stop_signal
        ('stop_signal = "SIGFOO"', 'stop_signal: unknown signal "SIGFOO"'),
        ("stop_signal = 2", 'stop_signal: expected a signal name such as "SIGINT", got 2'),
        ('stop_signal = "STOP"', f"stop_signal: SIGSTOP {_STOPPING}"),
        ('stop_signal = "SIGCHLD"', f"stop_signal: SIGCHLD {_STOPPING}"),
        # env
        ('env = ["A=1"]', "env: expected a table, got an array"),
        ("env = { DEBUG = 1 }", 'env.DEBUG: expected a string, got 1 (quote it: "1")'),
        ("env = { DEBUG = [] }", "env.DEBUG: expected a string, got an array"),
        ('env = { PORT = "80" }', "env.PORT: PORT is set by tuirunner for each process"),
        (
            'env = { "A B" = "1" }',
            'env."A B": not a valid variable name (letters, digits and _)',
        ),
        ('env = { 1X = "1" }', "env.1X: not a valid variable name (letters, digits and _)"),
        # log_file
        ('log_file = ""', "log_file: must not be empty"),
        ('log_file = "log/"', 'log_file: "log/" is a directory, not a file'),
        ("log_file = true", "log_file: expected a string, got true"),
        (
            "log_max_bytes = 0",
            "log_max_bytes: must be from 65536 to 1099511627776, got 0",
        ),
        ('log_max_bytes = "10MB"', 'log_max_bytes: expected an integer, got "10MB"'),
        ("log_backups = -1", "log_backups: must be from 0 to 100, got -1"),
    ],
)
def test_validation_errors_of_process_keys(tmp_path, text, message):
    file = tmp_path / "tuirunner.toml"
    assert error_in(tmp_path, f"[processes.web]\n{text}\n") == f"{file}: processes.web.{message}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[processes.release]\noneshot = true\nautorestart = "always"',
            'processes.release.autorestart: "always" contradicts oneshot = true (a oneshot runs '
            'to completion); use "on-failure" to retry it until it succeeds',
        ),
        (
            '[processes.web]\ndepends_on = { db = "ready" }',
            'processes.web.depends_on.db: condition "ready" needs a ready check on db '
            "(processes.db.ready)",
        ),
        (
            '[processes.web]\ndepends_on = { release = "completed" }\n[processes.release]\n',
            'processes.web.depends_on.release: condition "completed" needs release to be a '
            "oneshot (processes.release.oneshot = true)",
        ),
        (
            '[processes.web]\ndepends_on = ["worker"]\n[processes.worker]\ndepends_on = ["web"]',
            "processes.web.depends_on: dependency cycle web -> worker -> web",
        ),
        (
            '[processes.a]\ndepends_on = ["b"]\n[processes.b]\ndepends_on = ["c"]\n'
            '[processes.c]\ndepends_on = ["b"]',
            "processes.b.depends_on: dependency cycle b -> c -> b",
        ),
        (
            '[processes.web]\nlog_file = "log/all.log"\n'
            '[processes.worker]\nlog_file = "log/./all.log"',
            'processes.worker.log_file: "log/./all.log" is also the log file of web',
        ),
    ],
)
def test_validation_errors_across_processes(tmp_path, text, message):
    assert error_in(tmp_path, text + "\n") == f"{tmp_path / 'tuirunner.toml'}: {message}"


def test_errors_in_pyproject_carry_the_tool_tuirunner_prefix(tmp_path):
    text = "[tool.tuirunner.processes.web]\nready = { http = 5 }\n"
    assert error_in(tmp_path, text, "pyproject.toml") == (
        f"{tmp_path / 'pyproject.toml'}: tool.tuirunner.processes.web.ready.http: "
        "expected a string, got 5"
    )
    assert error_in(tmp_path, "[tool]\ntuirunner = 5\n", "pyproject.toml") == (
        f"{tmp_path / 'pyproject.toml'}: tool.tuirunner: expected a table, got 5"
    )
    text = '[tool.tuirunner.processes.web]\ndepends_on = { db = "ready" }\n'
    assert error_in(tmp_path, text, "pyproject.toml").endswith(
        'tool.tuirunner.processes.web.depends_on.db: condition "ready" needs a ready check on '
        "db (tool.tuirunner.processes.db.ready)"
    )


def test_a_settings_error_is_a_user_error_with_its_parts(tmp_path):
    with pytest.raises(UserError) as exc:
        settings_in(tmp_path, "port = 0\n")
    err = exc.value
    assert isinstance(err, SettingsError) and err.exit_code == 1
    assert (err.file, err.key, err.line) == (tmp_path / "tuirunner.toml", "port", None)
    assert err.reason == "must be from 1 to 65535, got 0"


PROCFILE = parse_procfile_text("web: w\nworker: k\n", Path("Procfile"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[processes.wbe]\n", "processes.wbe: unknown process 'wbe'"),
        ("formation = { wrk = 2 }\n", "formation.wrk: unknown process 'wrk'"),
        (
            '[processes.web]\ndepends_on = ["db"]\n',
            "processes.web.depends_on.db: unknown process 'db'",
        ),
    ],
)
def test_unknown_process_names_are_errors_against_the_procfile(tmp_path, text, message):
    s = settings_in(tmp_path, text)
    with pytest.raises(SettingsError) as exc:
        s.validate_processes(PROCFILE)
    file = tmp_path / "tuirunner.toml"
    assert str(exc.value) == f"{file}: {message}; Procfile defines web, worker"


def test_known_process_names_and_no_settings_validate(tmp_path):
    s = settings_in(
        tmp_path, 'formation = { all = 2, web = 1 }\n[processes.worker]\ndepends_on = ["web"]\n'
    )
    s.validate_processes(PROCFILE)  # no exception: "all" and known names
    Settings().validate_processes(PROCFILE)
    assert s.formation == {"all": 2, "web": 1}


# --- files and discovery -------------------------------------------------------------------------


def test_toml_syntax_error_names_file_and_line(tmp_path):
    text = '[project]\nname = "x"\n[tool.tuirunner]\nport = \n'
    message = error_in(tmp_path, text, "pyproject.toml")
    assert message.startswith(f"{tmp_path / 'pyproject.toml'}:4: invalid TOML: ")
    assert re.search(r"\(column \d+\)$", message), message
    (tmp_path / "pyproject.toml").unlink()
    message = error_in(tmp_path, "port = 1\nport = 2\n")
    assert message.startswith(f"{tmp_path / 'tuirunner.toml'}:2: invalid TOML: ")


def test_invalid_utf8_names_the_line(tmp_path):
    (tmp_path / "tuirunner.toml").write_bytes(b'port = 1\nprocfile = "caf\xe9"\n')
    with pytest.raises(SettingsError, match=r"tuirunner\.toml:2: not valid UTF-8$"):
        load_settings(tmp_path)


def test_non_regular_huge_and_dangling_files_are_refused(tmp_path):
    path = tmp_path / "tuirunner.toml"
    path.mkdir()
    with pytest.raises(SettingsError, match=r"tuirunner\.toml: is a directory, not a settings"):
        load_settings(tmp_path)
    path.rmdir()
    os.mkfifo(path)  # reading it would block: it is refused before opening
    with pytest.raises(SettingsError, match=r"tuirunner\.toml: not a regular file$"):
        load_settings(tmp_path)
    path.unlink()
    with open(path, "wb") as f:
        f.truncate(MAX_SETTINGS_BYTES + 1)
    with pytest.raises(SettingsError, match=r"tuirunner\.toml: too large for a settings file"):
        load_settings(tmp_path)
    path.unlink()
    path.symlink_to(tmp_path / "missing.toml")
    with pytest.raises(SettingsError, match=r"tuirunner\.toml: cannot read: No such file"):
        load_settings(tmp_path)


def test_no_settings_files_or_a_pyproject_without_the_table(tmp_path):
    assert load_settings(tmp_path) == Settings()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.ruff]\nfix = true\n')
    assert load_settings(tmp_path) == Settings()


def test_pyproject_table_is_used_before_nothing_else(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.tuirunner]\nport = 7000\n")
    s = load_settings(tmp_path)
    assert (s.port, s.path, s.prefix, s.source) == (
        7000,
        tmp_path / "pyproject.toml",
        "tool.tuirunner",
        f"{tmp_path / 'pyproject.toml'} [tool.tuirunner]",
    )
    (tmp_path / "pyproject.toml").write_text("[tool.tuirunner]\n")  # an empty table counts
    assert load_settings(tmp_path).path == tmp_path / "pyproject.toml"


def test_tuirunner_toml_when_pyproject_has_no_table(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    (tmp_path / "tuirunner.toml").write_text("port = 7100\n")
    s = load_settings(tmp_path)
    assert (s.port, s.path, s.prefix, s.source) == (
        7100,
        tmp_path / "tuirunner.toml",
        "",
        str(tmp_path / "tuirunner.toml"),
    )


def test_both_pyproject_table_and_tuirunner_toml_is_an_error(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.tuirunner]\nport = 7000\n")
    (tmp_path / "tuirunner.toml").write_text("port = 7100\n")
    with pytest.raises(SettingsError) as exc:
        load_settings(tmp_path)
    assert str(exc.value) == (
        f"{tmp_path / 'tuirunner.toml'}: settings are also in {tmp_path / 'pyproject.toml'} "
        "[tool.tuirunner]; keep only one of them"
    )


def test_tuirunner_toml_beside_a_procfile_in_another_directory_wins(tmp_path):
    write_files(
        tmp_path,
        {
            "pyproject.toml": "[tool.tuirunner]\nport = 7000\n",
            "ci/Procfile": "web: a\n",
            "ci/tuirunner.toml": "port = 7200\n",
            "other/Procfile": "web: a\n",
            "Procfile.dev": "web: a\n",
        },
    )
    assert load_settings(tmp_path, "ci/Procfile").port == 7200
    assert load_settings(tmp_path, tmp_path / "ci" / "Procfile").port == 7200
    assert load_settings(tmp_path, "other/Procfile").port == 7000  # nothing beside it
    assert load_settings(tmp_path, "Procfile.dev").port == 7000  # same directory
    assert load_settings(tmp_path, "missing/Procfile").port == 7000
    assert load_settings(tmp_path).port == 7000


def test_an_invalid_pyproject_is_an_error_even_without_the_table(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project\n")
    with pytest.raises(SettingsError, match=r"pyproject\.toml:1: invalid TOML"):
        load_settings(tmp_path)


# --- the command line ----------------------------------------------------------------------------

PRINT = "web: echo web=$PS:$PORT:$WHERE\nworker: echo worker=$PS:$PORT:$WHERE\n"


def seen(result) -> set[str]:
    """``{"web.1:7000:dev", …}`` from the lines the processes printed."""
    return set(re.findall(r"\| \w+=(\S+)$", result.stdout, re.M))


SETTINGS_PROJECT = {
    "Procfile": "web: echo wrong procfile\n",
    "Procfile.dev": PRINT,
    "Procfile.other": PRINT.replace("=$PS", "=other-$PS"),
    ".env.dev": "WHERE=dev\n",
    ".env.other": "WHERE=other\n",
    "pyproject.toml": (
        '[project]\nname = "x"\n\n[tool.tuirunner]\nprocfile = "Procfile.dev"\n'
        'env = [".env.dev", ".env.local"]\nport = 7000\nformation = { worker = 2 }\n'
    ),
}


def test_start_uses_the_settings_as_defaults(tmp_path):
    write_files(tmp_path, SETTINGS_PROJECT)  # .env.local is missing: fine when from settings
    result = run_cli([], tmp_path)
    assert result.returncode == 0, result.stderr
    assert seen(result) == {"web.1:7000:dev", "worker.1:7100:dev", "worker.2:7101:dev"}


def test_command_line_flags_win_over_the_settings(tmp_path):
    write_files(tmp_path, SETTINGS_PROJECT)
    result = run_cli(["-f", "Procfile.other", "-e", ".env.other", "-p", "8000"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert seen(result) == {
        "other-web.1:8000:other",
        "other-worker.1:8100:other",
        "other-worker.2:8101:other",
    }
    result = run_cli(["-c", "web=2"], tmp_path)  # merged per type with the formation
    assert seen(result) == {
        "web.1:7000:dev",
        "web.2:7001:dev",
        "worker.1:7100:dev",
        "worker.2:7101:dev",
    }
    result = run_cli(["-c", "all=1"], tmp_path)  # all=N replaces the formation
    assert seen(result) == {"web.1:7000:dev", "worker.1:7100:dev"}
    result = run_cli(["-e", ".env.local"], tmp_path)  # named with -e: must exist
    assert (result.returncode, result.stderr) == (
        1,
        "tuirunner: error: .env.local: env file does not exist\n",
    )


def test_procfile_and_port_variables_win_over_the_settings(tmp_path):
    write_files(tmp_path, SETTINGS_PROJECT)
    env = clean_env(PROCFILE="Procfile.other", PORT="9000")
    result = run_cli([], tmp_path, env=env)
    assert seen(result) == {
        "other-web.1:9000:dev",
        "other-worker.1:9100:dev",
        "other-worker.2:9101:dev",
    }
    write_files(tmp_path, {".env.dev": "WHERE=dev\nPORT=9100\n"})
    assert seen(run_cli([], tmp_path)) == {
        "web.1:9100:dev",
        "worker.1:9200:dev",
        "worker.2:9201:dev",
    }


def test_an_empty_env_list_loads_no_env_file(tmp_path):
    write_files(
        tmp_path,
        {"Procfile": PRINT, ".env": "WHERE=dotenv\n", "tuirunner.toml": "env = []\n"},
    )
    assert seen(run_cli(["web"], tmp_path)) == {"web.1:5000:"}
    (tmp_path / "tuirunner.toml").unlink()
    assert seen(run_cli(["web"], tmp_path)) == {"web.1:5000:dotenv"}


def test_run_and_env_use_the_settings_env_files(tmp_path):
    write_files(tmp_path, SETTINGS_PROJECT)
    result = run_cli(["run", "echo $WHERE"], tmp_path)
    assert (result.returncode, result.stdout) == (0, "dev\n")
    result = run_cli(["env", "--filter", "files", "--process", "worker.2"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["# Environment of worker.2", "WHERE = dev  # .env.dev:1"]


def test_timeout_and_scrollback_default_to_the_settings_and_flags_win(tmp_path):
    write_files(tmp_path, {"tuirunner.toml": "timeout = 1.5\nscrollback = 300\n"})
    project = load_project(RunOptions.from_args(parse_args(["-d", str(tmp_path)])))
    assert (project.timeout, project.scrollback) == (1.5, 300)
    args = parse_args(["-d", str(tmp_path), "-t", "9", "start", "--scrollback", "50"])
    project = load_project(RunOptions.from_args(args))
    assert (project.timeout, project.scrollback) == (9.0, 50)
    (tmp_path / "elsewhere").mkdir()
    project = load_project(RunOptions(app_root=str(tmp_path / "elsewhere")))
    assert (project.timeout, project.scrollback, project.concurrency) == (5.0, 10_000, {})


def test_settings_reach_the_keeper(tmp_path):
    write_files(
        tmp_path,
        {
            "Procfile": "web: sleep 60\nworker: sleep 60\n",
            "tuirunner.toml": "timeout = 0.5\nscrollback = 300\nformation = { worker = 2 }\n",
        },
    )
    result = run_cli(["start", "--detach", "-d", str(tmp_path)], tmp_path)
    assert result.returncode == 0, result.stderr
    try:
        client = Client.connect(tmp_path, output=False, tail=0)
        client.close()
        assert [p.name for p in client.processes] == ["web.1", "worker.1", "worker.2"]
        assert (client.timeout, client.scrollback) == (0.5, 300)
    finally:
        run_cli(["down", "-d", str(tmp_path)], tmp_path)


def test_check_reports_the_settings(tmp_path):
    write_files(tmp_path, SETTINGS_PROJECT)
    write_files(
        tmp_path,
        {
            "pyproject.toml": SETTINGS_PROJECT["pyproject.toml"]
            + '[tool.tuirunner.processes.web]\nstop_signal = "INT"\n',
        },
    )
    result = run_cli(["check"], tmp_path)
    assert (result.returncode, result.stdout) == (0, "")
    # (the settings' port is 7000: something else on this machine may hold it, and check says so)
    said = "".join(
        line
        for line in result.stderr.splitlines(keepends=True)
        if not (line.startswith("tuirunner: warning:") and "is already in use" in line)
    )
    assert said == (
        "Valid procfile detected (web, worker)\n"
        "Settings: pyproject.toml [tool.tuirunner] (1 process configured)\n"
        "Ports:\n"
        "  web.1     7000   Procfile.dev line 1: base port 7000 + 100 × 0\n"
        "  worker.1  7100   Procfile.dev line 2: base port 7000 + 100 × 1\n"
        "  worker.2  7101   Procfile.dev line 2: base port 7000 + 100 × 1 + 1\n"
    )


@pytest.mark.parametrize("command", [["check"], [], ["env"], ["run", "true"]])
def test_invalid_settings_fail_every_command_with_one_line(tmp_path, command):
    write_files(
        tmp_path,
        {
            "Procfile": "web: echo hi\n",
            "pyproject.toml": "[tool.tuirunner.processes.web]\nready = { http = 5 }\n",
        },
    )
    result = run_cli(command, tmp_path)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "tuirunner: error: pyproject.toml: tool.tuirunner.processes.web.ready.http: "
        "expected a string, got 5\n"
    )


def test_check_refuses_unknown_processes_and_bad_toml(tmp_path):
    write_files(tmp_path, {"Procfile": "web: a\n", "tuirunner.toml": "[processes.wbe]\n"})
    result = run_cli(["check"], tmp_path)
    assert (result.returncode, result.stderr) == (
        1,
        "tuirunner: error: tuirunner.toml: processes.wbe: unknown process 'wbe'; Procfile "
        "defines web\n",
    )
    write_files(tmp_path, {"tuirunner.toml": "timeout = \n"})
    result = run_cli(["check"], tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("tuirunner: error: tuirunner.toml:1: invalid TOML: ")
    assert len(result.stderr.splitlines()) == 1


def test_settings_follow_the_app_root_and_a_procfile_elsewhere(tmp_path):
    write_files(
        tmp_path,
        {
            "app/Procfile": "web: a\n",
            "app/tuirunner.toml": "[processes.web]\noneshot = true\n",
            "app/ci/Procfile": "job: b\n",
            "app/ci/tuirunner.toml": "[processes.job]\noneshot = true\n",
        },
    )
    result = run_cli(["-d", "app", "check"], tmp_path)
    assert result.stderr.splitlines()[:2] == [
        "Valid procfile detected (web)",
        "Settings: app/tuirunner.toml (1 process configured)",
    ]
    result = run_cli(["-d", "app", "-f", "ci/Procfile", "check"], tmp_path)
    assert result.stderr.splitlines()[:2] == [
        "Valid procfile detected (job)",
        "Settings: app/ci/tuirunner.toml (1 process configured)",
    ]


def test_without_settings_check_output_is_unchanged(tmp_path):
    write_files(
        tmp_path,
        {"Procfile": "web: a\n", "pyproject.toml": '[project]\nname = "x"\n[tool.black]\n'},
    )
    result = run_cli(["check"], tmp_path)
    assert (result.returncode, result.stderr) == (0, "Valid procfile detected (web)\n")


# --- the README ---------------------------------------------------------------------------------

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_settings_section() -> str:
    text = README.read_text()
    return text[text.index("\n## Settings\n") : text.index("\n## Compatibility with honcho")]


def test_the_readme_documents_every_key():
    from tuirunner import settings as mod

    section = readme_settings_section()
    keys = (
        *mod.GLOBAL_KEYS,
        *mod.PROCESS_KEYS,
        *mod.READY_KEYS,
        *mod.HEALTH_KEYS,
        *mod.BACKOFF_KEYS,
        *mod.DEPENDENCY_KEYS,
        *(f'"{c.value}"' for c in Condition),
        *(f'"{r.value}"' for r in AutoRestart),
        *DEFAULT_WATCH_IGNORE,
    )
    missing = [key for key in keys if f"`{key}`" not in section]
    assert missing == []


def test_the_readme_example_is_valid_and_check_prints_what_it_says(tmp_path):
    section = readme_settings_section()
    example = section[section.index("### A complete example") :]
    procfile, toml, expected = re.findall(r"```\w*\n(.*?)```", example, re.S)[:3]
    assert "<!-- settings:example -->\n```toml" in example
    write_files(tmp_path, {"Procfile.dev": procfile, "pyproject.toml": toml})
    result = run_cli(["check"], tmp_path)
    assert (result.returncode, result.stderr) == (0, expected)
    s = load_settings(tmp_path)
    assert s.process("worker").depends_on[1] == Dependency("release", Condition.COMPLETED, True)


def test_the_readme_shows_the_demos_settings_as_they_are():
    root = README.parent
    section = readme_settings_section()
    demo = section[section.index("### The demo's settings") :]
    procfile, toml = re.findall(r"```\w*\n(.*?)```", demo, re.S)[:2]
    assert "<!-- settings:demo -->\n```toml" in demo
    assert toml == (root / "tuirunner.toml").read_text()
    lines = [
        line
        for line in (root / "Procfile.example").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert procfile.splitlines() == lines
    result = run_cli(["-f", "Procfile.example", "-e", "example/.env", "check"], root)
    assert result.stderr.splitlines()[:2] == [
        "Valid procfile detected (web, worker, mail, release)",
        "Settings: tuirunner.toml (3 processes configured)",
    ]
