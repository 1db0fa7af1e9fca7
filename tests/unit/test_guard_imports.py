import subprocess
import sys
from pathlib import Path

import tuirunner.guard

GUARD = Path(tuirunner.guard.__file__)


def test_the_guard_imports_next_to_nothing():
    # It lives as long as the run, as a process of its own (python -S -E guard.py): each module
    # it imports is memory for the whole run. enum (signal's), contextlib and collections came
    # to ~0.8 MB of its ~10.
    code = (
        "import sys\n"
        f"path = {str(GUARD)!r}\n"
        "exec(compile(open(path).read(), path, 'exec'), {'__name__': 'guard'})\n"
        "print(sorted(m for m in sys.modules if m in ('enum', 'contextlib', 'collections', "
        "'functools', 'signal', 'typing')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-E", "-c", code], capture_output=True, text=True
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "[]\n", "")
