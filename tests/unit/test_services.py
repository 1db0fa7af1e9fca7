"""Services named by URLs: the scheme's service and default port, and no password shown."""

import pytest

from tuirunner.services import NotCheckable, Service, parse_service, url_variables
from tuirunner.settings.model import ReadyCheck, ReadyKind

DEFAULTS = [
    ("postgres://app:pw@db/app", "postgres", "db", 5432),
    ("postgresql://localhost/app", "postgres", "localhost", 5432),
    ("pgsql://h/x", "postgres", "h", 5432),
    ("postgis:///gis", "postgres", "localhost", 5432),
    ("mysql://root:pw@127.0.0.1/app", "mysql", "127.0.0.1", 3306),
    ("mariadb://h/app", "mariadb", "h", 3306),
    ("redis://localhost", "redis", "localhost", 6379),
    ("redis://:pw@cache:6380/1", "redis", "cache", 6380),
    ("rediss://user:pw@cache/0", "redis", "cache", 6379),
    ("amqp://guest:guest@mq//", "rabbitmq", "mq", 5672),
    ("amqps://mq/", "rabbitmq", "mq", 5671),
    ("mongodb://u:p@h1:27018,h2:27019/db", "mongodb", "h1", 27018),
    ("mongodb://localhost", "mongodb", "localhost", 27017),
    ("memcache://127.0.0.1", "memcached", "127.0.0.1", 11211),
    ("pymemcache://m:11212", "memcached", "m", 11212),
    ("elasticsearch://es", "elasticsearch", "es", 9200),
    ("smtp://mail", "smtp", "mail", 25),
    ("smtps://mail", "smtp", "mail", 465),
    ("postgres://u:pw@[::1]:5433/app", "postgres", "::1", 5433),
]


@pytest.mark.parametrize(("url", "kind", "host", "port"), DEFAULTS)
def test_each_scheme_and_its_default_port(url, kind, host, port):
    assert parse_service(url) == Service(kind, host, port)


def test_no_server_and_unknown_and_srv():
    assert parse_service("sqlite:///db.sqlite3") is None
    assert parse_service("not a url") is None
    with pytest.raises(NotCheckable, match="unknown service scheme"):
        parse_service("gopher://h/", "X_URL")
    with pytest.raises(NotCheckable, match=r"DNS SRV record.*does not resolve it"):
        parse_service("mongodb+srv://u:hunter2@cluster0.example.net/db", "MONGO_URL")
    with pytest.raises(NotCheckable, match="port is not a number from 1 to 65535"):
        parse_service("redis://h:99999", "REDIS_URL")


def test_a_password_never_shows():
    secret = "hunter2-s3cret"
    for url in (
        f"postgres://app:{secret}@localhost:5432/app",
        f"redis://:{secret}@localhost/0",
        f"mongodb+srv://u:{secret}@c.example.net/db",
        f"postgres://app:{secret}@localhost:notaport/app",
        # Unencoded '/', '?', '#' in a password: what reads as the host or port is part of it.
        f"postgres://app:{secret}/x@db:5432/app",
        f"redis://:{secret}?z@localhost:6379/0",
        f"postgres://app:1234/{secret}@db/app",
        f"postgres://app:{secret}#x@db/app",
        f"postgres://app:{secret}@{secret}/word@db:5432/app",
        f"postgres://app:{secret}",  # no host: the password reads as the port
    ):
        try:
            shown = parse_service(url, "DATABASE_URL").describe()
        except ValueError as exc:
            shown = str(exc)
        assert secret not in shown and "1234" not in shown


def test_describe_names_the_variable():
    service = parse_service("postgres://app:pw@localhost/app", "DATABASE_URL")
    assert service.describe() == "postgres at localhost:5432 (DATABASE_URL)"


def test_url_variables_of_an_environment():
    env = {
        "DATABASE_URL": "postgres://a:b@db/app",
        "CELERY_BROKER_URL": "amqp://mq//",
        "SITE_URL": "https://example.com/",
        "CACHE": "redis://c:6380",
        "HOME": "/root",
        "MONGO_URL": "mongodb+srv://x/y",
        "SQLITE_URL": "sqlite:///x",
    }
    found = dict(url_variables(env))
    assert found["DATABASE_URL"] == Service("postgres", "db", 5432, "DATABASE_URL")
    assert found["CELERY_BROKER_URL"] == Service("rabbitmq", "mq", 5672, "CELERY_BROKER_URL")
    assert found["CACHE"] == Service("redis", "c", 6380, "CACHE")
    assert "DNS SRV" in found["MONGO_URL"]
    assert set(found) == {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE", "MONGO_URL"}


def test_ready_check_service_from_a_variable():
    check = ReadyCheck(ReadyKind.URL, "$DATABASE_URL")
    env = {"DATABASE_URL": "postgres://app:pw@localhost:6543/app"}
    assert check.service(env) == Service("postgres", "localhost", 6543, "DATABASE_URL")
    with pytest.raises(ValueError, match="DATABASE_URL is not set"):
        check.service({})
    with pytest.raises(ValueError, match="names no server"):
        check.service({"DATABASE_URL": "sqlite:///x"})


def test_a_disallowed_host_is_named_without_its_port():
    # Django's ALLOWED_HOSTS compares hosts without their port: the advice names the host alone.
    from tuirunner.readiness import _verdict
    from tuirunner.settings.model import ReadyCheck, ReadyKind

    body = b"<title>DisallowedHost at /</title>"
    check = ReadyCheck(ReadyKind.HTTP, "http://127.0.0.1:8000/")
    said = _verdict(check, "http://127.0.0.1:8000/", b"HTTP/1.1 400 Bad Request", body)
    assert "the Host header 'localhost:8000' is not in ALLOWED_HOSTS" in said
    assert "add 'localhost' to ALLOWED_HOSTS" in said
    check = ReadyCheck(ReadyKind.HTTP, "http://127.0.0.1:8000/", host_header="app.example.com")
    said = _verdict(check, "http://127.0.0.1:8000/", b"HTTP/1.1 400 Bad Request", body)
    assert "add 'app.example.com' to ALLOWED_HOSTS" in said
