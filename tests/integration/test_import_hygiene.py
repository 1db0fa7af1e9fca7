import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_import_contracts_hold():
    """pyproject.toml's [tool.importlinter] contracts: the core imports no front end and no
    keeper, only the TUI imports Textual, front ends reach the keeper through the client and the
    protocol, export reads the project model only."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


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
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert "SECRET_KEY" in result.stdout
    assert result.stdout.splitlines()[-1] == "[]"


def test_the_keeper_imports_no_argparse():
    """The keeper reads its few options with getopt: argparse (and what it imports) would stay in
    its memory for the whole run, ~0.35 MB."""
    script = "import sys, tuirunner.keeper; print('argparse' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "False"
