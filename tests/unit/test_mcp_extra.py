"""``tuirunner mcp`` without the ``mcp`` extra says how to get it."""

from __future__ import annotations

import argparse
import sys

import pytest

from tuirunner.errors import UserError


def test_mcp_without_the_sdk_says_which_extra(monkeypatch):
    from tuirunner import mcp_server

    monkeypatch.setitem(sys.modules, "mcp.server.mcpserver", None)  # import fails
    with pytest.raises(UserError, match=r"pip install 'tuirunner\[mcp\]'"):
        mcp_server.main(argparse.Namespace(app_root="."))
