"""Pilot tests of the Textual app: keys, panes, search and the palette over a scripted keeper
(tests/fake_keeper.py); a restart, input, a signal and quitting over a real keeper and real
processes."""

import shlex
import sys

import pytest
from textual import events
from textual.color import Color

from tests.helpers import PYTHON, assert_no_leftovers, stubborn
from tests.tui_helpers import (
    buffer_text,
    drawn_lines,
    fake_app,
    make_app,
    notifications,
    screen_text,
    wait_until,
)
from tuirunner.events import State
from tuirunner.tui.app import MAX_TILED, choose_grid

PY = shlex.quote(PYTHON)
SIZE = (120, 40)


def running(app, name):
    return app.client.get(name).state is State.RUNNING


async def test_restart_gives_a_new_pid_and_bumps_the_restart_count(tmp_path):
    app = make_app(tmp_path, "web: echo web up; sleep 600\nworker: echo worker up; sleep 600\n")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: running(app, "web.1") and running(app, "worker.1"))
        web = app.client.get("web.1")
        first = web.pid
        assert f"pid {first}" in app.pane("web.1").header_text()
        await pilot.press("r")
        await wait_until(pilot, lambda: web.pid != first and web.state is State.RUNNING)
        assert web.restart_count == 1
        header = app.pane("web.1").header_text()
        assert f"pid {web.pid}" in header and "↻ 1" in header
        assert app.client.get("worker.1").restart_count == 0


async def test_stop_and_start_the_focused_process_and_buttons(tmp_path):
    app, fake = fake_app(tmp_path, "web: sleep 600\nworker: sleep 600\n")
    async with app.run_test(size=(200, 40)) as pilot:  # wide enough for the buttons
        await wait_until(pilot, lambda: running(app, "worker.1"))
        await pilot.press("2", "s")
        worker = app.client.get("worker.1")
        await wait_until(pilot, lambda: worker.state is State.STOPPED)
        assert fake.ops() == [("stop", {"names": ["worker.1"]})]
        pane = app.pane("worker.1")
        assert "stopped" in pane.header_text()
        assert pane.header.toggle_label == "Start"
        assert running(app, "web.1")
        await pilot.press("s")
        await wait_until(pilot, lambda: worker.state is State.RUNNING)
        # The pane's own buttons do the same.
        await wait_until(pilot, lambda: "Stop" in pane.header_text())
        await pilot.click(pane.header, offset=pane.header.button_offset("toggle"))
        await wait_until(pilot, lambda: worker.state is State.STOPPED)
        await wait_until(pilot, lambda: "Start" in pane.header_text())
        await pilot.click("#pane-2 .pane-header", offset=pane.header.button_offset("restart"))
        await wait_until(pilot, lambda: worker.state is State.RUNNING)
        assert [op for op, _ in fake.ops()] == ["stop", "start", "stop", "restart"]


async def test_restart_all(tmp_path):
    app, fake = fake_app(tmp_path, "a: sleep 600\nb: sleep 600\nc: exit 3\n")
    fake.exit("c.1", 3)
    async with app.run_test(size=SIZE) as pilot:
        sup = app.client
        before = {p.name: p.pid for p in sup}
        await pilot.press("R")
        await wait_until(pilot, lambda: all(p.start_count == 2 for p in sup))
        assert fake.ops() == [("restart", {})]  # every process, in one command
        assert running(app, "a.1") and running(app, "b.1")
        assert sup.get("a.1").pid != before["a.1"] and sup.get("b.1").pid != before["b.1"]
        assert "↻ 1" in app.pane("c.1").header_text()


async def test_a_refused_restart_says_why(tmp_path):
    app, fake = fake_app(tmp_path, "web: serve\nworker: work\n")
    fake.refuse("restart", "web.1 is being stopped by another client")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await wait_until(pilot, lambda: notifications(app), message="a notification")
        assert notifications(app) == ["restart web.1: web.1 is being stopped by another client"]
        assert [n.severity for n in app._notifications] == ["error"]
        assert app.client.get("web.1").start_count == 1


async def test_a_refused_command_is_not_read_as_markup(tmp_path):
    app, fake = fake_app(tmp_path, "web: serve\nworker: work\n")
    fake.refuse("stop", "no [bold]such[/bold] thing")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2", "s")
        await wait_until(pilot, lambda: notifications(app), message="a notification")
        assert notifications(app) == ["stop worker.1: no [bold]such[/bold] thing"]
        assert app.is_running


async def test_zoom_and_focus_moves(tmp_path):
    app, _ = fake_app(tmp_path, "a: sleep 600\nb: sleep 600\nc: sleep 600\n")
    async with app.run_test(size=SIZE) as pilot:
        assert app.focused is app.pane("a.1").view
        await pilot.press("tab")
        assert app.focused is app.pane("b.1").view
        await pilot.press("right")
        assert app.focused is app.pane("c.1").view
        await pilot.press("left", "left")
        assert app.focused is app.pane("a.1").view
        await pilot.press("3", "z")
        assert app.zoomed_pane is app.pane("c.1")
        assert app.pane("c.1").view.size.width == SIZE[0]
        assert [app.pane(n).display for n in ("a.1", "b.1")] == [False, False]
        await pilot.press("1")  # another pane, zoomed in its turn
        assert app.zoomed_pane is app.pane("a.1") and app.focused is app.pane("a.1").view
        assert not app.pane("c.1").display and app.pane("a.1").view.size.width == SIZE[0]
        await pilot.press("z")
        assert app.zoomed_pane is None
        assert all(app.pane(n).display for n in ("a.1", "b.1", "c.1"))
        assert app.pane("a.1").view.size.width < SIZE[0] / 2
        await pilot.press("z", "escape")
        assert app.zoomed_pane is None


async def test_a_zoom_spans_the_grid_and_the_panes_come_back_as_they_were(tmp_path):
    app, fake = fake_app(tmp_path, "a: sleep 600\nb: sleep 600\nc: sleep 600\n")
    async with app.run_test(size=SIZE) as pilot:
        for name in ("a.1", "b.1", "c.1"):
            fake.print(name, *(f"{name} line {i}" for i in range(5)))
        await wait_until(
            pilot, lambda: "c.1 line 4" in screen_text(app.pane("c.1").view), message="output"
        )
        tiles = {n: app.pane(n).region for n in ("a.1", "b.1", "c.1")}
        rendered = []
        view_c = app.pane("c.1").view
        line_text = view_c._line_text
        view_c._line_text = lambda *a: rendered.append(a) or line_text(*a)
        await pilot.press("1", "z")
        assert app.pane("a.1").region == app.query_one("#panes").region  # the whole grid
        fake.print("b.1", "b.1 while hidden")  # not painted: b's pane is hidden
        await pilot.pause()
        await pilot.press("z")
        await wait_until(
            pilot, lambda: "b.1 while hidden" in screen_text(app.pane("b.1").view), message="b"
        )
        assert {n: app.pane(n).region for n in tiles} == tiles
        # c was hidden and shown again at the same size: its lines were not rendered again.
        assert "c.1 line 4" in screen_text(view_c) and rendered == []


async def test_a_zoom_lays_the_screen_out_once(tmp_path):
    # A new size used to set each pane's, header's and bar's virtual size, which asked Textual
    # for a second layout (and a second full-screen frame) of what the first had laid out.
    app, _ = fake_app(tmp_path, "a: sleep 600\nb: sleep 600\nc: sleep 600\n")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        screen = app.screen
        layouts = []
        refresh_layout = screen._refresh_layout
        screen._refresh_layout = lambda *a, **k: layouts.append(1) or refresh_layout(*a, **k)
        for zoomed in (True, False):
            layouts.clear()
            await pilot.press("z")
            await pilot.pause(0.3)
            assert (app.zoomed_pane is not None) == zoomed
            assert len(layouts) == 1


async def test_the_palette_offers_the_app_s_zoom_not_textual_s_maximize(tmp_path):
    # With the search box focused, Textual's palette would offer "Maximize": the pane, the old
    # way (a class on the screen), a second zoom that z and Esc know nothing of.
    app, _ = fake_app(tmp_path, "a: sleep 600\nb: sleep 600\n")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash")
        assert app.pane("a.1").search_input.has_focus
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert "Keys" in titles or "Quit" in titles  # Textual's others are still there
        assert "Maximize" not in titles and "Minimize" not in titles


async def test_search_finds_a_line_that_scrolled_out_of_view(tmp_path):
    app, fake = fake_app(tmp_path, "web: python many.py\n")
    async with app.run_test(size=SIZE) as pilot:
        fake.print("web.1", *(f"line {i}" + (" NEEDLE" if i == 17 else "") for i in range(400)))
        view = app.pane("web.1").view
        await wait_until(pilot, lambda: "line 399" in screen_text(view), message="all output")
        assert "NEEDLE" not in screen_text(view)  # scrolled out of view
        await pilot.press("slash")
        pane = app.pane("web.1")
        assert pane.searching and pane.search_input.has_focus
        await pilot.press(*"needle")
        await pilot.pause()
        assert view.search is not None and len(view.search.matches) == 1
        assert "line 17 NEEDLE" in screen_text(view)
        assert str(pane.match_label.render()) == "1/1"
        assert not view.follow
        await pilot.press("escape")
        assert not pane.searching and view.search is None
        await pilot.press("end")
        assert view.follow and "line 399" in screen_text(view)


async def test_keys_typed_in_one_burst_after_slash_go_into_the_search_box(tmp_path):
    # "/web" typed fast (or pasted): w, e and b reach the output view before "/" has moved the
    # focus into the search box, and came back to the app as its bindings (wrap, the
    # environment inspector) instead of being typed.
    app, fake = fake_app(tmp_path, "web: serve\nworker: work\n")
    fake.print("web.1", "started", "web request")
    async with app.run_test(size=SIZE) as pilot:
        view = app.pane("web.1").view
        await wait_until(pilot, lambda: "web request" in screen_text(view))
        for key in ("slash", "w", "e", "b", "space", "r"):
            app.post_message(events.Key(key, " " if key == "space" else key[0]))
        pane = app.pane("web.1")
        await wait_until(pilot, lambda: pane.searching and pane.search_input.value == "web r")
        await pilot.pause()
        assert pane.search_input.value == "web r" and pane.search_input.has_focus
        assert not view.wrap and app.screen is app.screen_stack[0]  # no wrap, no inspector
        assert str(pane.match_label.render()) == "1/1"


async def test_a_print_and_flush_while_the_app_runs_is_harmless(tmp_path):
    # While it runs, Textual sends what is printed to the app (App._print and App._flush): the
    # app's repaint was a method named _flush too, so a library's print(..., flush=True), or
    # logging's flush at exit, raised TypeError.
    app, fake = fake_app(tmp_path, "web: serve\n")
    async with app.run_test(size=SIZE) as pilot:
        print("from a library", flush=True)
        sys.stderr.flush()
        fake.print("web.1", "still painted")
        await wait_until(pilot, lambda: "still painted" in screen_text(app.pane("web.1").view))


async def test_search_navigation_and_no_match(tmp_path):
    app, fake = fake_app(tmp_path, "web: python print_five.py\n")
    fake.print("web.1", *(f"x {i}" for i in range(5)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", "x")
        pane = app.pane("web.1")
        await pilot.pause()
        assert str(pane.match_label.render()) == "5/5"
        await pilot.press("up", "up")
        assert str(pane.match_label.render()) == "3/5"
        await pilot.press("enter")
        assert str(pane.match_label.render()) == "4/5"
        await pilot.press("z")  # typed into the search box, not a zoom
        assert str(pane.match_label.render()) == "no match"
        assert app.zoomed_pane is None


async def test_input_mode_delivers_a_typed_line_to_the_child(tmp_path):
    script = "name = input('Name? ')\nprint('Hello,', name + '!')\nimport time; time.sleep(600)\n"
    (tmp_path / "ask.py").write_text(script)
    app = make_app(tmp_path, f"web: sleep 600\nask: {PY} ask.py\n")
    async with app.run_test(size=SIZE) as pilot:
        ask = app.client.get("ask.1")
        view = app.pane("ask.1").view
        await wait_until(pilot, lambda: "Name? " in screen_text(view), message="the prompt")
        await pilot.press("2", "i")
        assert app.input_target == "ask.1" and view.input_mode
        assert "INPUT" in app.pane("ask.1").header_text()
        # Keys that are bindings elsewhere go to the child in input mode.
        await pilot.press(*"Ada r s q", "enter")
        await wait_until(
            pilot, lambda: "Hello, Ada r s q!" in buffer_text(ask), message="the child's answer"
        )
        assert ask.restart_count == 0 and not app.quitting
        await pilot.press("escape")
        assert app.input_target is None and not view.input_mode


async def test_keys_typed_in_one_burst_after_i_go_to_the_process(tmp_path):
    # "ils" and Enter typed fast: l, s and Enter reached the output view before i had put it in
    # input mode, came back to the app as its keys, and were lost (input mode disables them).
    app, fake = fake_app(tmp_path, "web: serve\nshell: sh\n")
    async with app.run_test(size=SIZE) as pilot:
        app.focus_process("shell.1")
        await pilot.pause()
        for key in ("i", "l", "s", "enter"):
            app.post_message(events.Key(key, "\r" if key == "enter" else key))
        await wait_until(pilot, lambda: len(fake.ops()) >= 3, message="the keys to the process")
        await pilot.pause(0.2)
        assert fake.ops() == [
            ("write", {"name": "shell.1", "data": data}) for data in (b"l", b"s", b"\r")
        ]
        assert app.input_target == "shell.1"


async def test_ctrl_c_in_input_mode_interrupts_the_child_not_the_app(tmp_path):
    script = (
        "import time\ntry:\n    print('waiting', flush=True); time.sleep(600)\n"
        "except KeyboardInterrupt:\n    print('got SIGINT', flush=True); time.sleep(600)\n"
    )
    (tmp_path / "wait.py").write_text(script)
    app = make_app(tmp_path, f"w: {PY} wait.py\n")
    async with app.run_test(size=SIZE) as pilot:
        proc = app.client.get("w.1")
        await wait_until(pilot, lambda: "waiting" in buffer_text(proc))
        await pilot.press("i", "ctrl+c")
        await wait_until(pilot, lambda: "got SIGINT" in buffer_text(proc))
        assert not app.quitting


async def test_quit_stops_everything_and_exits_zero(tmp_path, mark):
    procfile = f"web: sleep 600 && echo {mark}\nstubborn: {stubborn(mark)}\n"
    app = make_app(tmp_path, procfile, timeout=1.0)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "ready" in buffer_text(app.client.get("stubborn.1")))
        await pilot.press("q")
        await wait_until(
            pilot,
            lambda: app.quitting and "stopping" in app.pane("stubborn.1").header_text(),
        )
        await wait_until(pilot, lambda: not app.is_running, timeout=30)
    assert app.return_code == 0
    assert not any(p.state.alive for p in app.client)
    assert_no_leftovers(mark)


async def test_second_quit_forces(tmp_path, mark):
    app = make_app(tmp_path, f"stubborn: {stubborn(mark)}\n", timeout=600)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "ready" in buffer_text(app.client.get("stubborn.1")))
        await pilot.press("q")
        stubborn_pane = app.pane("stubborn.1")
        await wait_until(pilot, lambda: "stopping" in stubborn_pane.header_text())
        assert app.is_running  # still waiting for the stubborn process
        warning = Color.parse(app.theme_variables["warning-muted"])
        assert stubborn_pane.header.styles.background == warning  # styled as quitting
        # A stop that takes a while says how to cut it short.
        await wait_until(
            pilot, lambda: any("press q again" in str(n.message) for n in app._notifications)
        )
        await pilot.press("ctrl+c")
        await wait_until(pilot, lambda: not app.is_running, timeout=10)
    assert_no_leftovers(mark)


async def test_a_crashed_process_stays_visible_and_the_others_keep_running(tmp_path):
    app, fake = fake_app(tmp_path, "web: sleep 600\nbad: echo 'Traceback: it broke'; exit 3\n")
    async with app.run_test(size=SIZE) as pilot:
        fake.print("bad.1", "Traceback: it broke")
        fake.exit("bad.1", 3)
        bad = app.client.get("bad.1")
        pane = app.pane("bad.1")
        await wait_until(pilot, lambda: bad.state is State.EXITED and app.repainted)
        assert notifications(app) == ["bad.1 exited with code 3"]
        assert "crashed: exit 3" in pane.header_text()
        assert "Traceback: it broke" in screen_text(pane.view)
        assert pane.kind == "crashed"
        assert running(app, "web.1")


async def test_child_output_is_never_markup_and_colours_are_kept(tmp_path):
    app = make_app(tmp_path, "web: printf '[bold]x[/bold] \\033[31mred\\033[0m\\n'; sleep 600\n")
    async with app.run_test(size=SIZE) as pilot:
        view = app.pane("web.1").view
        await wait_until(pilot, lambda: "red" in screen_text(view))
        strip = view.render_line(0)
        assert strip.text.startswith("[bold]x[/bold] red")
        red = [seg for seg in strip if seg.text == "red"]
        assert red and red[0].style.color.number == 1  # ANSI red


async def test_follow_pauses_when_scrolling_up_and_counts_new_lines(tmp_path):
    app, fake = fake_app(tmp_path, "web: python f.py\n")
    async with app.run_test(size=SIZE) as pilot:
        fake.print("web.1", *(f"old {i}" for i in range(200)))
        view = app.pane("web.1").view
        await wait_until(pilot, lambda: "old 199" in screen_text(view))
        await pilot.press("pageup")
        assert not view.follow
        pane = app.pane("web.1")
        await wait_until(pilot, lambda: pane.unseen_bar.has_class("-visible"))
        first, last, count = view.position()
        assert count == 200 and last < 200 and last - first + 1 == view.size.height
        assert f"lines {first}–{last} of 200" in str(pane.unseen_bar.render())
        fake.print("web.1", *(f"new {i}" for i in range(7)))
        await wait_until(pilot, lambda: view.unseen >= 7, message="unseen count")
        label = app.pane("web.1").unseen_bar
        assert f"↓ {view.unseen} new lines" in str(label.render()) and label.has_class("-visible")
        assert "new 6" not in screen_text(view)
        await pilot.press("end")
        assert view.follow and view.unseen == 0 and "new 6" in screen_text(view)
        # The bar stays, and says so (issue 18: it always says which).
        await wait_until(pilot, lambda: str(label.render()) == "following")


async def test_many_processes_show_a_list_and_the_selected_pane(tmp_path):
    app, _ = fake_app(tmp_path, "web: sleep 600\n", concurrency=f"web={MAX_TILED + 3}")
    async with app.run_test(size=SIZE) as pilot:
        assert app.list_mode
        visible = [p for p in app.panes if p.display]
        assert visible == [app.pane("web.1")]
        await pilot.press("4")
        await pilot.pause()
        assert app.pane("web.4").display
        assert not app.pane("web.1").display
        assert app.process_list.highlighted == 3
        assert highlighted_rows(app.process_list) == [3]
        await pilot.press("2")  # only the two lines it moves between are repainted
        await pilot.pause()
        assert app.process_list.highlighted == 1
        assert highlighted_rows(app.process_list) == [1]


async def test_in_list_mode_a_picked_pane_has_the_keys_at_once(tmp_path):
    # The pane of a process picked by its number is shown then: the keyboard goes to it, the
    # first time too (→ picks the next one, ↑ scrolls it).
    app, _ = fake_app(tmp_path, "web: sleep 600\n", concurrency=f"web={MAX_TILED + 3}")
    async with app.run_test(size=SIZE) as pilot:
        assert app.list_mode
        await pilot.press("5")
        await pilot.pause()
        assert app.focused is app.pane("web.5").view
        await pilot.press("right")
        await pilot.pause()
        assert app.current == "web.6" and app.focused is app.pane("web.6").view


def highlighted_rows(widget) -> list[int]:
    """The rows of *widget* (an OptionList) that its rendered lines show highlighted."""
    on = widget.get_component_rich_style("option-list--option-highlighted").bgcolor
    strips = drawn_lines(widget)
    return [
        y for y, strip in enumerate(strips) if any(s.style and s.style.bgcolor == on for s in strip)
    ]


def test_choose_grid():
    assert choose_grid(1, 80, 24) == (1, 1)
    assert choose_grid(2, 120, 39) == (2, 1)  # side by side
    assert choose_grid(3, 120, 39) == (2, 2)
    assert choose_grid(4, 200, 49) == (2, 2)
    assert choose_grid(12, 300, 100) is None  # too many: list mode
    assert choose_grid(6, 60, 20) is None  # too small to tile


async def test_command_palette_offers_every_action_for_every_process(tmp_path):
    from tuirunner.tui.commands import ProcessCommands

    app, fake = fake_app(tmp_path, "web: sleep 600\nworker: sleep 600\n", concurrency="worker=2")
    async with app.run_test(size=SIZE) as pilot:
        provider = ProcessCommands(app.screen)
        titles = [title for title, _, _ in provider._commands()]
        for expected in (
            "Restart web.1",
            "Stop worker.2",
            "Environment of worker.1",
            "Type into web.1",
            "Restart all",
            "Quit",
        ):
            assert expected in titles
        callback = dict((t, c) for t, c, _ in provider._commands())["Stop worker.2"]
        callback()
        await wait_until(pilot, lambda: app.client.get("worker.2").state is State.STOPPED)
        assert fake.ops() == [("stop", {"names": ["worker.2"]})]


@pytest.mark.parametrize("key", ["c"])
async def test_copy_visible_lines(tmp_path, key):
    app, fake = fake_app(tmp_path, "web: echo copy me; sleep 600\n")
    fake.print("web.1", "copy me")
    copied = []
    app.copy_to_clipboard = copied.append  # the terminal's clipboard is not ours to read
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "copy me" in screen_text(app.pane("web.1").view))
        await pilot.press(key)
    assert copied and copied[0].startswith("copy me")


def test_only_colour_sequences_reach_the_terminal():
    from tuirunner.tui.widgets.output_view import line_to_text

    raw = "a\x1bcb\x1b[2Jc\x1b]0;title\x07d\x1b[31me\x1b[0m\x9bf\x85g\x07h"
    text = line_to_text(raw)
    assert text.plain == "abcdefgh"
    assert "\x1b" not in "".join(seg.text for seg in text.render(__import__("rich").get_console()))
    assert [s.style.color.number for s in text.spans] == [1]  # the red of \x1b[31m is kept


async def test_command_palette_survives_commands_that_look_like_markup(tmp_path):
    from textual.command import CommandList, CommandPalette

    app, _ = fake_app(tmp_path, "web: echo x | sed 's/[/]//' | grep -E '[a-z]+'; sleep 600\n")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"stop")
        commands = app.screen.query_one(CommandList)
        await wait_until(pilot, lambda: commands.option_count > 0, message="the matches")
        assert "Stop web.1" in str(commands.get_option_at_index(0).prompt)
        assert app.is_running
        await pilot.press("escape")
