"""Snapshots of reading the output: the merged view of three processes (one hidden, one
crashed), and a pane with its time column (``pytest --snapshot-update`` records them)."""

from __future__ import annotations

import time

import pytest

from tests.tui.test_snapshots import WEB_LINES, app_for, has_output, settled
from tests.tui_helpers import settle, wait_until
from tuirunner.tui.screens.merged import MergedScreen

T0 = 1_780_000_000.0
PROCFILE = "web: python manage.py runserver\nworker: python worker.py\nmail: aiosmtpd\n"


@pytest.fixture
def utc(monkeypatch):
    """Times shown in UTC, wherever the tests run."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def three(tmp_path):
    app, fake = app_for(tmp_path, PROCFILE)
    fake.print("web.1", *WEB_LINES[:3], at=T0)
    fake.print("worker.1", "Starting worker", at=T0 + 0.5)
    fake.print("mail.1", "Server is listening on 127.0.0.1:1025", at=T0 + 0.7)
    fake.print("web.1", *WEB_LINES[3:], at=T0 + 1.2)
    fake.print("worker.1", "task greet finished", "task \x1b[31mfailed\x1b[0m: boom", at=T0 + 2)
    return app, fake


def test_merged_view_of_three_processes(tmp_path, snap_compare):
    app, _fake = three(tmp_path)

    async def run_before(pilot):
        await settled(has_output("worker.1", "boom"), has_output("web.1", "GET /"))(pilot)
        await pilot.press("m")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, MergedScreen))
        await settle(pilot)
        await pilot.press("3")  # mail.1 hidden
        await settle(pilot)

    assert snap_compare(app, terminal_size=(110, 24), run_before=run_before)


def test_pane_with_times(tmp_path, snap_compare, utc):
    app, fake = app_for(tmp_path, "web: python manage.py runserver\n")
    fake.print("web.1", *WEB_LINES[:4], at=T0)
    fake.print("web.1", *WEB_LINES[4:], at=T0 + 61.25)

    async def run_before(pilot):
        await settled(has_output("web.1", "GET /"))(pilot)
        await pilot.press("t")
        await settle(pilot)
        pilot.app.clear_notifications()
        await settle(pilot)

    assert snap_compare(app, terminal_size=(100, 16), run_before=run_before)
