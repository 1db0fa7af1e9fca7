import os

import pytest

# Deterministic rendering for pilot and snapshot tests.
os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
os.environ.pop("NO_COLOR", None)


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
