"""The core's lower modules import one way: limits is a leaf, procfile and environment build on
it, settings builds on procfile. Every import counts, those under TYPE_CHECKING and inside
functions too: a cycle there is still a cycle for a reader and for a type checker."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "tuirunner"

# module (or package) -> the tuirunner modules it may import
ALLOWED = {
    "errors": set(),
    "limits": {"errors"},
    "procfile": {"errors", "limits"},
    "environment": {"errors", "limits", "options", "output", "secrets"},
    "settings": {"errors", "procfile"},
}


def imports_of(name: str) -> set[str]:
    """The first component after ``tuirunner.`` of everything *name* imports."""
    path = PACKAGE / name
    files = sorted(path.glob("*.py")) if path.is_dir() else [path.with_suffix(".py")]
    found: set[str] = set()
    for file in files:
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
                if node.module == "tuirunner":
                    modules = [f"tuirunner.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                parts = module.split(".")
                if parts[0] == "tuirunner" and len(parts) > 1 and parts[1] != name:
                    found.add(parts[1])
    return found


def test_limits_procfile_environment_and_settings_import_one_way():
    unexpected = {name: imports_of(name) - allowed for name, allowed in ALLOWED.items()}
    assert unexpected == {name: set() for name in ALLOWED}
