"""Turn Textual key events into the bytes a terminal would send, for input mode."""

from __future__ import annotations

from textual import events

# xterm sequences (normal cursor mode).
_SPECIAL: dict[str, bytes] = {
    "enter": b"\r",
    "tab": b"\t",
    "shift+tab": b"\x1b[Z",
    "backspace": b"\x7f",
    "ctrl+h": b"\x08",
    "delete": b"\x1b[3~",
    "insert": b"\x1b[2~",
    "up": b"\x1b[A",
    "down": b"\x1b[B",
    "right": b"\x1b[C",
    "left": b"\x1b[D",
    "home": b"\x1b[H",
    "end": b"\x1b[F",
    "pageup": b"\x1b[5~",
    "pagedown": b"\x1b[6~",
    "ctrl+left": b"\x1b[1;5D",
    "ctrl+right": b"\x1b[1;5C",
    "ctrl+up": b"\x1b[1;5A",
    "ctrl+down": b"\x1b[1;5B",
    "ctrl+space": b"\x00",
    "ctrl+@": b"\x00",
    "f1": b"\x1bOP",
    "f2": b"\x1bOQ",
    "f3": b"\x1bOR",
    "f4": b"\x1bOS",
    "f5": b"\x1b[15~",
    "f6": b"\x1b[17~",
    "f7": b"\x1b[18~",
    "f8": b"\x1b[19~",
    "f9": b"\x1b[20~",
    "f10": b"\x1b[21~",
    "f11": b"\x1b[23~",
    "f12": b"\x1b[24~",
}


def key_to_bytes(event: events.Key) -> bytes | None:
    """The bytes for *event*, or None for a key with no terminal encoding."""
    key = event.key
    if key in _SPECIAL:
        return _SPECIAL[key]
    if key.startswith("alt+") or key.startswith("meta+"):
        rest = key.split("+", 1)[1]
        if len(rest) == 1:
            return b"\x1b" + rest.encode()
    if key.startswith("ctrl+") and len(key) == 6 and key[5].isalpha():
        return bytes([ord(key[5].lower()) - ord("a") + 1])
    if event.character:
        return event.character.encode("utf-8", "replace")
    return None
