"""The window starts with the cyclic garbage collector off (commands.cmd_start: it costs ~5 % of
the start); the app turns it back on once its first frame is painted. Run as ``tuirunner`` runs
it (``tune_memory``), it also freezes the start's objects out of the collector's walks
(heap.py), and thaws them when a pane the start made goes, which would otherwise never be
freed."""

import gc
import weakref

import pytest

from tests.tui_helpers import fake_app, make_app, wait_until


async def test_garbage_collection_is_back_on_after_the_first_frame(tmp_path):
    app, _ = fake_app(tmp_path, "web: sleep 600\n")
    gc.disable()  # as cmd_start leaves it
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, gc.isenabled)
            assert "web" in app.pane("web.1").header_text()
            assert gc.get_freeze_count() == 0  # a test's app leaves the test process alone
    finally:
        gc.enable()


@pytest.fixture
def collector():
    """The test process's collector as it was, whatever the app did to it."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    gc.enable()


async def test_a_pane_of_the_start_is_freed_once_its_process_is_removed(tmp_path, collector):
    app = make_app(tmp_path, "web: sleep 600\nworker: sleep 600\n", tune_memory=True)
    gc.disable()
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: gc.isenabled() and gc.get_freeze_count() > 0)
        assert gc.get_threshold()[2] == 0  # a full collection after each middle one
        pane = weakref.ref(app.pane("worker.1"))
        (tmp_path / "Procfile").write_text("web: sleep 600\n")
        await wait_until(pilot, lambda: "worker.1" not in app._panes, message="the removal")

        def freed() -> bool:
            gc.collect()
            return pane() is None

        await wait_until(pilot, freed, message="the pane freed")
        # And the rest of the start is frozen again, once the pane is surely gone.
        await wait_until(pilot, lambda: gc.get_freeze_count() > 0, message="frozen again")
        assert app.pane("web.1").is_mounted
