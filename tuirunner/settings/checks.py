"""The checks of a process's settings: ``ready`` and ``health`` (one probe each: http, port,
log, command or a service URL, with ``host`` and ``headers``), validated beyond the schema and
built into the model. A part of :mod:`.load`'s builder.
"""

from __future__ import annotations

import re
from typing import Any, NoReturn

import msgspec

from tuirunner.settings.expand import VARIABLE
from tuirunner.settings.messages import Key, describe
from tuirunner.settings.model import HealthCheck, ReadyCheck, ReadyKind
from tuirunner.settings.schema import (
    HEALTH_KINDS,
    PORT_OR_VARIABLE,
    READY_KINDS,
    HealthTable,
    ReadyTable,
)

_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an RFC 9110 token
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")  # no control characters, no newline


class Checks:
    """``ready`` and ``health`` tables into :class:`ReadyCheck` / :class:`HealthCheck`."""

    def fail(self, keys: Key, reason: str) -> NoReturn:
        raise NotImplementedError

    def health(self, t: HealthTable, keys: Key) -> HealthCheck:
        kinds = [kind for kind in HEALTH_KINDS if getattr(t, kind) is not None]
        if not kinds:
            self.fail(keys, "needs one check: http, port or command")
        if len(kinds) > 1:
            self.fail(keys, f"{' and '.join(kinds)} cannot be combined; choose one check")
        kind = ReadyKind(kinds[0])
        probe = self.probe(
            kind,
            t.port if kind is ReadyKind.PORT else getattr(t, kind.value),
            t.host,
            t.headers,
            keys,
        )
        extra: dict[str, Any] = {}
        for key in ("interval", "timeout", "failures"):
            if getattr(t, key) is not None:
                extra[key] = getattr(t, key)
        check = HealthCheck(probe, **extra)
        return msgspec.structs.replace(
            check, probe=msgspec.structs.replace(probe, timeout=check.timeout)
        )

    def ready(self, t: ReadyTable, keys: Key) -> ReadyCheck:
        kinds = [kind for kind in READY_KINDS if getattr(t, kind) is not None]
        if not kinds:
            self.fail(keys, f"needs one check: {', '.join(READY_KINDS[:-1])} or {READY_KINDS[-1]}")
        if len(kinds) > 1:
            self.fail(keys, f"{' and '.join(kinds)} cannot be combined; choose one check")
        kind = ReadyKind(kinds[0])
        value = t.port if kind is ReadyKind.PORT else getattr(t, kind.value)
        check = self.probe(kind, value, t.host, t.headers, keys)
        extra: dict[str, Any] = {}
        if t.timeout is not None:
            extra["timeout"] = t.timeout
        if t.interval is not None:
            extra["interval"] = t.interval
        return msgspec.structs.replace(check, **extra) if extra else check

    def probe(
        self,
        kind: ReadyKind,
        value: Any,
        host: str | None,
        headers: dict[str, str] | None,
        keys: Key,
    ) -> ReadyCheck:
        """One check of *kind* (of ``ready`` or ``health``): its target, ``host`` (the address
        of a ``port`` check, the Host header of an ``http`` one) and ``headers`` (``http``)."""
        k = (*keys, kind.value)
        target = self.ready_port(value, k) if kind is ReadyKind.PORT else value
        if kind is ReadyKind.HTTP:
            self.check_url(target, k)
        elif kind is ReadyKind.URL:
            self.check_service_url(target, k)
        elif kind is ReadyKind.LOG:
            try:
                re.compile(target)
            except re.error as exc:
                self.fail(k, f"invalid regular expression: {exc}")
        extra: dict[str, Any] = {}
        if host is not None:
            if kind is ReadyKind.PORT:
                extra["host"] = host
            elif kind is ReadyKind.HTTP:
                if not _HEADER_VALUE.fullmatch(host):
                    self.fail((*keys, "host"), f"{describe(host)} is not a valid Host header")
                extra["host_header"] = host
            else:
                self.fail((*keys, "host"), f"only used with port or http, not {kind.value}")
        if headers is not None:
            if kind is not ReadyKind.HTTP:
                self.fail((*keys, "headers"), f"only used with http, not {kind.value}")
            for name, text in headers.items():
                if not _HEADER_NAME.fullmatch(name):
                    self.fail((*keys, "headers", name), "not a valid HTTP header name")
                if not _HEADER_VALUE.fullmatch(text):
                    self.fail((*keys, "headers", name), "a header value is one line of text")
            extra["headers"] = tuple(headers.items())
        return ReadyCheck(kind, target, **extra)

    def ready_port(self, value: int | str | None, keys: Key) -> str:
        if isinstance(value, str):
            if VARIABLE.fullmatch(value):
                return value
            self.fail(keys, f"expected {PORT_OR_VARIABLE}, got {describe(value)}")
        assert value is not None
        if not 0 < value < 65536:
            self.fail(keys, f"port {value} is out of range (1 to 65535)")
        return str(value)

    def check_service_url(self, url: str, keys: Key) -> None:
        """``ready.url``: a variable (``$DATABASE_URL``), or a URL of a known service."""
        from tuirunner.services import parse_service, scheme_of

        if VARIABLE.fullmatch(url.strip()):
            return
        if scheme_of(url) is None:
            self.fail(
                keys,
                'expected a variable such as "$DATABASE_URL" or a service URL '
                "(postgres://, redis://, …)",
            )
        try:
            service = parse_service(VARIABLE.sub("1", url))  # "$PGPORT": known at start
        except ValueError as exc:
            self.fail(keys, str(exc))
        if service is None:
            self.fail(keys, "this URL names no server to wait for")

    def check_url(self, url: str, keys: Key) -> None:
        from urllib.parse import urlsplit  # only with an http check

        probe = VARIABLE.sub("1", url)  # "$PORT" is only known when the process starts
        try:
            parts = urlsplit(probe)
            parts.port  # noqa: B018 - raises ValueError when out of range or not a number
        except ValueError as exc:
            self.fail(keys, f"invalid URL {describe(url)}: {exc}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.fail(
                keys,
                f"expected an http:// or https:// URL with a host, got {describe(url)}",
            )
