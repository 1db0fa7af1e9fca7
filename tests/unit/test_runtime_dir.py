"""A runtime directory planted by someone else is refused with a way out: another directory."""

import os

import pytest

from tuirunner.errors import UserError
from tuirunner.runtime import runtime_dir

WAY_OUT = "set XDG_RUNTIME_DIR (or TMPDIR) to a directory of yours"


@pytest.mark.skipif(os.getuid() != 0, reason="planting a directory for another uid needs root")
def test_a_directory_planted_by_another_user_is_refused_saying_how_to_use_another(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    planted = tmp_path / "tuirunner"
    planted.mkdir(mode=0o700)
    os.chown(planted, 65534, 65534)  # nobody
    monkeypatch.setattr(os, "getuid", lambda: 0)
    with pytest.raises(UserError, match="owned by uid 65534") as error:
        runtime_dir()
    assert WAY_OUT in str(error.value)


@pytest.mark.parametrize("plant", ["file", "open"])
def test_every_refused_runtime_directory_says_how_to_use_another(tmp_path, monkeypatch, plant):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    planted = tmp_path / "tuirunner"
    if plant == "file":
        planted.write_text("")
    else:
        planted.mkdir()
        planted.chmod(0o777)
    with pytest.raises(UserError) as error:
        runtime_dir()
    assert WAY_OUT in str(error.value)
