"""One concept a module: no module of the package reaches 500 lines, no class 300."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "tuirunner"
MAX_MODULE = 500
MAX_CLASS = 300


def sizes():
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        name = str(path.relative_to(PACKAGE.parent))
        yield (
            name,
            len(text.splitlines()),
            [
                (node.name, node.end_lineno - node.lineno + 1)
                for node in ast.walk(ast.parse(text))
                if isinstance(node, ast.ClassDef)
            ],
        )


def test_every_module_is_under_500_lines_and_every_class_under_300():
    too_big = [f"{name}: {lines} lines" for name, lines, _ in sizes() if lines >= MAX_MODULE]
    too_big += [
        f"{name}: class {cls} has {size} lines"
        for name, _, classes in sizes()
        for cls, size in classes
        if size >= MAX_CLASS
    ]
    assert not too_big, "\n".join(too_big)
