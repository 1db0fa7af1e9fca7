"""Which processes run under ``python -OO`` (tuirunner/bytecode.py): only where the optimized
bytecode of what they import is there and current, and the warm-up only where it is missing and
Python may write it. Real files, compiled by py_compile; the processes: tests/integration/
test_bytecode_runs.py and tests/e2e/test_e2e_terminal.py."""

import os
import py_compile
import sys
from importlib.util import cache_from_source

import pytest

from tuirunner import bytecode


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A package ``bcpkg`` with a module ``mod``, importable, never compiled."""
    root = tmp_path / "lib"
    (root / "bcpkg").mkdir(parents=True)
    (root / "bcpkg" / "__init__.py").write_text('"""A package."""\n')
    (root / "bcpkg" / "mod.py").write_text('"""A module."""\nX = 1\n')
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setattr(sys, "pycache_prefix", None)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    return root / "bcpkg"


def compile_opt2(source, **kwargs) -> str:
    cached = cache_from_source(str(source), optimization=2)
    py_compile.compile(str(source), cfile=cached, optimize=2, doraise=True, **kwargs)
    return cached


def test_optimized_only_when_every_module_has_current_opt2_bytecode(package):
    modules = ("bcpkg", "bcpkg.mod")
    assert not bytecode.optimized(modules)
    assert bytecode.flags(modules) == []
    compile_opt2(package / "__init__.py")
    assert not bytecode.optimized(modules)  # mod is not compiled yet
    compile_opt2(package / "mod.py")
    assert bytecode.optimized(modules)
    assert bytecode.flags(modules) == ["-OO"]
    # The ordinary bytecode does not count.
    py_compile.compile(str(package / "mod.py"), cfile=cache_from_source(str(package / "mod.py")))
    os.unlink(cache_from_source(str(package / "mod.py"), optimization=2))
    assert not bytecode.optimized(modules)


def test_a_changed_source_makes_its_bytecode_stale(package):
    compile_opt2(package / "__init__.py")
    compile_opt2(package / "mod.py")
    assert bytecode.optimized(("bcpkg.mod",))
    (package / "mod.py").write_text('"""A module."""\nX = 12\n')  # another size
    assert not bytecode.optimized(("bcpkg.mod",))
    compile_opt2(package / "mod.py")
    stat = os.stat(package / "mod.py")
    os.utime(package / "mod.py", (stat.st_atime, stat.st_mtime + 10))  # another time
    assert not bytecode.optimized(("bcpkg.mod",))


def test_hash_based_bytecode_is_left_to_python(package):
    compile_opt2(
        package / "mod.py", invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
    )
    (package / "mod.py").write_text("X = 2\n")
    assert bytecode.optimized(("bcpkg.mod",))


def test_a_missing_or_broken_module_is_not_optimized(package):
    assert not bytecode.optimized(("bcpkg.nosuch",))
    assert not bytecode.optimized(("nosuchpackage_tuirunner",))
    cached = compile_opt2(package / "mod.py")
    with open(cached, "r+b") as f:
        f.write(b"\0\0\0\0")  # another magic number
    assert not bytecode.optimized(("bcpkg.mod",))


def test_the_warm_up_is_needed_where_bytecode_is_missing_and_may_be_written(
    package, monkeypatch, tmp_path
):
    modules = ("bcpkg", "bcpkg.mod")
    assert bytecode.warm_up_needed(modules)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    assert not bytecode.warm_up_needed(modules)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    compile_opt2(package / "__init__.py")
    compile_opt2(package / "mod.py")
    assert not bytecode.warm_up_needed(modules)  # nothing missing
    assert not bytecode.warm_up_needed(("bcpkg", "nosuchpackage_tuirunner"))
    # A cache prefix (PYTHONPYCACHEPREFIX): the bytecode is looked for there.
    monkeypatch.setattr(sys, "pycache_prefix", str(tmp_path / "prefix"))
    assert not bytecode.optimized(modules)
    assert bytecode.warm_up_needed(modules)
    compile_opt2(package / "__init__.py")
    compile_opt2(package / "mod.py")
    assert bytecode.optimized(modules)
    assert (tmp_path / "prefix").is_dir()


def test_python_may_write_where_the_nearest_directory_is_writable(tmp_path):
    assert bytecode._may_write(str(tmp_path / "a" / "b" / "__pycache__"))
    (tmp_path / "file").write_text("")
    assert bytecode._may_write(str(tmp_path / "file" / "__pycache__"))  # (tmp_path, then)
