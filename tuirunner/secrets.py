"""Which values are secret, why, and how they are masked.

By name: a name is secret when one of its words (split on ``_``, ``-``, ``.`` and camelCase) is,
or ends with, one of the keywords below, or is a keyword plus a plural ``S``: ``API_KEY``,
``APIKEY``, ``DJANGO_SECRET_KEY``, ``GITHUB_TOKENS`` and ``SENTRY_DSN`` are secret;
``KEYBOARD_LAYOUT``, ``AUTHOR_NAME``, ``PASSENGER_COUNT`` and ``TOKENIZER`` are not. A few words
(``COOKIE``, ``SIGNING``) make a name secret only as its last word: ``SESSION_COOKIE`` and
``SIGNING`` are secret, ``SESSION_COOKIE_SECURE`` and ``SIGNING_ALGORITHM`` are settings.

By value, whatever the name:

- well-known token formats (JWT, GitHub, GitLab, Slack, AWS, Stripe, OpenAI, SendGrid, Twilio,
  private keys, …: :mod:`tuirunner.tokenformats`). The whole value is masked.
- the password of a URL (``postgres://app:••••@db/app``), a token used as a URL's user name
  (``https://••••@github.com``, Sentry DSNs), credential query parameters
  (``?token=••••``), and passwords in connection strings (``Server=db;Uid=sa;Pwd=••••``). Only
  the secret part is masked.

Results are cached: the same environment is classified for every process.
"""

from __future__ import annotations

import re
from functools import lru_cache

from tuirunner.tokenformats import CHECKING, FORMAT_REASONS, pending, token_format

MASK = "••••"

KEYWORDS = frozenset(
    {
        "SECRET",
        "TOKEN",
        "PASSWORD",
        "PASSWD",
        "PASS",
        "KEY",
        "PRIVATE",
        "CREDENTIAL",
        "AUTH",
        "SIGNATURE",
        "SALT",
        "DSN",
        "PASSPHRASE",
        "AUTHORIZATION",
    }
)
# Secret only as the last word of a name: SESSION_COOKIE holds a cookie, SESSION_COOKIE_SECURE
# and SESSION_COOKIE_AGE are Django settings about it.
TAIL_KEYWORDS = frozenset({"COOKIE", "COOKIES", "SIGNING"})
# Words that end with a keyword and are secret (APIKEY, ACCESSTOKEN, DBPASSWORD) are caught by the
# suffix rule; these end with one by accident and are not secrets.
_NOT_SECRET_WORDS = frozenset(
    {"MONKEY", "TURKEY", "HOCKEY", "JOCKEY", "DONKEY", "BYPASS", "COMPASS"}
)
# Whole names that contain a keyword but hold no secret.
_NOT_SECRET_NAMES = frozenset({"SSH_AUTH_SOCK", "XAUTHORITY", "GPG_AGENT_INFO"})

_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
# scheme://user:password@host — the password is group 2, up to the last @ of the authority (a
# password may contain @). The user part may be empty (redis://:password@host).
# The password may hold '/', '?', '#', '@' or a space (unencoded, as people write them): it runs
# to the last '@' followed by a host and the host's end (p@ss/word@db: all of p@ss/word), but not
# into another URL of the value. The host may be an IPv6 address in brackets ([::1]:5432). A port
# (host:8080/path) is not a password.
_URL_PASSWORD = re.compile(
    r"([A-Za-z][A-Za-z0-9+.\-]*://[^:/?#@\s]*:)(?!\d+(?:[/?#\s]|$))((?:(?!://)[^\n])+)"
    r"(@)(?=(?:\[[0-9A-Za-z:.%]*\]|[A-Za-z0-9.\-_~%]*)(?::\d+)?(?:[/?#,;\s]|$))"
)
# scheme://TOKEN@host: a long user name with digits is a token (https://ghp_…@github.com), not a
# name like postgres://app@db.
_URL_TOKEN_USER = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://)([^:/?#@\s]{16,})(@)")
# A Sentry DSN, https://KEY@o0.ingest.sentry.io/0: the user part is the key, whatever it looks like.
_SENTRY_DSN = re.compile(
    r"([A-Za-z][A-Za-z0-9+.\-]*://)([^:/?#@\s]+)(@[^/?#@\s]*sentry[^/?#@\s]*)", re.IGNORECASE
)
# ?name=value, &name=value, #name=value (OAuth puts access_token in the fragment).
_QUERY_PARAMETER = re.compile(r"([?&#])([^=&#?\s]+)(=)([^&#\s]+)")
# Key=value pairs of an ODBC/ADO/JDBC connection string, separated by ';'. An ODBC value may be
# braced, with '}}' for a literal '}': Pwd={a;b}}c}.
_CONNECTION_PAIR = re.compile(r"(^|;)(\s*)([^=;{}]+?)(\s*=\s*)(\{(?:[^}]|\}\})*\}|[^;]*)")
# libpq's keyword/value form: host=db user=app password=secret (values may be single-quoted).
_LIBPQ_PAIR = re.compile(r"(^|\s)([A-Za-z_]+)(\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s']+)")
_LIBPQ_PAIR_TEXT = r"[A-Za-z_]+\s*=\s*(?:'(?:[^'\\]|\\.)*'|[^\s']+)"
_LIBPQ = re.compile(rf"\s*{_LIBPQ_PAIR_TEXT}(?:\s+{_LIBPQ_PAIR_TEXT})+\s*")
# Parameter names that say "secret" but are too short for the name rules.
_SECRET_PARAMETERS = frozenset({"pwd", "pw", "sig", "sas"})
_PASSWORD_PARAMETERS = frozenset({"password", "pwd", "pw", "passwd", "pass"})
# A parameter whose last word is one of these describes a secret without holding it
# (token_type=bearer, key_id=12, auth_mode=basic, SharedAccessKeyName=RootManage…).
_META_WORDS = frozenset({"TYPE", "ID", "NAME", "MODE", "FILE", "PATH", "METHOD", "LENGTH", "URL"})

NAME_REASON = "name"


def _word_is_secret(word: str) -> bool:
    if word in KEYWORDS:
        return True
    if word.endswith("S") and word[:-1] in KEYWORDS:
        return True
    if word in _NOT_SECRET_WORDS:
        return False
    return any(
        word.endswith(k) and len(word) > len(k)
        for k in ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD")
    )


def _words(name: str) -> list[str]:
    return [w.upper() for w in _WORD_SPLIT.split(name) if w]


@lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """True when the variable's name says it holds a secret."""
    if name.upper() in _NOT_SECRET_NAMES:
        return False
    words = _words(name)
    return any(_word_is_secret(w) for w in words) or bool(words and words[-1] in TAIL_KEYWORDS)


def _is_secret_parameter(name: str) -> bool:
    """A query parameter or connection-string key that holds a secret (token, api_key, Pwd)."""
    key = name.strip()
    if key.lower() in _SECRET_PARAMETERS:
        return True
    words = _words(key)
    if not words or words[-1] in _META_WORDS:
        return False
    return is_secret_name(key)


def mask_url_passwords(value: str) -> str:
    """Replace the password of every ``scheme://user:password@host`` in *value*."""
    if "://" not in value:
        return value
    value = _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + m.group(3), value)
    return _URL_TOKEN_USER.sub(_mask_token_user, value)


def _mask_token_user(m: re.Match[str]) -> str:
    user = m.group(2)
    return m.group(1) + (MASK if any(c.isdigit() for c in user) else user) + m.group(3)


def has_url_password(value: str) -> bool:
    return "://" in value and mask_url_passwords(value) != value


# --- secret parts of structured values ---------------------------------------------------------


def _mask_parts(value: str) -> tuple[str | None, str]:
    """(the first reason, *value* with its secret parts masked)."""
    reasons: list[str] = []

    def masked(m: re.Match[str], secret_group: int, reason: str) -> str:
        reasons.append(reason)
        start, end = m.span(secret_group)
        return m.group()[: start - m.start()] + MASK + m.group()[end - m.start() :]

    def token_user(m: re.Match[str]) -> str:
        if any(c.isdigit() for c in m.group(2)):
            return masked(m, 2, "URL user (token)")
        return m.group()

    def parameter(m: re.Match[str]) -> str:
        if m.group(4) == MASK or not _is_secret_parameter(m.group(2)):
            return m.group()
        return masked(m, 4, f"query parameter {m.group(2)!r}")

    def connection_pair(m: re.Match[str], key: str, secret_group: int) -> str:
        if not m.group(secret_group) or not _is_secret_parameter(key):
            return m.group()
        key = key.strip()
        if key.lower() in _PASSWORD_PARAMETERS:
            return masked(m, secret_group, "connection string password")
        return masked(m, secret_group, f"connection string {key!r}")

    if "://" in value:
        value = _URL_PASSWORD.sub(lambda m: masked(m, 2, "URL password"), value)
        value = _SENTRY_DSN.sub(lambda m: masked(m, 2, "Sentry DSN"), value)
        value = _URL_TOKEN_USER.sub(token_user, value)
    if "=" in value and ("?" in value or "&" in value or "#" in value):
        value = _QUERY_PARAMETER.sub(parameter, value)
    if "=" in value:
        if ";" in value and len(_CONNECTION_PAIR.findall(value)) >= 2:
            value = _CONNECTION_PAIR.sub(lambda m: connection_pair(m, m.group(3), 5), value)
        elif _LIBPQ.fullmatch(value):
            value = _LIBPQ_PAIR.sub(lambda m: connection_pair(m, m.group(2), 4), value)
    return (reasons[0] if reasons else None), value


@lru_cache(maxsize=4096)
def _analyse(value: str) -> tuple[str | None, str]:
    """(why *value* is secret whatever its name, or None; the value as shown by default)."""
    reason = token_format(value)
    if reason is not None:
        return reason, MASK
    return _mask_parts(value)


# --- the API ----------------------------------------------------------------------------------


def _analysed(value: str) -> tuple[str | None, str]:
    """:func:`_analyse`, or (:data:`CHECKING`, the mask) for a value still being checked,
    within :func:`tuirunner.tokenformats.without_waiting`."""
    if pending(value):
        return CHECKING, MASK
    return _analyse(value)


def secret_reason(name: str, value: str) -> str | None:
    """Why the value of *name* is masked, or None when it is not: ``"name"``, a token format
    (``"GitHub token"``, ``"JWT"``, ``"private key"``, …), ``"URL password"``, ``"URL user
    (token)"``, ``"Sentry DSN"``, ``"query parameter 'token'"``, ``"connection string
    password"``. An empty value is never secret."""
    if not value:
        return None
    if is_secret_name(name):
        return NAME_REASON
    return _analysed(value)[0]


def mask_value(name: str, value: str) -> str:
    """The value as shown by default: fully masked for a secret name or a token format; only the
    secret part masked in URLs, query parameters and connection strings."""
    if not value:
        return ""
    if is_secret_name(name):
        return MASK
    return _analysed(value)[1]


def is_masked(name: str, value: str) -> bool:
    """True when :func:`mask_value` hides something of *value*."""
    return secret_reason(name, value) is not None


def is_wholly_masked(name: str, value: str) -> bool:
    """True when nothing of *value* is shown (a secret name or a token format)."""
    return bool(value) and mask_value(name, value) == MASK


def describe_reason(reason: str) -> str:
    """A reason as a phrase for people: ``"GitHub token format"``, ``"secret-looking name"``."""
    if reason == NAME_REASON:
        return "secret-looking name"
    if reason == CHECKING:
        return "still being checked for token formats"
    if reason in FORMAT_REASONS:
        return f"{reason} format"
    return reason
