"""The window starts with the cyclic garbage collector off (commands.cmd_start: it costs ~5 % of
the start); the app turns it back on once its first frame is painted."""

import gc

from tests.tui_helpers import fake_app, wait_until


async def test_garbage_collection_is_back_on_after_the_first_frame(tmp_path):
    app, _ = fake_app(tmp_path, "web: sleep 600\n")
    gc.disable()  # as cmd_start leaves it
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, gc.isenabled)
            assert "web" in app.pane("web.1").header_text()
    finally:
        gc.enable()
