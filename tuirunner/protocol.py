"""Every message of tuirunner's protocols, typed and versioned, with one encoder and decoder.

Two conversations use it:

- a **client** and the **keeper** (over the run's unix socket, in :mod:`tuirunner.wire`'s
  frames): the client says :class:`Hello` and then sends ops (:class:`Restart`, :class:`Write`,
  …), each answered by a :class:`Reply` with the same ``id``; the keeper sends a
  :class:`Welcome`, the processes' output (raw ``O`` frames and ``S`` copies of a buffer,
  :class:`SyncHeader`), and messages as things happen (:class:`Proc`, :class:`Line`, …);
- the **launcher** and the keeper it starts (over pipes): :class:`KeeperConfig` in,
  :class:`KeeperStarted` out.

What arrives is validated here: a frame that is not one of these messages raises
:class:`ProtocolError` with a reason a person can read, which the keeper sends back in a
:class:`Reply` (``ok`` false) and logs; it never stops the keeper or stalls a client. A client
of another :data:`PROTOCOL` is refused with both versions named.

Adding a message or an op means: its class here, its handler (:mod:`tuirunner.operations`'s
table, or :meth:`tuirunner.mirror.RunMirror._message`), its use in a front end.
"""

from __future__ import annotations

import struct
from typing import Annotated, Any, ClassVar

import msgspec

from tuirunner.events import NoticeKind, ProcessInfo
from tuirunner.wire import HEADER, INDEX, JSON, LENGTH, OUTPUT, SYNC, ProtocolError

PROTOCOL = 5  # 5: Hello.early_env, EnvChecked; 4: ShowResources; 3: times (frames, lines)
TIME = struct.Struct("!d")  # an output frame's time, after its process index
MAX_REQUEST = 1 << 20  # a client sends small requests: a larger frame is refused unread
MAX_CLIENTS = 64  # connections a keeper serves at once; one more is refused, saying so

# --- client -> keeper ---------------------------------------------------------------------------


class Message(msgspec.Struct, tag_field="t", kw_only=True):
    """A JSON frame: its class names it (``{"t": "hello", ...}``)."""


class Hello(Message, tag="hello", kw_only=True):
    """The first thing a client says: what it wants to hear of."""

    v: int  # the PROTOCOL it speaks
    output: bool = True  # the processes' output (else states only)
    names: list[str] | None = None  # only these processes ("web", "web.1"); None: all
    tail: Annotated[int, msgspec.Meta(ge=0)] | None = None  # lines of each buffer first
    env: bool = False  # the (masked) environments
    owner: str | None = None  # the foreground front end's token
    resources: bool = False  # it shows CPU, memory and ports: sample them
    skim: bool = False  # it shows only the last lines: a flood may be skimmed
    early_env: bool = False  # with env: values being checked come masked, then EnvChecked


class Op(Message, forbid_unknown_fields=True, kw_only=True):
    """A command; the keeper answers it with a :class:`Reply` of the same ``id``, whose
    result is of the op's ``Result`` type."""

    id: int | None = None
    Result: ClassVar[Any] = None


class _Named(Op, kw_only=True):
    names: list[str] | None = None  # "web" is every web instance, "web.1" one; None: all

    Result: ClassVar[Any] = list[ProcessInfo]


class Restart(_Named, tag="restart", kw_only=True):
    pass


class Start(_Named, tag="start", kw_only=True):
    pass


class Stop(_Named, tag="stop", kw_only=True):
    pass


class Sample(_Named, tag="sample", kw_only=True):
    """The processes with their resources sampled now (``ps``)."""


class Down(Op, tag="down", kw_only=True):
    force: bool = False
    pid: int | None = None  # who asked, if not the UI: "stopped by tuirunner down (from pid N)"


class Detach(Op, tag="detach", kw_only=True):
    """The owner leaves; the run goes on. Result: whether the run is detached now."""

    Result: ClassVar[Any] = bool


class Write(Op, tag="write", kw_only=True):
    """Bytes for a process's terminal (base64 on the wire). Result: whether it took them."""

    name: str
    data: bytes

    Result: ClassVar[Any] = bool


class Resize(Op, tag="resize", kw_only=True):
    name: str
    columns: Annotated[int, msgspec.Meta(ge=1, le=10_000)]
    rows: Annotated[int, msgspec.Meta(ge=1, le=10_000)]


class Reveal(Op, tag="reveal", kw_only=True):
    """The real value of one variable of a process's environment (current, or *version*)."""

    name: str
    variable: str
    version: int | None = None

    Result: ClassVar[Any] = str | None


class Add(Op, tag="add", kw_only=True):
    """Add a process to the run (gone with the run; written to no file): *name* is its type,
    *command* a shell command; it gets the run's environment and a port of its own, and is
    started at once unless *start* is false. Result: its snapshot (``NAME.1``)."""

    name: str
    command: str
    start: bool = True

    Result: ClassVar[Any] = ProcessInfo


class Remove(Op, tag="remove", kw_only=True):
    """Stop a process added at run time (:class:`Add`, or a type the Procfile no longer has)
    and take it out of the run. *name*: its type or instance. Result: the names removed."""

    name: str

    Result: ClassVar[Any] = list[str]


class Migrate(Op, tag="migrate", kw_only=True):
    """Apply the project's migrations: restart its ``release`` oneshot, or add a process
    running ``manage.py migrate`` (*name*: the process whose manage.py to use). Result: what
    was done, in words."""

    name: str | None = None

    Result: ClassVar[Any] = str


class StopStray(Op, tag="stop_stray", kw_only=True):
    """Stop what holds process *name*'s port when it is a stray of an earlier run in this app
    root (``ProcessInfo.stray_pid``), then start *name* again. Result: what was done."""

    name: str

    Result: ClassVar[Any] = str


class ShowResources(Op, tag="resources", kw_only=True):
    """Whether this client shows the processes' resources now (the merged view hides them):
    they are sampled only while a client shows them. Result: *shown*."""

    shown: bool

    Result: ClassVar[Any] = bool


# fmt: off
Request = (Hello | Restart | Start | Stop | Sample | Down | Detach | Write | Resize | Reveal
          | Add | Remove | Migrate | StopStray | ShowResources)
# fmt: on

# --- keeper -> client ---------------------------------------------------------------------------


class DefinitionPayload(msgspec.Struct, array_like=True):
    """One place that sets a variable, as it may leave the keeper: a secret value masked, with
    a keyed digest of the real one (so that copies still tell a changed value)."""

    shown: str
    digest: str | None
    kind: str  # SourceKind
    file: str | None
    line: int | None
    references: tuple[str, ...]
    undefined: tuple[str, ...]
    secret_from: tuple[str, ...]


class VariablePayload(msgspec.Struct, array_like=True):
    name: str
    secret_reason: str | None
    definitions: list[DefinitionPayload]  # the shadowed ones first, the one in force last


class EnvPayload(msgspec.Struct):
    """An environment as the keeper sends it (Environment.to_wire / from_wire): masked."""

    variables: list[VariablePayload]
    warnings: list[dict[str, str | int | None]]  # EnvWarning.to_json()
    processes: dict[str, list[VariablePayload]] = {}  # each type's own [processes.X.env]


class _State(Message, kw_only=True):
    processes: list[ProcessInfo]
    env_version: int
    envs: dict[int, EnvPayload] | None = None  # only for a client that asked for them


class Welcome(_State, tag="welcome", kw_only=True):
    """The answer to :class:`Hello`: the run, and its processes' states."""

    v: int
    version: str  # tuirunner's
    pid: int
    run_id: str
    app_root: str
    procfile: str
    timeout: float  # the longest a stop of the whole run may take (dependents first)
    scrollback: int
    detached: bool
    started_at: float
    groups: dict[str, list[str]] = {}  # the settings' groups: a name for several types
    settings_error: str | None = None  # the last edit of the settings or Procfile is invalid


class Resync(_State, tag="resync", kw_only=True):
    """The client fell behind: every state, then ``S`` frames of what it missed."""


class Synced(Message, tag="synced", kw_only=True):
    """The welcome's (or a resync's) copies of the buffers are complete."""


class Proc(Message, tag="proc", kw_only=True):
    """A process's snapshot changed."""

    p: int
    info: ProcessInfo


class Added(Message, tag="added", kw_only=True):
    """A process joined the run (:class:`Add`, or a type added to the Procfile): it is
    process number *p*, the last one."""

    p: int
    info: ProcessInfo


class Removed(Message, tag="removed", kw_only=True):
    """Process *p* left the run: the processes after it move down by one."""

    p: int


class SettingsChanged(Message, tag="settings", kw_only=True):
    """The settings or the Procfile changed: *error* says why an edit was not applied (None:
    it was, or the files are valid again); *groups* are the groups in force."""

    error: str | None = None
    groups: dict[str, list[str]] = {}
    summary: str | None = None  # what the edit changed, in words


class Line(Message, tag="line", kw_only=True):
    """A line of the runner's own in a process's output (``started with pid 42``)."""

    p: int
    text: str
    time: float | None = None  # when (epoch seconds); None: when it arrives


class End(Message, tag="end", kw_only=True):
    """A process's terminal closed."""

    p: int


class NoticeMessage(Message, tag="notice", kw_only=True):
    p: int | None
    msg: str
    kind: NoticeKind = NoticeKind.INFO


class Change(msgspec.Struct):
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()


class EnvChanged(Message, tag="env", kw_only=True):
    """An env file changed: processes started from now on get environment *version*."""

    version: int
    change: Change
    env: EnvPayload | None = None  # only for a client that asked for environments


class EnvChecked(Message, tag="envchecked", kw_only=True):
    """To an ``early_env`` client: every value is checked; these copies replace its own."""

    envs: dict[int, EnvPayload]


class Reply(Message, tag="reply", kw_only=True):
    """The answer to an op (*id* None: to a frame too malformed to have one)."""

    id: int | None
    ok: bool
    result: Any = None
    error: str | None = None


class Bye(Message, tag="bye", kw_only=True):
    # "down" (the run's own UI quit it); STOPPED_BY and who, for a command from elsewhere
    # ("stopped by tuirunner down (from pid 4242)"); else why the run ended by itself.
    reason: str = "down"


STOPPED_BY = "stopped by "  # a Bye's reason when a command stopped the run


class Refused(Message, tag="refused", kw_only=True):
    """The connection is refused (another user, another protocol, an unknown process)."""

    error: str


# fmt: off
Event = (Welcome | Resync | Synced | Proc | Added | Removed | SettingsChanged | Line | End
        | NoticeMessage | EnvChanged | EnvChecked | Reply | Bye | Refused)
# fmt: on


class SyncHeader(msgspec.Struct, kw_only=True):
    """What a copy of a buffer needs besides its lines (``S`` frames;
    :meth:`tuirunner.output.OutputBuffer.export`)."""

    p: int = 0  # the process
    n: int = 0  # how many lines follow
    start: int  # the index of the first line
    partial: str  # the unfinished last line
    cr: bool  # a carriage return is pending
    decoder: tuple[str, int]  # the UTF-8 decoder's state (its bytes as latin-1, its flag)
    # When the lines came (epoch seconds, to the ms): runs of (how many lines, time) in order.
    times: list[tuple[int, float]] = []
    time: float | None = None  # when the partial line's first bytes came


# --- launcher <-> keeper ------------------------------------------------------------------------


class RunPathsPayload(msgspec.Struct):
    socket: str
    lock: str
    log: str


class KeeperConfig(msgspec.Struct, kw_only=True):
    """What the launcher tells the keeper it starts (on its config pipe)."""

    options: dict[str, Any]  # RunOptions.to_json()
    owner: str | None = None
    window: tuple[int, int] = (80, 24)
    terminal: tuple[int, int] | None = None  # the UI's size: the keeper tiles it in panes
    paths: RunPathsPayload | None = None
    # Start the processes once the owner has connected (plain mode: its printer then sees
    # every start and exit, even of a process that crashes at once), or after HOLD_START.
    hold_start: bool = False
    # The front end's environment, the processes' "shell" (the keeper's own is not quite it:
    # the guard's shell sets PWD to its working directory, and bash as sh SHLVL and _).
    environ: dict[str, str] | None = None


class KeeperStarted(msgspec.Struct, kw_only=True, omit_defaults=True):
    """How the start went (on the ready pipe, one line)."""

    ok: bool
    pid: int | None = None
    socket: str | None = None
    error: str | None = None


# --- codecs -------------------------------------------------------------------------------------

_encoder = msgspec.json.Encoder()
_requests = msgspec.json.Decoder(Request)
_events = msgspec.json.Decoder(Event)
_sync_headers = msgspec.json.Decoder(SyncHeader)


def encode(message: Message) -> bytes:
    """A JSON frame of *message*."""
    payload = _encoder.encode(message)
    return HEADER.pack(len(payload), JSON) + payload


def encode_plain(value: msgspec.Struct) -> bytes:
    """*value* as JSON, unframed (the launcher's pipes)."""
    return _encoder.encode(value)


def decode_plain(data: bytes, kind: type[Any]) -> Any:
    try:
        return msgspec.json.decode(data, type=kind)
    except msgspec.DecodeError as exc:
        raise ProtocolError(f"{kind.__name__}: {exc}") from None


def _reason(exc: msgspec.DecodeError, payload: bytes) -> str:
    """A readable reason for a frame that is not a message."""
    text = str(exc)
    if text.startswith("Invalid value") and "`$.t`" in text:
        try:
            tag = msgspec.json.decode(payload)["t"]
        except Exception:
            tag = None
        return f"unknown message {tag!r}"
    return f"malformed message: {text}"


def request_id(payload: bytes) -> int | None:
    """The ``id`` of a request that failed to decode, so that its reply reaches its caller."""
    try:
        value = msgspec.json.decode(payload)
    except msgspec.DecodeError:
        return None
    request = value.get("id") if isinstance(value, dict) else None
    return request if isinstance(request, int) and not isinstance(request, bool) else None


def decode_request(payload: bytes) -> Hello | Op:
    """A client's frame as a message (ProtocolError with the reason if it is none)."""
    try:
        return _requests.decode(payload)
    except msgspec.DecodeError as exc:
        raise ProtocolError(_reason(exc, payload)) from None


def decode_event(payload: bytes) -> Any:
    """A keeper's frame as a message (ProtocolError with the reason if it is none)."""
    try:
        return _events.decode(payload)
    except msgspec.DecodeError as exc:
        raise ProtocolError(_reason(exc, payload)) from None


def convert_result(op: Op | type[Op], result: Any) -> Any:
    """A reply's result as the op's Result type."""
    kind = op.Result
    if kind is None:
        return result
    try:
        return msgspec.convert(result, kind)
    except msgspec.ValidationError as exc:
        raise ProtocolError(f"{type(op).__name__}: bad result: {exc}") from None


def output_frame(index: int, data: bytes, time: float) -> bytes:
    """Raw output of process *index*: the bytes it wrote, as read from its terminal, at *time*
    (epoch seconds, to the millisecond: the lines they complete arrived then)."""
    head = HEADER.pack(len(data) + INDEX.size + TIME.size, OUTPUT)
    return head + INDEX.pack(index) + TIME.pack(time) + data


def sync_frame(header: SyncHeader, lines: list[str]) -> bytes:
    """A copy of part of a buffer: its header, then its lines joined by newlines (a buffer
    line never holds one)."""
    header.n = len(lines)
    head = _encoder.encode(header)
    body = "\n".join(lines).encode()
    size = LENGTH.size + len(head) + len(body)
    return HEADER.pack(size, SYNC) + LENGTH.pack(len(head)) + head + body


def decode_sync(payload: bytes) -> tuple[SyncHeader, list[str]]:
    try:
        (size,) = LENGTH.unpack_from(payload)
        header = _sync_headers.decode(payload[LENGTH.size : LENGTH.size + size])
        body = payload[LENGTH.size + size :]
        lines = body.decode().split("\n") if header.n else []
    except (msgspec.DecodeError, struct.error, UnicodeDecodeError) as exc:
        raise ProtocolError(f"malformed buffer copy: {exc}") from None
    if len(lines) != header.n:
        raise ProtocolError(f"malformed buffer copy: {len(lines)} lines, not {header.n}")
    return header, lines


def decode_output(payload: bytes) -> tuple[int, float, bytes]:
    """``(process, time, data)`` of an output frame."""
    if len(payload) < INDEX.size + TIME.size:
        raise ProtocolError("malformed output frame")
    (time,) = TIME.unpack_from(payload, INDEX.size)
    return INDEX.unpack_from(payload)[0], time, payload[INDEX.size + TIME.size :]
