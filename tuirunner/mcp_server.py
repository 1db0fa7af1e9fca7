"""``tuirunner mcp``: a Model Context Protocol server over stdio, for coding agents.

It is a front end like the others: a :class:`~tuirunner.client.Client` of the keeper of its app
root (``-d``), connected on the first tool call (and again after a run ended and another
began), built on the official ``mcp`` SDK (the ``tuirunner[mcp]`` extra). Its tools list the
processes, read their output (the last lines, or what is new since a cursor, optionally
grepped), restart, stop and start them, show a process's environment with secrets masked (the
client never asks the keeper for a real value: no tool can reveal one), and wait until
processes are ready or crashed. A failure is a tool error with the words of the command line
(``unknown process 'wbe'; this run has web.1, worker.1``).
"""

# No ``from __future__ import annotations``: the SDK reads the tools' annotations (some are
# local to build_server) to make their schemas.
import argparse
import asyncio
import contextlib
import sys
import time
from typing import Annotated, Any, Literal

from tuirunner.client import Client, KeeperError, NoKeeper
from tuirunner.errors import UserError
from tuirunner.events import ProcessInfo
from tuirunner.follow import chosen, wait_for
from tuirunner.options import FilterMode
from tuirunner.protocol import Restart, Start, Stop
from tuirunner.records import compile_grep, grep_lines, line_record, numbered

INSTRUCTIONS = """\
tuirunner runs the processes of a Procfile (a Django runserver, its workers, ...) for the
developer. These tools see and control that run: list_processes first (names such as web.1,
their state, the last error of a crashed one); read_output for what they printed (pass the
cursor it returns to the next call to get only what is new); restart after editing code or
settings; wait_until before relying on a restarted server. Names: a type (web: every web
instance) or an instance (web.1). Secret values stay masked."""

ONLY_HELP = "all variables, those set by env files, or those that differ from the shell"
UNTIL_HELP = (
    "ready: running and its ready check passed (if it has one); running: started; "
    "completed: exited with code 0"
)
MAX_LINES = 2000  # lines one read returns at most
ERROR_LINES = 15  # lines of output list_processes gives of a crashed process


class RunLink:
    """The connection to the run of one app root, made when first needed."""

    def __init__(self, app_root: str) -> None:
        self.app_root = app_root
        self.client: Client | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> Client:
        async with self._lock:
            if self.client is not None and not self.client.closed:
                return self.client
            self.client = None
            try:
                client = Client.connect(self.app_root, env=True, timeout=10)
            except NoKeeper as exc:
                raise UserError(
                    f"{exc}: start it first (tuirunner start -D, or tuirunner in a terminal)"
                ) from None
            await client.start()
            self.client = client
            return client


def process_record(proc: ProcessInfo, client: Client, now: float) -> dict[str, Any]:
    """What list_processes says of one process."""
    record: dict[str, Any] = {
        "name": proc.name,
        "type": proc.type,
        "state": proc.state_word(),
        "status": proc.label()[0],
        "detail": proc.detail(now),
        "pid": proc.pid,
        "port": proc.port,
        "restarts": proc.restart_count,
        "uptime": round(proc.uptime(now) or 0, 1) if proc.state.alive else None,
        "command": proc.command,
        "ready": proc.ready,
        "last_error": last_error(proc),
    }
    if proc.crashed:
        hint = client.crash_hint(proc, "see the environment tool")  # type: ignore[arg-type]
        record["hint"] = hint
        buffer = proc.buffer  # type: ignore[attr-defined]
        record["last_lines"] = [
            line_record(proc.name, n, t, buffer.time(n - 1)) for n, t in _tail(proc, ERROR_LINES)
        ]
    return record


def last_error(proc: ProcessInfo) -> str | None:
    if proc.state.value == "failed" or (proc.error and proc.crashed):
        return f"failed to start: {proc.error}"
    if proc.crashed and proc.exit is not None:
        return proc.exit.describe()
    if proc.blocked:
        return f"blocked: {proc.blocked}"
    if proc.ready_error:
        return f"not ready: {proc.ready_error}"
    return None


def _tail(proc: Any, n: int) -> list[tuple[int, str]]:
    buffer = proc.buffer
    lines = list(buffer.lines)[-n:] if n else []
    return list(numbered(buffer, lines))


def parse_cursor(cursor: str | None) -> dict[str, int]:
    """``web.1:42 worker.1:17`` → {"web.1": 42, ...}: the last line each process had."""
    if not cursor:
        return {}
    try:
        pairs = (item.rsplit(":", 1) for item in cursor.split())
        return {name: int(number) for name, number in pairs}
    except ValueError:
        raise UserError(f"bad cursor {cursor!r}: pass the cursor a read returned") from None


def make_cursor(processes: list[Any]) -> str:
    return " ".join(f"{p.name}:{p.buffer.total}" for p in processes)


def _names(client: Client, names: list[str] | None) -> list[ProcessInfo]:
    return chosen(client, list(names or []))


def build_server(app_root: str) -> Any:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.types import ToolAnnotations
    from pydantic import Field

    import tuirunner

    server = MCPServer(
        name="tuirunner",
        version=tuirunner.__version__,
        instructions=INSTRUCTIONS,
        log_level="WARNING",  # stderr is the MCP client's log: not a line per failed call
    )
    link = RunLink(app_root)
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)
    acting = ToolAnnotations(
        read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
    )
    Names = Annotated[
        list[str],
        Field(description="process names: a type (web: every web instance) or an instance (web.1)"),
    ]

    async def client() -> Client:
        try:
            return await link.get()
        except UserError as exc:
            raise ToolError(str(exc)) from None

    def error(exc: Exception) -> ToolError:
        return ToolError(str(exc))

    @server.tool(annotations=read_only)
    async def list_processes() -> dict[str, Any]:
        """The run's processes: name, state (pending, starting, running, stopping,
        restarting, stopped, exited, failed), status in words (crashed: exit 1, completed, ...),
        pid, port, restarts, whether its ready check passed, and last_error; for a crashed
        process also its last lines of output and a hint when a variable it needed is not
        set."""
        run = await client()
        now = time.time()
        return {
            "app_root": run.app_root,
            "processes": [process_record(p, run, now) for p in run.processes],
        }

    @server.tool(annotations=read_only)
    async def read_output(
        process: Annotated[
            list[str] | None, Field(description="only these processes (default: all, merged)")
        ] = None,
        lines: Annotated[
            int,
            Field(
                ge=1, le=MAX_LINES, description="at most the last this many lines of each process"
            ),
        ] = 100,
        cursor: Annotated[
            str | None,
            Field(description="the cursor of the previous read: only lines that came since"),
        ] = None,
        grep: Annotated[
            str | None, Field(description="only lines matching this Python regular expression")
        ] = None,
        ignore_case: bool = False,
    ) -> dict[str, Any]:
        """Output of the processes: records {process, line, time, text}, text without colours
        or escape sequences, line numbering each process's output since the run started, time
        when the line arrived (null when the run does not keep it). Returns a cursor: pass it
        to the next call to get only the lines that came since (poll for what is new after a
        restart). skipped counts matching lines left out by the limit."""
        run = await client()
        try:
            procs = _names(run, process)
            pattern = compile_grep(grep, ignore_case)
            seen = parse_cursor(cursor)
        except UserError as exc:
            raise error(exc) from None
        records: list[dict[str, Any]] = []
        skipped = 0
        for proc in procs:
            buffer = proc.buffer  # type: ignore[attr-defined]
            after = seen.get(proc.name, 0)
            kept = list(buffer.lines)
            fresh = kept[max(0, len(kept) - (buffer.total - after)) :]
            found = grep_lines(numbered(buffer, fresh), pattern)
            # The last *lines* of each process, as logs -n.
            skipped += max(0, len(found) - lines)
            records.extend(
                line_record(proc.name, n, text, buffer.time(n - 1)) for n, text in found[-lines:]
            )
        # Merged in the order the lines came, when the run keeps when; else process by process.
        if records and all(r["time"] is not None for r in records):
            records.sort(key=lambda r: r["time"])  # stable: a process's lines stay in order
        return {"lines": records, "skipped": skipped, "cursor": make_cursor(procs)}

    async def act(op: Restart | Start | Stop, names: list[str], done: str) -> dict[str, Any]:
        if not names:
            raise ToolError("name at least one process (a type such as web, or web.1)")
        run = await client()
        try:
            result: list[ProcessInfo] = await run.request(op)
        except KeeperError as exc:
            raise error(exc) from None
        stopping = isinstance(op, Stop)
        out = []
        for info in result:
            alive = info.state.alive or stopping
            what = done if alive else info.detail() or info.label()[0]
            out.append({"name": info.name, "result": what, "pid": info.pid,
                        "state": info.state_word()})  # fmt: skip
        return {"processes": out}

    @server.tool(annotations=acting)
    async def restart(names: Names) -> dict[str, Any]:
        """Restart processes (start them if stopped); each gets a new pid. Returns each
        process's new pid, or what keeps it from starting (waiting for a dependency)."""
        return await act(Restart(names=names), names, "restarted")

    @server.tool(annotations=acting)
    async def start(names: Names) -> dict[str, Any]:
        """Start stopped processes (running ones are left alone)."""
        return await act(Start(names=names), names, "started")

    @server.tool(annotations=ToolAnnotations(destructive_hint=True, open_world_hint=False))
    async def stop(names: Names) -> dict[str, Any]:
        """Stop processes (SIGTERM, then SIGKILL after the run's timeout); the run goes on and
        start or restart brings them back."""
        return await act(Stop(names=names), names, "stopped")

    @server.tool(annotations=read_only)
    async def environment(
        process: Annotated[str, Field(description="web.1, or web for its first instance")],
        only: Annotated[
            Literal["all", "files", "changed"],
            Field(description=ONLY_HELP),
        ] = "files",
        name: Annotated[
            str | None, Field(description="only variables whose name contains this")
        ] = None,
    ) -> dict[str, Any]:
        """The environment a process got (or gets when started now): each variable's value,
        where it comes from (.env:12, shell, tuirunner), whether it is masked and why. Secret
        values (tokens, passwords, keys, URL passwords) are always masked: no tool reveals
        them."""
        run = await client()
        try:
            proc = _names(run, [process])[0]
        except UserError as exc:
            raise error(exc) from None
        env = run.started_environment(proc) or run.environment_for(proc)
        rows = env.rows(FilterMode(only))
        if name:
            rows = [v for v in rows if name.lower() in v.name.lower()]
        keep = ("name", "value", "masked", "masked_because", "source")
        return {
            "process": proc.name,
            "variables": [{k: v.to_json(False)[k] for k in keep} for v in rows],
        }

    @server.tool(annotations=read_only)
    async def wait_until(
        names: Names,
        until: Annotated[
            Literal["ready", "running", "completed"],
            Field(description=UNTIL_HELP),
        ] = "ready",
        timeout: Annotated[float, Field(gt=0, le=600, description="seconds")] = 30,
    ) -> dict[str, Any]:
        """Wait until processes reach a state. Returns reached true, or false as soon as one
        crashed, is blocked, or was stopped, or when the timeout passed; message says which."""
        run = await client()
        try:
            procs = _names(run, names)
        except UserError as exc:
            raise error(exc) from None
        ok, message = await wait_for(run, procs, until, timeout)
        return {"reached": ok, "message": message}

    return server


def main(args: argparse.Namespace) -> int:
    try:
        import mcp.server.mcpserver  # noqa: F401
    except ImportError:
        raise UserError("tuirunner mcp needs the MCP SDK: pip install 'tuirunner[mcp]'") from None
    root = getattr(args, "app_root", None) or "."
    server = build_server(root)
    with contextlib.suppress(KeyboardInterrupt):
        server.run("stdio")
    sys.stdout.flush()
    return 0
