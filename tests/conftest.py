import os

import pytest

# Deterministic rendering for pilot and snapshot tests.
os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
os.environ.pop("NO_COLOR", None)


@pytest.fixture
def anyio_backend():
    return "asyncio"
