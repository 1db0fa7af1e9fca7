"""Which changes of the sampled resources are worth showing."""


def test_only_noticeable_changes_of_the_resources_are_shown():
    from tuirunner.resources import noticeable

    shown = (0, 3, ())
    assert not noticeable(shown, (1, 4, ()))  # a shell loop's `sleep` comes and goes
    assert noticeable(shown, (2, 3, ()))  # CPU by two points
    assert noticeable(shown, (0, 5, ()))  # memory by 2 MB...
    assert not noticeable((0, 400, ()), (0, 415, ()))  # ...or 5 %, whichever is more
    assert noticeable((0, 400, ()), (0, 420, ()))
    assert noticeable(shown, (0, 3, (8000,)))  # a port, always
    assert noticeable((None, None, None), (None, 3, ()))  # the first sample
    assert noticeable(shown, (None, None, None))  # gone
