import subprocess
import sys

CORE = [
    "tuirunner.cli",
    "tuirunner.procfile",
    "tuirunner.environment",
    "tuirunner.secrets",
    "tuirunner.output",
    "tuirunner.supervisor",
    "tuirunner.plain",
    "tuirunner.settings",
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
