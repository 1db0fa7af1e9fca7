import subprocess
import sys
from pathlib import Path

import tuirunner.guard

GUARD = Path(tuirunner.guard.__file__)


def test_the_guard_imports_next_to_nothing():
    # It starts (python -S -E guard.py) the moment a keeper has ended, to stop what it left:
    # each module it imports is time before the first SIGTERM. enum (signal's), contextlib and
    # collections came to ~0.8 MB of its ~10 when it lived as long as the run.
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
