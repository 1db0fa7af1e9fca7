import subprocess
import sys
from pathlib import Path

CORE = [
    "tuirunner.cli",
    "tuirunner.procfile",
    "tuirunner.environment",
    "tuirunner.secrets",
    "tuirunner.limits",
    "tuirunner.output",
    "tuirunner.supervisor",
    "tuirunner.plain",
    "tuirunner.settings",
    "tuirunner.readiness",
    "tuirunner.logfile",
    "tuirunner.resources",
    "tuirunner.watching",
    "tuirunner.keeper",
    "tuirunner.export",
    "tuirunner.export.model",
    "tuirunner.export.quoting",
    "tuirunner.export.supervisord",
    "tuirunner.export.systemd",
    "tuirunner.export.compose",
    "tuirunner.export.kubernetes",
]


def test_the_core_does_not_import_textual_or_rich():
    code = (
        f"import sys; import {', '.join(CORE)}; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_starting_does_not_import_detect_secrets():
    # It costs 60-150 ms to import; only a value that may hold a token needs it.
    code = (
        "import sys; from tuirunner.cli import main\n"
        "demo = ['-f', 'Procfile.example', '-e', 'example/.env']\n"
        "assert main(['version']) == 0 and main([*demo, 'check']) == 0\n"
        "assert main([*demo, 'env', '--filter', 'files']) == 0\n"
        "print(sorted(m for m in sys.modules if m.startswith('detect_secrets')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stderr
    assert "SECRET_KEY" in result.stdout
    assert result.stdout.splitlines()[-1] == "[]"
