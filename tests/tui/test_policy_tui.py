"""The policy in the terminal UI (pilot tests over a scripted keeper, tests/fake_keeper.py):
what a process waits for, when it is tried again, and its CPU, memory and listening ports, in
its pane's title. The policy itself is the supervisor's, tested there."""

import re
import time

from tests.tui_helpers import fake_app, wait_until
from tuirunner.events import ExitStatus, State

SIZE = (160, 40)


def title(app, name: str) -> str:
    """What the pane's header shows (the parts that fit)."""
    return app.pane(name).header_text()


async def test_titles_say_what_a_process_waits_for_and_when_it_is_tried_again(tmp_path):
    # release is a oneshot web depends on; flaky restarts on failure after 30 s.
    app, fake = fake_app(
        tmp_path, "release: sleep 600\nweb: sleep 600\nflaky: exit 1\n", running=False
    )
    fake.run("release.1")
    fake.set("release.1", oneshot=True)
    fake.set("web.1", waiting_for="release.1: completed")
    fake.run("flaky.1")
    now = time.time()
    fake.set(
        "flaky.1",
        state=State.EXITED,
        pid=None,
        exit=ExitStatus(returncode=1),
        ended_at=now,
        failures=1,
        failing_since=now,
        next_start_at=now + 30,
    )
    async with app.run_test(size=SIZE) as pilot:
        web, flaky = app.client.get("web.1"), app.client.get("flaky.1")
        await pilot.press("2", "z")  # web's pane, zoomed: its whole title shows
        await wait_until(pilot, lambda: "waiting for" in title(app, "web.1"))
        assert "waiting  " in title(app, "web.1")
        assert "waiting for release.1: completed" in title(app, "web.1")
        assert app.pane("web.1").header.toggle_label == "Stop"  # it is active
        await pilot.press("z", "3", "z")
        await wait_until(pilot, lambda: "next try in" in title(app, "flaky.1"))
        assert "crashed: exit 1" in title(app, "flaky.1")
        assert re.search(r"crashed — next try in \d+ s", title(app, "flaky.1"))
        await pilot.press("s")  # a stop by hand: no more automatic restart
        await wait_until(pilot, lambda: fake.ops() == [("stop", {"names": ["flaky.1"]})])
        await wait_until(pilot, lambda: flaky.next_start_at is None)
        await wait_until(pilot, lambda: "next try" not in title(app, "flaky.1"))
        assert app.pane("flaky.1").header.toggle_label == "Start"
        assert web.state is State.PENDING


async def test_a_title_shows_cpu_memory_and_the_ports_actually_listened_on(tmp_path):
    mail_port = 1025
    app, fake = fake_app(tmp_path, "mail: aiosmtpd\nquiet: sleep 600\n", resources=True)
    assert fake.hello["resources"]  # the keeper samples while the app shows them
    async with app.run_test(size=SIZE) as pilot:
        fake.set("mail.1", cpu=3, memory=41, ports=(mail_port,))
        fake.set("quiet.1", cpu=0, memory=2, ports=())
        mail = app.client.get("mail.1")
        await wait_until(pilot, lambda: f":{mail_port}" in title(app, "mail.1"))
        text = title(app, "mail.1")
        assert f"{mail.cpu}% {mail.memory} MB :{mail_port}" in text
        assert f":{mail.port}" not in text  # the PORT it was given and ignores
        quiet = app.client.get("quiet.1")
        await wait_until(pilot, lambda: quiet.memory is not None)
        assert "MB" in title(app, "quiet.1") and f":{quiet.port}" not in title(app, "quiet.1")
