import pytest


@pytest.fixture(autouse=True)
def _no_virtualenv_in_exports(request, monkeypatch):
    """Exports put an active virtualenv in PATH (supervisord, systemd): the export tests pin
    their output, so they run as with no virtualenv active unless a test sets one."""
    if request.module.__name__.split(".")[-1].startswith("test_export"):
        monkeypatch.delenv("VIRTUAL_ENV", raising=False)


@pytest.fixture
def cleanup():
    """Register a Supervisor: whatever it still runs after the test is killed."""
    sups = []
    yield sups.append
    for sup in sups:
        sup.kill_all_now()
