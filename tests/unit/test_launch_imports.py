"""The launch path stays light: what the command line imports before it starts the keeper is
on the critical path of launch -> first child line (bench/always_on.py --only launch)."""

import subprocess
import sys


def imported_after(code: str, names: tuple[str, ...]) -> list[str]:
    tops = "{m.split('.')[0] for m in sys.modules}"
    probe = f"import sys\n{code}\nprint(sorted({tops} & {set(names)!r}))\n"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return eval(result.stdout)  # a list of str, printed by the probe


def test_the_command_line_launches_the_keeper_before_heavy_imports():
    # The protocol (msgspec ~20 ms), asyncio and Textual come once the keeper is on its way
    # (launch.start_keeper imports the protocol after the guard is spawned).
    heavy = ("msgspec", "asyncio", "textual", "rich", "psutil", "dotenv")
    assert imported_after("import tuirunner.cli, tuirunner.commands", heavy) == []


def test_what_the_app_imports_once_it_runs_is_there_to_preload():
    # A Textual that renames one of them would quietly make the preload do nothing.
    from importlib.util import find_spec

    from tuirunner.tui.preload import MODULES

    assert [name for name in MODULES if find_spec(name) is None] == []
