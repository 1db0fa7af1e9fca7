"""``tuirunner mcp`` driven by the ``mcp`` SDK's own stdio client, against a real run."""

from __future__ import annotations

import contextlib
import json
import shlex
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.helpers import PYTHON, TUIRUNNER, clean_env, free_port_block, run_cli, write_files

pytest.importorskip("mcp", reason="the mcp extra is not installed: pip install -e '.[mcp]'")

from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

PY = shlex.quote(PYTHON)
READY_WHEN_GO = '[processes.web]\nready = { command = "test -e go", interval = 0.1 }\n'
SECRET = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"  # a GitHub token's format

RUNNER = "tuirunner: "  # the runner's own lines in a process's output


@contextlib.asynccontextmanager
async def mcp_session(root: Path) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(
        command=TUIRUNNER, args=["mcp", "-d", str(root)], env=clean_env(), cwd=str(root)
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


async def call(session: ClientSession, tool: str, **arguments) -> dict:
    """A tool's result as JSON; AssertionError if the tool failed."""
    result = await session.call_tool(tool, arguments)
    text = result.content[0].text
    assert not result.is_error, text
    return json.loads(text)


async def failure(session: ClientSession, tool: str, **arguments) -> str:
    """The error message of a tool call that must fail."""
    result = await session.call_tool(tool, arguments)
    assert result.is_error, result.content
    return result.content[0].text


@pytest.fixture
def run(tmp_path, mark):
    sleep = f"exec {PY} -c 'import time; time.sleep(600)' {mark}"
    write_files(
        tmp_path,
        {
            "Procfile": f"web: echo Hello web; echo plain; {sleep}\n"
            f"worker: echo working; {sleep}\n",
            ".env": f"GITHUB_TOKEN={SECRET}\nDEBUG=1\n",
            "tuirunner.toml": READY_WHEN_GO,
        },
    )
    started = run_cli(["start", "-D", "-t", "2", "-p", str(free_port_block())], tmp_path)
    assert started.returncode == 0, started.stderr
    yield tmp_path
    run_cli(["down"], tmp_path)


async def test_list_read_restart_wait_and_cursor(run):
    async with mcp_session(run) as session:
        tools = {t.name for t in (await session.list_tools()).tools}
        assert tools == {
            "list_processes",
            "read_output",
            "restart",
            "start",
            "stop",
            "environment",
            "wait_until",
        }
        # Not ready until the file "go" exists: waiting times out, saying so.
        waited = await call(session, "wait_until", names=["web"], timeout=0.5)
        assert waited["reached"] is False
        assert waited["message"].startswith("timed out after 0.5 s waiting for ready: web.1")
        (run / "go").write_text("")
        waited = await call(session, "wait_until", names=["web"], timeout=30)
        assert waited == {"reached": True, "message": waited["message"]}
        assert waited["message"].startswith("web.1 is ready (pid ")

        listed = await call(session, "list_processes")
        by_name = {p["name"]: p for p in listed["processes"]}
        assert set(by_name) == {"web.1", "worker.1"}
        web = by_name["web.1"]
        assert (web["state"], web["restarts"], web["ready"]) == ("running", 0, True)
        assert web["pid"] > 0 and web["port"] > 0 and web["last_error"] is None

        first = await call(session, "read_output", process=["web"])
        # The child's lines; the runner's own (the ready check's progress) are kept with them.
        own = [(r["line"], r["text"]) for r in first["lines"] if not r["text"].startswith(RUNNER)]
        assert own == [(1, "Hello web"), (2, "plain")]
        assert first["lines"][0]["time"] is None or first["lines"][0]["time"] > 0

        restarted = await call(session, "restart", names=["web.1"])
        assert restarted["processes"][0]["result"] == "restarted"
        assert restarted["processes"][0]["pid"] != web["pid"]
        assert (await call(session, "wait_until", names=["web"]))["reached"] is True

        second = await call(session, "read_output", process=["web"], cursor=first["cursor"])
        texts = [r["text"] for r in second["lines"] if not r["text"].startswith(RUNNER)]
        assert all(r["line"] > len(first["lines"]) for r in second["lines"])
        assert texts[-2:] == ["Hello web", "plain"]
        assert texts[0].startswith("── web.1 restarted")
        # Nothing new since: an empty read.
        third = await call(session, "read_output", cursor=second["cursor"], process=["web"])
        assert third["lines"] == []

        grepped = await call(session, "read_output", grep="^hel", ignore_case=True)
        assert {r["text"] for r in grepped["lines"]} == {"Hello web"}
        assert {r["process"] for r in grepped["lines"]} == {"web.1"}
        merged = await call(session, "read_output", lines=1, process=["worker"])
        assert merged["lines"][0]["text"] == "working"


async def test_a_secret_stays_masked_and_bad_names_are_errors(run):
    async with mcp_session(run) as session:
        env = await call(session, "environment", process="web", only="all")
        variables = {v["name"]: v for v in env["variables"]}
        token = variables["GITHUB_TOKEN"]
        assert token["masked"] is True and token["value"] != SECRET
        assert token["masked_because"]
        assert variables["DEBUG"]["value"] == "1"
        for tool, arguments in (
            ("environment", {"process": "web", "only": "files"}),
            ("environment", {"process": "worker.1", "name": "token"}),
            ("list_processes", {}),
            ("read_output", {}),
        ):
            result = await session.call_tool(tool, arguments)
            assert SECRET not in result.content[0].text

        known = "unknown process 'wbe'; this run has web.1, worker.1"
        assert known in await failure(session, "restart", names=["wbe"])
        assert known in await failure(session, "read_output", process=["wbe"])
        assert known in await failure(session, "environment", process="wbe")
        assert known in await failure(session, "wait_until", names=["wbe"])
        bad = await failure(session, "read_output", grep="(")
        assert "bad regular expression '('" in bad


async def test_no_run_in_the_app_root_is_a_clear_error_until_one_starts(tmp_path, mark):
    async with mcp_session(tmp_path) as session:
        message = await failure(session, "list_processes")
        assert f"no tuirunner is running in {tmp_path}" in message
        assert "tuirunner start -D" in message
        # A run started later, while the server runs (as an agent's client starts it once).
        sleep = f"exec {PY} -c 'import time; time.sleep(600)' {mark}"
        write_files(tmp_path, {"Procfile": f"solo: {sleep}\n"})
        started = run_cli(["start", "-D", "-t", "2", "-p", str(free_port_block())], tmp_path)
        assert started.returncode == 0, started.stderr
        try:
            listed = await call(session, "list_processes")
            assert [p["name"] for p in listed["processes"]] == ["solo.1"]
            # That run ends, another begins: the server follows.
            run_cli(["down"], tmp_path)
            assert "no tuirunner is running" in await failure(session, "list_processes")
            assert run_cli(["start", "-D", "-t", "2"], tmp_path).returncode == 0
            listed = await call(session, "list_processes")
            assert [p["name"] for p in listed["processes"]] == ["solo.1"]
        finally:
            run_cli(["down"], tmp_path)
