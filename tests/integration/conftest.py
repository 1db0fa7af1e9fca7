import pytest


@pytest.fixture
def cleanup():
    """Register a Supervisor: whatever it still runs after the test is killed."""
    sups = []
    yield sups.append
    for sup in sups:
        sup.kill_all_now()
