"""The width of a line of output, as the output view measures it."""

from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len

from tuirunner.tui.widgets.output_lines import cells


@given(st.text())
def test_a_line_takes_the_cells_rich_says_it_does(plain):
    assert cells(plain) == cell_len(plain)


def test_wide_and_zero_width_characters_are_counted_as_on_screen():
    assert cells("GET /api 200") == 12
    assert cells("日本") == 4
    assert cells("a\u0301") == 1  # a combining accent takes no cell of its own
    assert cells("a\x07b") == cell_len("a\x07b")
