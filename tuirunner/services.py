"""Services named by URLs (``DATABASE_URL=postgres://app:pw@localhost/app``): which service, at
which host and port, for the ``url`` ready check and ``tuirunner check``. No I/O here.

Messages name the service, where it is and the variable it came from (``postgres at
localhost:5432 (DATABASE_URL)``), never the URL itself: a password cannot show.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from tuirunner.secrets import mask_value

#: URL scheme → (service name, default port). Aliases used by dj-database-url, django-environ,
#: Celery, Kombu and the drivers.
SCHEMES: dict[str, tuple[str, int]] = {
    "postgres": ("postgres", 5432),
    "postgresql": ("postgres", 5432),
    "pgsql": ("postgres", 5432),
    "postgis": ("postgres", 5432),
    "psql": ("postgres", 5432),
    "timescale": ("postgres", 5432),
    "cockroach": ("cockroachdb", 26257),
    "mysql": ("mysql", 3306),
    "mysql2": ("mysql", 3306),
    "mysqlgis": ("mysql", 3306),
    "mariadb": ("mariadb", 3306),
    "redis": ("redis", 6379),
    "rediss": ("redis", 6379),
    "redis+socket": ("redis", 0),
    "valkey": ("valkey", 6379),
    "valkeys": ("valkey", 6379),
    "amqp": ("rabbitmq", 5672),
    "amqps": ("rabbitmq", 5671),
    "pyamqp": ("rabbitmq", 5672),
    "mongodb": ("mongodb", 27017),
    "mongodb+srv": ("mongodb", 0),
    "memcache": ("memcached", 11211),
    "memcached": ("memcached", 11211),
    "pymemcache": ("memcached", 11211),
    "pylibmc": ("memcached", 11211),
    "elasticsearch": ("elasticsearch", 9200),
    "opensearch": ("opensearch", 9200),
    "smtp": ("smtp", 25),
    "smtp+tls": ("smtp", 587),
    "submission": ("smtp", 587),
    "smtps": ("smtp", 465),
    "smtp+ssl": ("smtp", 465),
    "nats": ("nats", 4222),
    "kafka": ("kafka", 9092),
    "ldap": ("ldap", 389),
    "ldaps": ("ldap", 636),
    "http": ("http", 80),
    "https": ("https", 443),
}
#: Schemes that name no server to wait for.
NO_SERVER = (
    "sqlite",
    "spatialite",
    "file",
    "locmemcache",
    "dummycache",
    "filecache",
    "dbcache",
    "consolemail",
    "filemail",
    "memorymail",
    "dummymail",
)
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", re.S)


class NotCheckable(ValueError):
    """A URL that names no host and port that can be checked (``mongodb+srv``, a socket)."""


@dataclass(frozen=True)
class Service:
    kind: str  # "postgres"
    host: str
    port: int
    variable: str | None = None  # DATABASE_URL

    def describe(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        where = f"{self.kind} at {host}:{self.port}"
        return f"{where} ({self.variable})" if self.variable else where


def scheme_of(url: str) -> str | None:
    m = _SCHEME.match(url.strip())
    return m.group(1).lower() if m else None


def parse_service(url: str, variable: str | None = None) -> Service | None:
    """The service *url* names; None for a scheme that needs no server (``sqlite://``) or is
    not a URL. ValueError (:class:`NotCheckable`) for one that cannot be checked, saying why;
    the messages never quote the URL (it may hold a password)."""
    m = _SCHEME.match(url.strip())
    label = variable or "the URL"
    if m is None:
        return None
    scheme, rest = m.group(1).lower(), m.group(2)
    if scheme in NO_SERVER or scheme.split("+")[0] in NO_SERVER:
        return None
    known = SCHEMES.get(scheme) or SCHEMES.get(scheme.split("+")[0])
    if known is None:
        raise NotCheckable(f"{label}: unknown service scheme {scheme}://")
    kind, default = known
    if scheme == "mongodb+srv":
        raise NotCheckable(
            f"{label}: mongodb+srv:// names a DNS SRV record, not a host and port; "
            "tuirunner does not resolve it (it may need the network): not checked"
        )
    if default == 0:
        raise NotCheckable(f"{label}: {scheme}:// is a unix socket, not a host and port")
    netloc = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" in rest[len(netloc) :]:
        # postgres://app:pa/ss@db/app, p@ss/word@db: a password with an unencoded '/', '?' or
        # '#' (which the drivers do not read as written either). What reads as the host or the
        # port may be part of it, and is never said.
        raise NotCheckable(
            f"{label}: an '@' after its host: does the user name or password hold an "
            "unencoded '/', '?' or '#' (write %2F, %3F, %23)? Not checked"
        )
    netloc = netloc.rpartition("@")[2]  # user:password@ goes first: never kept
    first = netloc.split(",")[0]  # mongodb://h1,h2/: the first host
    if first.startswith("["):
        host, _, after = first[1:].partition("]")
        port_text = after[1:] if after.startswith(":") else ""
    else:
        host, _, port_text = first.partition(":")
    if not host:
        host = "localhost"  # postgres:///app, redis://: the drivers' default
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            # (not quoted: what reads as the port may be a password, postgres://app:pw/db)
            raise NotCheckable(f"{label}: the {kind} port is not a number from 1 to 65535")
        port = int(port_text)
    else:
        port = default
    return Service(kind, host, port, variable)


def url_variables(env: Mapping[str, str]) -> list[tuple[str, Service | str]]:
    """The variables of *env* that name a service (``*_URL``, ``*_DSN``, or any value with a
    known scheme other than http), with the service or why it cannot be checked."""
    found: list[tuple[str, Service | str]] = []
    for name in sorted(env):
        value = env[name]
        scheme = scheme_of(value)
        if scheme is None or scheme in ("http", "https"):
            continue
        if scheme not in SCHEMES and not name.endswith(("_URL", "_DSN", "_URI")):
            continue
        try:
            service = parse_service(value, name)
        except ValueError as exc:
            found.append((name, str(exc)))
            continue
        if service is not None:
            found.append((name, service))
    return found


def masked(name: str, value: str) -> str:
    """*value* as it may be shown: its secret parts masked (see :mod:`tuirunner.secrets`)."""
    return mask_value(name, value)
