"""Quoting of the export formats, checked by the programs that read them: supervisor's own config
code, two YAML readers (1.1 and 1.2), /bin/sh, and systemd-analyze."""

from __future__ import annotations

import io
import re
import shlex
import shutil
import subprocess

import pytest
import yaml
from ruamel.yaml import YAML
from supervisor.options import ServerOptions

from tuirunner.export.quoting import (
    Flow,
    Unrepresentable,
    sh_word_with_variables,
    supervisord_command,
    supervisord_env_value,
    systemd_env_file_line,
    systemd_environment,
    systemd_exec,
    to_yaml,
    yaml_scalar,
)
from tuirunner.settings import expand_variables

# Values an env file can hold (python-dotenv) that are hard for one syntax or another.
HARD = [
    "",
    "plain",
    "50% off",
    "%(here)s and %(ENV_HOME)s",
    "a,b,c",
    "x=y",
    'say "hi" now',
    "it's",
    "both ' and \"",
    '"quoted"',
    "'single'",
    "$HOME and ${PORT} and $$",
    "line1\nline2",
    "trailing space \nand  indent",
    "a\n\nb",
    "a\n#not a comment\n;nor this",
    "a ;b",
    "a #b",
    "semi;colon#hash",
    "tab\there",
    "ünïcode ✓ 😀",
    "back\\slash\\",
    " leading and trailing ",
    "\x1b[31mred\x1b[0m",
    "line\u2028separator\x85nel",
    "`cmd` and $(cmd)",
]
# The values supervisord's environment= must hold itself (the common ones); the others go through
# /usr/bin/env on the command line.
IN_ENVIRONMENT = [
    "",
    "plain",
    "50% off",
    "a,b,c",
    "x=y",
    'say "hi" now',
    "it's",
    "$HOME and ${PORT} and $$",
    "line1\nline2",
    "a\n\nb",
    "semi;colon#hash",
    "ünïcode ✓ 😀",
    "back\\slash\\",
]


def supervisord_reads(tmp_path, program_lines: list[str]) -> tuple[list[str], dict[str, str]]:
    """(argv, environment) of program ``x`` as supervisor's own config code reads them, from a
    file included by supervisord.conf, as an export is."""
    program = tmp_path / "x.conf"
    program.write_text("[program:x]\n" + "\n".join(program_lines) + "\n", encoding="utf-8")
    conf = tmp_path / "supervisord.conf"
    conf.write_text(
        f"[supervisord]\nlogfile={tmp_path}/supervisord.log\n[include]\nfiles={program}\n",
        encoding="utf-8",
    )
    options = ServerOptions()
    options.realize(args=["-c", str(conf)])
    [group] = options.process_group_configs
    [config] = group.process_configs
    return shlex.split(config.command), config.environment or {}


@pytest.mark.parametrize("value", HARD)
def test_supervisord_command_words_survive_supervisors_parser(tmp_path, value):
    command = supervisord_command(["/usr/bin/env", f"V={value}", "/bin/sh", "-c", value])
    argv, _ = supervisord_reads(tmp_path, [f"command={command}"])
    assert argv == ["/usr/bin/env", f"V={value}", "/bin/sh", "-c", value]


@pytest.mark.parametrize("value", HARD)
def test_supervisord_environment_holds_the_value_or_says_it_cannot(tmp_path, value):
    try:
        text = supervisord_env_value(value)
    except Unrepresentable:
        assert value not in IN_ENVIRONMENT
        return
    _, env = supervisord_reads(
        tmp_path, ["command=/bin/true", f"environment=\n    A={text},\n    B={text}"]
    )
    assert env == {"A": value, "B": value}


def test_supervisord_cannot_hold_a_carriage_return():
    with pytest.raises(Unrepresentable):
        supervisord_command(["a\rb"])
    with pytest.raises(Unrepresentable):
        supervisord_env_value("a\rb")


# --- YAML ----------------------------------------------------------------------------------------

YAML_HARD = [
    *HARD,
    "NO",
    "on",
    "Off",
    "y",
    "~",
    "null",
    "true",
    "1.0",
    "0x1F",
    "0o17",
    "1_000",
    "1:30",
    "2024-01-01",
    ".inf",
    ".NaN",
    "- a",
    "a: b",
    "#x",
    "@x",
    "*x",
    "&x",
    "!x",
    "%x",
    "|",
    ">",
    "{a}",
    "[a]",
    ",",
    "?",
    "\t",
    "\ufeffbom",
    "apps/v1",
    "/bin/sh",
    "-c",
    "app.kubernetes.io/name",
    "10s",
    "500ms",
    "10",
    "1e3s",
]


def read_yaml_11(text: str):
    return yaml.safe_load(text)


def read_yaml_12(text: str):
    return YAML(typ="safe", pure=True).load(io.StringIO(text))


@pytest.mark.parametrize("value", YAML_HARD)
def test_yaml_scalars_are_strings_for_yaml_11_and_12_readers(value):
    text = to_yaml({value: value, "list": [value], "flow": Flow([value, value])})
    for read in (read_yaml_11, read_yaml_12):
        assert read(text) == {value: value, "list": [value], "flow": [value, value]}, text


def test_yaml_documents_keep_order_types_and_nesting():
    doc = {
        "name": "app",
        "count": 2,
        "enabled": True,
        "nothing": None,
        "empty": {},
        "none": [],
        "items": [{"a": 1, "b": [{"c": "d"}, [1, 2]]}, "x"],
        "nested": {"deeper": {"value": "5000"}},
    }
    text = to_yaml(doc, ["a comment", "another"])
    assert text.startswith("# a comment\n# another\n\nname: app\n")
    for read in (read_yaml_11, read_yaml_12):
        assert read(text) == doc
    assert list(read_yaml_11(text)) == list(doc)
    assert yaml_scalar("web") == "web"  # readable where it is safe
    assert yaml_scalar("5000") == '"5000"'
    assert yaml_scalar("10s") == "10s"


# --- POSIX shell ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    ["http://127.0.0.1:$PORT/", "http://$HOST:${PORT}/a?b=\"c\"&d='e'", "$ `x` \\ $$ $1 ${PORT}x"],
)
def test_shell_word_keeps_variables_for_the_shell(template):
    env = {"PORT": "5100", "HOST": "example.org", "PATH": "/usr/bin:/bin"}
    word = sh_word_with_variables(template)
    result = subprocess.run(
        ["/bin/sh", "-c", f"printf %s {word}"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    # tuirunner's own expansion is the reference; a lone $ and $1 stay as they are in both
    expected = expand_variables(template, env)
    assert result.stdout == expected


# --- systemd -------------------------------------------------------------------------------------


def c_unescape(text: str) -> str:
    """systemd's reading of a double-quoted word, from systemd.syntax(7): C escapes, then
    specifiers (only %% here)."""
    out, i = [], 0
    simple = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'", "a": "\a", "r": "\r"}
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            nxt = text[i + 1]
            if nxt == "x":
                out.append(chr(int(text[i + 2 : i + 4], 16)))
                i += 4
                continue
            out.append(simple[nxt])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out).replace("%%", "%")


@pytest.mark.parametrize("value", HARD)
def test_systemd_environment_is_c_escaped_and_specifier_safe(value):
    arg = systemd_environment("V", value)
    assert arg.startswith('"V=') and arg.endswith('"')
    inner = arg[1:-1]
    assert "\n" not in inner  # one line in the unit file
    assert not re.search(r'(?<!\\)"', inner.replace("\\\\", ""))  # no unescaped quote inside
    assert not re.search(r"(?<!%)%(?!%)", inner.replace("%%", ""))  # every % doubled
    assert c_unescape(inner) == f"V={value}"


@pytest.mark.parametrize("value", HARD)
def test_systemd_env_file_lines_read_back_like_a_shell_would(tmp_path, value):
    # systemd.exec(5): single-quoted values are verbatim, double-quoted ones use the shell's
    # escapes for "\`$: a POSIX shell reads the line the same way.
    path = tmp_path / "app.env"
    path.write_text(systemd_env_file_line("V", value) + "\n", encoding="utf-8")
    result = subprocess.run(
        ["/bin/sh", "-c", '. "$1" && printf %s "$V"', "sh", str(path)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == value


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_analyze_accepts_every_hard_value(tmp_path):
    lines = ["[Service]", "Type=oneshot"]
    lines += [f"Environment={systemd_environment(f'V{i}', v)}" for i, v in enumerate(HARD)]
    for value in HARD:
        lines.append(f"ExecStart={systemd_exec(['/bin/sh', '-c', value, 'sh', value])}")
    unit = tmp_path / "quoting-test.service"
    unit.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_systemd_exec_doubles_dollars_and_percents():
    assert systemd_exec(["/bin/sh", "-c", "echo $PORT 100%"]) == ('/bin/sh -c "echo $$PORT 100%%"')
