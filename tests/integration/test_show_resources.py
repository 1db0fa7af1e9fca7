"""The keeper samples the processes' CPU, memory and ports only while a client shows them: the
terminal UI stops it while its merged view is shown (no header there shows them), and starts it
again when the panes come back (a real keeper, a real process)."""

from __future__ import annotations

from tests.helpers import run_cli, wait_for, write_files
from tests.tui_helpers import wait_until
from tuirunner.client import Client
from tuirunner.tui.app import TuirunnerApp
from tuirunner.tui.preferences import Preferences
from tuirunner.tui.screens.merged import MergedScreen


def sampled_now(root) -> bool:
    """Whether the keeper is sampling: a client that does not ask for samples still finds
    them in the state it gets (they are forgotten when sampling stops)."""
    client = Client.connect(root, output=False, tail=0)
    try:
        return client.get("web.1").cpu is not None
    finally:
        client.close()


async def test_the_merged_view_stops_the_sampling_and_the_panes_start_it_again(tmp_path):
    write_files(tmp_path, {"Procfile": "web: exec sleep 600\n"})
    assert run_cli(["start", "-D", "-t", "2"], tmp_path).returncode == 0
    try:
        assert not sampled_now(tmp_path)  # nobody shows them: not sampled
        client = Client.connect(tmp_path, env=True, resources=True, skim=True)
        app = TuirunnerApp(client, handle_signals=False, preferences=Preferences(tmp_path / "p"))
        async with app.run_test(size=(120, 30)) as pilot:
            web = app.client.get("web.1")
            await wait_until(pilot, lambda: web.cpu is not None, message="a sample", timeout=30)
            assert sampled_now(tmp_path)
            await pilot.press("m")
            await wait_until(pilot, lambda: isinstance(app.screen, MergedScreen))
            await wait_until(pilot, lambda: not sampled_now(tmp_path), message="sampling off")
            await pilot.press("m")
            await wait_until(pilot, lambda: app.merged_screen is None)
            await wait_until(pilot, lambda: sampled_now(tmp_path), message="sampling on again")
            await pilot.press("d")
            await wait_until(pilot, lambda: app.outcome == "detached")
    finally:
        run_cli(["down"], tmp_path)
        wait_for(lambda: run_cli(["ps"], tmp_path).returncode != 0, 30)
