import os
import tempfile

import pytest

# Deterministic rendering for pilot and snapshot tests.
os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
os.environ.pop("NO_COLOR", None)
# The tests' keepers keep their sockets apart from any real run of the developer's, and the
# UI's remembered theme is the tests' own.
os.environ["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="tuirunner-tests-")
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="tuirunner-tests-config-")
os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="tuirunner-tests-state-")  # log records


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def mark():
    """A unique token to put in child command lines; leftovers are killed after the test."""
    from tests.helpers import kill_leftovers, token

    value = token()
    yield value
    kill_leftovers(value)


@pytest.fixture(autouse=True)
def _stop_keepers():
    """Keepers a test started (tests/tui_helpers.make_app) do not outlive it."""
    yield
    from tests.tui_helpers import stop_keepers

    stop_keepers()
