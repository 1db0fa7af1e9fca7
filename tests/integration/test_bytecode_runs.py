"""The keeper runs under ``python -OO`` where the optimized bytecode is there, and writes it in
the background for the next run where it is missing (tuirunner/bytecode.py). The bytecode goes
to a directory of the test's own (PYTHONPYCACHEPREFIX), so the installed package is untouched."""

import sys

import pytest

from tests.helpers import bytecode_env, keepers_of, run_cli, wait_for
from tuirunner import bytecode

pytestmark = pytest.mark.slow


def test_a_run_writes_the_optimized_bytecode_and_the_next_keeper_uses_it(tmp_path, monkeypatch):
    app = tmp_path / "app"
    app.mkdir()
    (app / "Procfile").write_text("web: echo up; sleep 600\n")
    prefix = tmp_path / "pycache"
    env = bytecode_env(prefix, warm=False)
    monkeypatch.setattr(sys, "pycache_prefix", str(prefix))  # what the runs' Python looks at
    everything = (*bytecode.KEEPER, *bytecode.WINDOW)
    assert not bytecode.optimized(everything)

    assert run_cli(["start", "--detach"], app, env=env).returncode == 0
    try:
        (keeper,) = keepers_of(app)
        assert "-OO" not in keeper.cmdline()
        # The warm-up, WARM_UP_DELAY s after the start: it imports what both processes import.
        wait_for(lambda: bytecode.optimized(everything), 120, message="the -OO bytecode")
        wait_for(
            lambda: not [c for c in keeper.children() if "tuirunner.bytecode" in c.cmdline()],
            60,
            message="the warm-up's end",
        )
    finally:
        assert run_cli(["down"], app, env=env).returncode == 0

    assert run_cli(["start", "--detach"], app, env=env).returncode == 0
    try:
        (keeper,) = keepers_of(app)
        assert keeper.cmdline()[1] == "-OO"
        ps = run_cli(["ps"], app, env=env)
        assert ps.returncode == 0 and "running" in ps.stdout, ps.stdout
        logs = run_cli(["logs", "web"], app, env=env)
        assert "up" in logs.stdout, logs.stdout
    finally:
        assert run_cli(["down"], app, env=env).returncode == 0
    wait_for(lambda: keepers_of(app) == [], 30, message="the keeper's end")
