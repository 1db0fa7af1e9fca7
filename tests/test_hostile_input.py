"""The real ``tuirunner`` command given hostile, broken or surprising input."""

import json
import re
from pathlib import Path

from tests.helpers import run_cli
from tuirunner.secrets import MASK

ROOT = Path(__file__).resolve().parent.parent

# --- the demo ------------------------------------------------------------------------------------


def test_the_demo_environment_masks_only_its_secret_key():
    args = ["-f", "Procfile.example", "-e", "example/.env", "env", "--json"]
    masked = json.loads(run_cli(args, ROOT).stdout)
    revealed = json.loads(run_cli([*args, "--reveal"], ROOT).stdout)
    ours = [v for v in masked["variables"] if v["kind"] != "shell"]
    assert {v["name"] for v in ours} == {
        "SECRET_KEY",
        "DEBUG",
        "EMAIL_HOST",
        "EMAIL_PORT",
        "PORT",
        "PS",
    }
    assert [(v["name"], v["masked_because"]) for v in ours if v["masked"]] == [
        ("SECRET_KEY", "name")
    ]
    values = {v["name"]: v["value"] for v in revealed["variables"]}
    for v in ours:
        assert v["value"] == (MASK if v["name"] == "SECRET_KEY" else values[v["name"]])
    text = run_cli(["-f", "Procfile.example", "-e", "example/.env", "env"], ROOT).stdout
    assert re.search(r"^DEBUG +  = 1  # example/\.env:\d+$", text, re.M), text
