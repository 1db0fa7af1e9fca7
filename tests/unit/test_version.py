import subprocess
import sys
from importlib.metadata import version

import tuirunner


def test_the_version_is_the_installed_one():
    assert tuirunner.__version__ == version("tuirunner")


def test_the_version_costs_no_importlib_metadata():
    # The keeper sends it in every welcome: importlib.metadata (email, zipfile, csv…) would
    # stay in its memory, ~2 MB, for the whole run.
    code = (
        "import sys, tuirunner\n"
        "assert tuirunner.__version__\n"
        "print(sorted(m for m in sys.modules if m.startswith(('importlib.metadata', 'email'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (result.returncode, result.stdout, result.stderr) == (0, "[]\n", "")
