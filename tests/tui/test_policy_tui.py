"""The policy in the terminal UI (pilot tests over a real keeper): what a process waits for,
when it is tried again, and its CPU, memory and listening ports, in its pane's title."""

import shlex

from tests.helpers import PYTHON, free_port_block
from tests.tui_helpers import make_app, wait_until
from tuirunner.events import State

PY = shlex.quote(PYTHON)
SIZE = (160, 40)


def title(app, name: str) -> str:
    """What the pane's header shows (the parts that fit)."""
    return app.pane(name).header_text()


async def test_titles_say_what_a_process_waits_for_and_when_it_is_tried_again(tmp_path):
    (tmp_path / "tuirunner.toml").write_text(
        "[processes.release]\noneshot = true\n"
        '[processes.web]\ndepends_on = { release = "completed" }\n'
        '[processes.flaky]\nautorestart = "on-failure"\nbackoff = { initial = 30 }\n'
    )
    app = make_app(tmp_path, "release: sleep 600\nweb: sleep 600\nflaky: exit 1\n")
    async with app.run_test(size=SIZE) as pilot:
        web, flaky = app.client.get("web.1"), app.client.get("flaky.1")
        await wait_until(pilot, lambda: flaky.next_start_at is not None)
        await pilot.press("2", "z")  # web's pane, zoomed: its whole title shows
        await wait_until(pilot, lambda: "waiting for" in title(app, "web.1"))
        assert "waiting  " in title(app, "web.1")
        assert "waiting for release.1: completed" in title(app, "web.1")
        assert app.pane("web.1").header.toggle_label == "Stop"  # it is active
        await pilot.press("z", "3", "z")
        await wait_until(pilot, lambda: "next try in" in title(app, "flaky.1"))
        assert "crashed: exit 1" in title(app, "flaky.1")
        assert "crashed — next try in 30 s" in title(app, "flaky.1") or (
            "crashed — next try in 29 s" in title(app, "flaky.1")
        )
        await pilot.press("s")  # a stop by hand: no more automatic restart
        await wait_until(pilot, lambda: flaky.next_start_at is None)
        await wait_until(pilot, lambda: "next try" not in title(app, "flaky.1"))
        assert app.pane("flaky.1").header.toggle_label == "Start"
        assert web.state is State.PENDING


async def test_a_title_shows_cpu_memory_and_the_ports_actually_listened_on(tmp_path):
    base = free_port_block()
    mail_port = base + 25
    script = (
        "import socket, time; s = socket.socket(); "
        "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
        f"s.bind(('127.0.0.1', {mail_port})); s.listen(); print('up', flush=True); "
        "time.sleep(600)"
    )
    app = make_app(
        tmp_path,
        f"mail: {PY} -c {shlex.quote(script)}; true\nquiet: sleep 600\n",
        resources=True,
    )
    async with app.run_test(size=SIZE) as pilot:
        mail = app.client.get("mail.1")
        await wait_until(pilot, lambda: mail.ports == (mail_port,) and mail.cpu is not None)
        await wait_until(pilot, lambda: f":{mail_port}" in title(app, "mail.1"))
        text = title(app, "mail.1")
        assert f"{mail.cpu}% {mail.memory} MB :{mail_port}" in text
        assert f":{mail.port}" not in text  # the PORT it was given and ignores
        quiet = app.client.get("quiet.1")
        await wait_until(pilot, lambda: quiet.memory is not None)
        assert "MB" in title(app, "quiet.1") and f":{quiet.port}" not in title(app, "quiet.1")
