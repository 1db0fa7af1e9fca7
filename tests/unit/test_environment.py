import io
import json
import os
from pathlib import Path

import pytest
from dotenv import dotenv_values

from tests.helpers import over_the_wire
from tuirunner.environment import (
    EnvFileSpec,
    FilterMode,
    SourceKind,
    WarningKind,
    env_file_specs,
    load_environment,
)
from tuirunner.errors import UserError
from tuirunner.secrets import MASK


def spec(root: Path, name: str, explicit: bool = True) -> EnvFileSpec:
    return EnvFileSpec(root / name, name, explicit)


def test_env_files_override_the_shell_and_later_files_win_with_provenance(tmp_path):
    (tmp_path / ".env").write_text("# comment\nFOO=from-env\nBAR=one\nexport ONLY_ENV=1\n")
    (tmp_path / ".env.local").write_text("BAR=two\n")
    env = load_environment(
        [spec(tmp_path, ".env"), spec(tmp_path, ".env.local")],
        {"FOO": "from-shell", "HOME": "/home/me"},
        tmp_path,
    )
    assert env.as_dict() == {"FOO": "from-env", "HOME": "/home/me", "BAR": "two", "ONLY_ENV": "1"}
    foo = env.variables["FOO"]
    assert str(foo.source) == ".env:2"
    assert foo.shell_value == "from-shell"
    assert [str(d.source) for d in foo.shadowed] == ["shell"]
    assert "overrides shell value 'from-shell'" in foo.notes()
    bar = env.variables["BAR"]
    assert str(bar.source) == ".env.local:1"
    assert [(d.value, str(d.source)) for d in bar.shadowed] == [("one", ".env:3")]
    assert "defined in .env:3, .env.local:1; .env.local:1 wins" in bar.notes()
    assert env.variables["HOME"].source.kind is SourceKind.SHELL
    assert env.variables["ONLY_ENV"].value == "1"


def test_values_match_python_dotenv_for_a_tricky_file(tmp_path, monkeypatch):
    text = (
        'A="double quoted"\n'
        "B='single ${A}'\n"
        "C=unquoted value # a comment\n"
        'D="multi\nline"\n'
        "E=${A}/x\n"
        "F=${MISSING:-fallback}\n"
        "G=\n"
        "export H=exported\n"
        "I='it''s'\n"
        'J="esc\\"aped\\n"\n'
    )
    (tmp_path / ".env").write_text(text)
    monkeypatch.setattr("os.environ", {"SHELLVAR": "s"})
    expected = dotenv_values(stream=io.StringIO(text))
    env = load_environment([spec(tmp_path, ".env")], {}, tmp_path)
    assert {k: env.get(k) for k in expected} == expected
    assert env.variables["E"].definition.references == ("A",)
    assert "interpolated from ${A}" in env.variables["E"].notes()
    assert "empty" in env.variables["G"].notes()


def test_interpolation_sees_earlier_files_and_the_shell(tmp_path):
    (tmp_path / ".env").write_text("BASE=/srv/app\n")
    (tmp_path / ".env.local").write_text("MEDIA=${BASE}/media\nUSERDIR=${HOME}/x\n")
    env = load_environment(
        [spec(tmp_path, ".env"), spec(tmp_path, ".env.local")], {"HOME": "/home/me"}, tmp_path
    )
    assert env.get("MEDIA") == "/srv/app/media"
    assert env.get("USERDIR") == "/home/me/x"


def test_interpolating_an_undefined_variable_is_noted(tmp_path):
    (tmp_path / ".env").write_text("URL=http://${HOST}:${PORT:-80}/\n")
    env = load_environment([spec(tmp_path, ".env")], {}, tmp_path)
    url = env.variables["URL"]
    assert url.value == "http://:80/"
    assert "HOST not set when interpolated" in url.notes()


def test_unparseable_lines_become_warnings_with_file_line_and_masked_value(tmp_path):
    (tmp_path / ".env").write_text('OK=1\nDB_PASSWORD="hunter2"trailing\nALSO_OK=2\nLONELY\n')
    env = load_environment([spec(tmp_path, ".env")], {}, tmp_path)
    assert env.get("OK") == "1" and env.get("ALSO_OK") == "2"
    assert env.get("DB_PASSWORD") is None and env.get("LONELY") is None
    parse = [w for w in env.warnings if w.kind is WarningKind.PARSE]
    assert [(w.file, w.line) for w in parse] == [(".env", 2)]
    assert "hunter2" not in str(parse[0])
    assert parse[0].text == f"DB_PASSWORD={MASK}"
    no_value = [w for w in env.warnings if w.kind is WarningKind.NO_VALUE]
    assert [(w.line, w.name) for w in no_value] == [(4, "LONELY")]


GITHUB_TOKEN_VALUE = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ('SECRET_KEY="abc', f"SECRET_KEY={MASK}"),
        ('DEBUG="on', 'DEBUG="on'),  # nothing secret: the user sees what is wrong
        ("export EMAIL_HOST='smtp.example.com", "export EMAIL_HOST='smtp.example.com"),
        (
            'DATABASE_URL="postgres://app:hunter2@db/app',
            f'DATABASE_URL="postgres://app:{MASK}@db/app',
        ),
        (f'UPSTREAM="https://api.example.com/?t={GITHUB_TOKEN_VALUE}', f"UPSTREAM={MASK}"),
        (f'"{GITHUB_TOKEN_VALUE}', MASK),  # a bare pasted token shows nothing of itself
        ('"hunter2', MASK),  # nor does a bare word: it may be a password
    ],
)
def test_an_unparseable_line_masks_only_what_is_secret(tmp_path, line, shown):
    (tmp_path / ".env").write_text(f"OK=1\n{line}\n")
    env = load_environment([spec(tmp_path, ".env")], {}, tmp_path)
    assert env.get("OK") == "1"
    assert [(w.kind, w.line, w.text) for w in env.warnings] == [(WarningKind.PARSE, 2, shown)]
    assert "hunter2" not in str(env.warnings[0]) and "A1b2" not in str(env.warnings[0])


def test_a_pasted_token_alone_on_a_line_is_not_named_in_a_warning(tmp_path):
    jwt = (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
        "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    )
    (tmp_path / ".env").write_text(f"OK=1\n{jwt}\nDECLARED\n")
    env = load_environment([spec(tmp_path, ".env")], {}, tmp_path)
    assert [(w.kind, w.line) for w in env.warnings] == [
        (WarningKind.PARSE, 2),
        (WarningKind.NO_VALUE, 3),
    ]
    assert "eyJ" not in "\n".join(map(str, env.warnings))
    assert env.warnings[1].name == "DECLARED"


def test_missing_files_explicit_and_default(tmp_path):
    specs = env_file_specs(None, tmp_path)
    assert [(s.display, s.explicit) for s in specs] == [(".env", False)]
    assert load_environment(specs, {}, tmp_path).warnings == ()
    specs = env_file_specs([".env.a,.env.b", ".env.c"], tmp_path)
    assert [s.display for s in specs] == [".env.a", ".env.b", ".env.c"]
    env = load_environment(specs, {}, tmp_path)
    assert [(w.kind, w.file) for w in env.warnings] == [
        (WarningKind.MISSING_FILE, ".env.a"),
        (WarningKind.MISSING_FILE, ".env.b"),
        (WarningKind.MISSING_FILE, ".env.c"),
    ]


def test_variables_listed_in_env_example_but_defined_nowhere(tmp_path):
    (tmp_path / ".env.example").write_text("SECRET_KEY=\nDEBUG=0\nFROM_SHELL=\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".env").write_text("DEBUG=1\n")
    (tmp_path / "sub" / ".env.sample").write_text("WORKERS=\n")
    env = load_environment([spec(tmp_path, "sub/.env")], {"FROM_SHELL": "x"}, tmp_path)
    missing = {w.name: w for w in env.warnings if w.kind is WarningKind.MISSING_VAR}
    assert set(missing) == {"SECRET_KEY", "WORKERS"}
    assert missing["SECRET_KEY"].file == ".env.example"
    assert missing["WORKERS"].file == "sub/.env.sample"


def test_runner_variables_and_filters(tmp_path):
    (tmp_path / ".env").write_text("PORT=9000\nSECRET_KEY=abc\nSAME=1\n")
    env = load_environment([spec(tmp_path, ".env")], {"SAME": "1", "HOME": "/h"}, tmp_path)
    proc_env = env.with_runner_vars({"PORT": "5000", "PS": "web.1"})
    port = proc_env.variables["PORT"]
    assert port.value == "5000" and str(port.source) == "tuirunner"
    assert "replaces .env:1" in port.notes()
    names = lambda mode: [v.name for v in proc_env.rows(mode)]  # noqa: E731
    assert names(FilterMode.FILES) == ["SAME", "SECRET_KEY"]
    assert names(FilterMode.CHANGED) == ["PORT", "PS", "SECRET_KEY"]
    assert "HOME" in names(FilterMode.ALL)
    assert [v.name for v in proc_env.rows(query="secr")] == ["SECRET_KEY"]
    assert [v.name for v in proc_env.rows(query="abc")] == []  # secret values are not searched


def test_diff(tmp_path):
    a = load_environment([], {"A": "1", "B": "2"}, None)
    b = load_environment([], {"B": "3", "C": "4"}, None)
    change = a.diff(b)
    assert (change.added, change.removed, change.changed) == (("C",), ("A",), ("B",))
    assert change.summary() == "added C; removed A; changed B"
    assert not a.diff(a)


def test_json_masks_secrets_and_shadowed_values(tmp_path):
    (tmp_path / ".env").write_text("API_KEY=new-secret\nDATABASE_URL=postgres://u:pw@h/db\n")
    env = load_environment([spec(tmp_path, ".env")], {"API_KEY": "old-secret"}, tmp_path)
    data = env.variables["API_KEY"].to_json()
    assert data["value"] == MASK and data["masked"] is True
    assert data["shadowed"] == [
        {"value": MASK, "source": "shell", "kind": "shell", "file": None, "line": None}
    ]
    assert "old-secret" not in str(data) and "new-secret" not in str(data)
    assert env.variables["DATABASE_URL"].to_json()["value"] == f"postgres://u:{MASK}@h/db"
    assert env.variables["API_KEY"].to_json(reveal=True)["value"] == "new-secret"


def test_values_built_from_secrets_are_secret_too(tmp_path):
    (tmp_path / ".env").write_text(
        "UPSTREAM=https://api.example.com/?key=${STRIPE_SECRET}\nALIAS=${UPSTREAM}\nX=${HOME}\n"
    )
    env = load_environment([spec(tmp_path, ".env")], {"STRIPE_SECRET": "sk_live_1"}, tmp_path)
    for name in ("UPSTREAM", "ALIAS"):
        var = env.variables[name]
        assert var.secret and var.shown_value() == MASK
        assert "sk_live_1" not in str(var.to_json())
    assert not env.variables["X"].secret


def test_nul_in_a_value_is_a_warning_not_a_crash(tmp_path):
    (tmp_path / ".env").write_bytes(b"GOOD=1\nBAD=a\x00b\n")
    env = load_environment([spec(tmp_path, ".env")], {}, tmp_path)
    assert env.get("GOOD") == "1" and env.get("BAD") is None
    assert [(w.line, w.name) for w in env.warnings] == [(2, "BAD")]


def test_a_line_that_is_not_an_assignment_shows_nothing_of_itself(tmp_path):
    (tmp_path / ".env").write_text('=hunter3\n"ghp_pasted_token\n')
    env = load_environment([spec(tmp_path, ".env")], {}, tmp_path)
    shown = [str(w) for w in env.warnings]
    assert len(shown) == 2 and all("hun" not in t and "ghp" not in t for t in shown)


def test_each_masked_variable_says_why(tmp_path):
    github = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    (tmp_path / ".env").write_text(
        f"FOO={github}\n"
        "DATABASE_URL=postgres://app:hunter2@db/app\n"
        "SECRET_KEY=abc\n"
        "UPSTREAM=https://api.example.com/?q=${FOO}\n"
        "PLAIN=https://example.com/\n"
    )
    env = load_environment([spec(tmp_path, ".env")], {}, tmp_path)
    reasons = {name: var.secret_reason for name, var in env.variables.items()}
    assert reasons == {
        "FOO": "GitHub token",
        "DATABASE_URL": "URL password",
        "SECRET_KEY": "name",
        "UPSTREAM": "built from FOO",
        "PLAIN": None,
    }
    foo = env.variables["FOO"]
    assert foo.shown_value() == MASK and foo.secret
    assert "masked: GitHub token format" in foo.notes()
    assert "secret: GitHub token format" in foo.notes(reveal=True)
    assert "masked: URL password" in env.variables["DATABASE_URL"].notes()
    assert "masked: secret-looking name" in env.variables["SECRET_KEY"].notes()
    assert "masked: built from FOO" in env.variables["UPSTREAM"].notes()
    assert not any("masked" in n for n in env.variables["PLAIN"].notes())
    data = foo.to_json()
    assert (data["masked"], data["masked_because"], data["secret_reason"]) == (
        True,
        "GitHub token",
        "GitHub token",
    )
    assert github not in json.dumps([v.to_json() for v in env.variables.values()])
    revealed = foo.to_json(reveal=True)
    assert (revealed["value"], revealed["masked"], revealed["masked_because"]) == (
        github,
        False,
        None,
    )
    plain = env.variables["PLAIN"].to_json()
    assert (plain["masked"], plain["masked_because"], plain["secret_reason"]) == (
        False,
        None,
        None,
    )


def test_a_shadowed_token_is_masked_too(tmp_path):
    github = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    (tmp_path / ".env").write_text("FOO=override\n")
    env = load_environment([spec(tmp_path, ".env")], {"FOO": github}, tmp_path)
    foo = env.variables["FOO"]
    assert not foo.secret  # its own value is not secret
    assert foo.to_json()["shadowed"][0]["value"] == MASK
    assert github not in " ".join(foo.notes())


def test_an_env_file_with_a_byte_order_mark(tmp_path):
    (tmp_path / ".env").write_bytes(b"\xef\xbb\xbfFIRST=1\nSECOND=2\n")
    env = load_environment([spec(tmp_path, ".env")], {}, tmp_path)
    assert env.as_dict() == {"FIRST": "1", "SECOND": "2"}
    assert env.warnings == ()
    assert dotenv_values(tmp_path / ".env") == {"FIRST": "1", "SECOND": "2"}
    (tmp_path / ".env.example").write_bytes(b"\xef\xbb\xbfFIRST=\nTHIRD=\n")
    env = load_environment([spec(tmp_path, ".env")], {}, tmp_path)
    assert [w.name for w in env.warnings] == ["THIRD"]


def test_env_files_that_are_not_regular_files_or_too_large_are_refused(tmp_path):
    os.mkfifo(tmp_path / "fifo.env")
    (tmp_path / "big.env").write_bytes(b"A=" + b"x" * (2 * 1024 * 1024) + b"\n")
    (tmp_path / "ok.env").write_text("OK=1\n")
    specs = [
        spec(tmp_path, "fifo.env"),
        EnvFileSpec(Path("/dev/zero"), "/dev/zero", True),
        spec(tmp_path, "big.env"),
        spec(tmp_path, "ok.env"),
    ]
    env = load_environment(specs, {}, tmp_path)  # returns: the FIFO is never opened
    assert env.get("OK") == "1" and env.get("A") is None
    assert [(w.kind, str(w)) for w in env.warnings] == [
        (
            WarningKind.UNREADABLE,
            "fifo.env: refusing to read this env file: a FIFO, not a regular file",
        ),
        (
            WarningKind.UNREADABLE,
            "/dev/zero: refusing to read this env file: a character device, not a regular file",
        ),
        (
            WarningKind.UNREADABLE,
            "big.env: refusing to read this env file: larger than 1.0 MiB (2.0 MiB)",
        ),
    ]
    with pytest.raises(UserError, match=r"^fifo\.env: refusing to read this env file: a FIFO"):
        env.raise_for_missing_files()


def test_a_template_that_is_a_fifo_is_refused_not_waited_for(tmp_path):
    os.mkfifo(tmp_path / ".env.example")
    (tmp_path / ".env").write_text("OK=1\n")
    env = load_environment([spec(tmp_path, ".env")], {}, tmp_path)
    assert [str(w) for w in env.warnings] == [
        ".env.example: refusing to read this template: a FIFO, not a regular file"
    ]


def test_warnings_spell_out_control_characters(tmp_path):
    (tmp_path / ".env").write_bytes(b'TITLE="\x1b]0;pwned\x07\n')
    env = load_environment([spec(tmp_path, ".env")], {}, tmp_path)
    (warning,) = env.warnings
    assert "\x1b" in warning.text  # the data is kept as it is
    assert str(warning).endswith('TITLE="\\x1b]0;pwned\\x07')
    assert "\x1b" not in str(warning) and "\x07" not in str(warning)


def test_a_process_env_from_the_settings_sits_between_the_files_and_port(tmp_path):
    from tuirunner.environment import Environment, EnvSource, ProcessEnv

    (tmp_path / ".env").write_text("DEBUG=0\nAPI_KEY=from-file\n")
    where = "pyproject.toml [tool.tuirunner.processes.web.env]"
    source = EnvSource(
        (EnvFileSpec(tmp_path / ".env", ".env", explicit=True),),
        {"DEBUG": "shell"},
        tmp_path,
        {"web": ProcessEnv({"DEBUG": "1", "API_KEY": "sk-web-only", "PORT_HINT": "x"}, where)},
    )
    environment = source.load()
    web = environment.for_process("web.1", 5000)
    worker = environment.for_process("worker.1", 5100)
    assert (web.get("DEBUG"), worker.get("DEBUG")) == ("1", "0")
    assert "PORT_HINT" not in worker.variables and web.get("PORT") == "5000"
    debug = web.variables["DEBUG"]
    assert str(debug.source) == where and debug.source.kind.value == "settings"
    assert [str(d.source) for d in debug.shadowed] == ["shell", ".env:1"]
    assert debug.notes() == ["overrides shell value 'shell'", "replaces .env:1"]
    # The masked copy a client gets keeps the layer, its source, and masks its secret.
    wire = over_the_wire(environment.to_wire(b"k" * 16))
    assert "sk-web-only" not in repr(wire)
    copy = Environment.from_wire(wire).for_process("web.1", 5000)
    key = copy.variables["API_KEY"]
    assert key.shown_value() == MASK and key.secret and str(key.source) == where
    assert copy.get("DEBUG") == "1" and copy.for_process("web.1", 5000).get("PORT") == "5000"
    assert Environment.from_wire(wire).for_process("worker.1", 5100).get("DEBUG") == "0"


def test_pwd_is_the_app_root_the_process_runs_in_where_the_shells_differs(tmp_path):
    """A process runs in the app root, and its shell sets PWD to that: ``-d DIR`` from another
    directory, or a shell that had none (``env -i``). The environment says so, with where it
    comes from; where the shell's PWD is the app root, it is the shell's."""
    from tuirunner.environment import EnvSource

    app = str(tmp_path)

    def pwd(shell: dict[str, str]):
        environment = EnvSource((), shell, tmp_path).load()
        return environment.for_process("web.1", 5000, cwd=app).variables["PWD"]

    elsewhere = pwd({"PWD": "/somewhere/else"})
    assert elsewhere.value == app and elsewhere.source.kind is SourceKind.RUNNER
    assert "the process's working directory: the app root" in elsewhere.notes()
    assert "overrides shell value '/somewhere/else'" in elsewhere.notes()
    assert pwd({}).value == app
    same = pwd({"PWD": app})
    assert same.value == app and same.source.kind is SourceKind.SHELL
    # Without a working directory (export's model, say), PWD is left as it is.
    environment = EnvSource((), {"PWD": "/x"}, tmp_path).load()
    assert environment.for_process("web.1", 5000).get("PWD") == "/x"


def test_a_shell_pwd_through_a_symbolic_link_to_the_app_root_is_kept(tmp_path):
    from tuirunner.environment import EnvSource

    (tmp_path / "app").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "app")
    environment = EnvSource((), {"PWD": str(tmp_path / "link")}, tmp_path / "app").load()
    pwd = environment.for_process("web.1", 5000, cwd=str(tmp_path / "app")).variables["PWD"]
    assert pwd.value == str(tmp_path / "link") and pwd.source.kind is SourceKind.SHELL
