"""A fixed corpus of real-format fake credentials and of harmless values, under a neutral name:
every credential format must be caught (wholly masked, or its password part for URLs) and no
harmless value masked. The counts are printed (``pytest -s``) and named in any failure.

Measured on this corpus: before issue 24's rules, 20 of 35 caught and 1 false positive (a
Twilio Account SID); now 35 of 35 and none. bc-detect-secrets 1.5.52 (the maintained fork) was
tried in detect-secrets' place: it lacks the GitLab, OpenAI, PyPI and Telegram plugins, so the
rules of tuirunner/secrets.py stay on detect-secrets 1.5 plus hand-written formats."""

from __future__ import annotations

import random
import string

from tuirunner.secrets import MASK, mask_value, secret_reason

_RNG = random.Random(24)  # fixed: the same corpus every run


def _run(n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(n))


_HEX = "0123456789abcdef"

# Whole-value formats: what the README lists, and what issue 24 found shown in clear.
TOKENS = {
    "JWT": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
    + _run(43, string.ascii_letters + string.digits + "_-"),
    "GitHub token (classic)": "ghp_" + _run(36),
    "GitHub token (fine-grained)": "github_pat_" + _run(22) + "_" + _run(59),
    "GitLab token": "glpat-" + _run(20),
    "Slack token": "xoxb-123456789012-1234567890123-" + _run(24),
    "Slack webhook URL": "https://hooks.slack.com/services/T0ABCDEFG/B0ABCDEFG/" + _run(24),
    "AWS access key": "AKIA" + _run(16, string.ascii_uppercase + "234567"),
    "Stripe live key": "sk_live_" + _run(24),
    "Stripe test key": "sk_test_" + _run(24),
    "Stripe restricted key": "rk_live_" + _run(24),
    "OpenAI key": "sk-proj-" + _run(48),
    "Anthropic key": "sk-ant-api03-" + _run(48),
    "SendGrid key": "SG." + _run(22) + "." + _run(43),
    "Twilio API key": "SK" + _run(32, _HEX),
    "Mailchimp key": _run(32, _HEX) + "-us6",
    "npm token": "npm_" + _run(36),
    "PyPI token": "pypi-AgEIcHlwaS5vcmc" + _run(80),
    "private key": "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA"
    + _run(60)
    + "\n-----END RSA PRIVATE KEY-----",
    "Telegram bot token": "1234567890:AA" + _run(33),
    "Azure storage key": "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey="
    + _run(86)
    + "==;EndpointSuffix=core.windows.net",
    "Google API key": "AIza" + _run(35),
    "Google OAuth client secret": "GOCSPX-" + _run(28),
    "Hugging Face token": "hf_" + _run(34, string.ascii_letters),
    "DigitalOcean token": "dop_v1_" + _run(64, _HEX),
    "Shopify access token": "shpat_" + _run(32, _HEX),
    "Shopify shared secret": "shpss_" + _run(32, _HEX),
    "Mailgun key": "key-" + _run(32, _HEX),
    "Discord webhook URL": "https://discord.com/api/webhooks/123456789012345678/" + _run(68),
    "Bearer header": "Bearer " + _run(40),
    "Basic header": "Basic dXNlcjpjb3JyZWN0IGhvcnNlIGJhdHRlcnk=",
}

# URLs whose password part must be masked (the rest stays readable).
URL_PASSWORDS = {
    "URL password with /": ("postgres://app:s3cr/et@db.internal:5432/app", "s3cr/et"),
    "URL password with ?": ("redis://:pa?ss99@cache:6379/0", "pa?ss99"),
    "URL password with #": ("amqp://user:p#ssw0rd@mq.internal//", "p#ssw0rd"),
    "URL password with a space": ("mysql://root:my secret@db/shop", "my secret"),
    "URL password with @": ("postgres://app:p@ss@db/app", "p@ss"),
}

HARMLESS = [
    "/usr/local/bin:/usr/bin:/bin",
    "/home/app/.venv/lib/python3.12/site-packages",
    "db.internal.example.com",
    "localhost:5432",
    "http://localhost:8080/api/v1/items?page=2&sort=name",
    "https://example.com/path#section-2",
    "postgres://app@db/app",
    "123e4567-e89b-12d3-a456-426614174000",
    "#1e90ff",
    "#FFF",
    "1.4.12",
    "v2.0.0-rc.1+build.20261204",
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",  # SHA-256
    "sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC",  # SRI
    "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
    "SGVsbG8gd29ybGQsIHRoaXMgaXMgYSBwbGFpbiBiYXNlNjQgYmxvYiBvZiB0ZXh0Lg==",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@laptop",
    "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE"
    + "x" * 40
    + "\n-----END PUBLIC KEY-----",
    "pk_live_" + "51HqLyjWDarjtT1zdp7dc" + "a" * 10,
    "pk_test_TYooMQauvdEDq54NiTphI7jx",
    "AC" + "0123456789abcdef" * 2,  # a Twilio Account SID: an identifier
    "da39a3ee5e6b4b0d3255bfef95601890afd80709",  # a git commit
    "mysite.settings.production",
    "hello world",
    "*/5 * * * *",
    "us-east-1",
    "arn:aws:s3:::my-bucket/logs",
    "python:3.12-slim@sha256:" + "ab" * 32,
    "G-ABCDEF1234",
    "Bearer",
    'Basic realm="staging"',
    "user@example.com",
    "2026-12-04T22:40:00Z",
    "true",
    "8000",
]


def _caught_whole(value: str) -> bool:
    return secret_reason("VALUE", value) is not None and mask_value("VALUE", value) == MASK


def _caught_password(url: str, password: str) -> bool:
    shown = mask_value("VALUE", url)
    return secret_reason("VALUE", url) is not None and password not in shown and MASK in shown


def test_the_corpus_every_format_is_caught_and_nothing_harmless_masked():
    missed = [name for name, value in TOKENS.items() if not _caught_whole(value)]
    missed += [name for name, (url, pw) in URL_PASSWORDS.items() if not _caught_password(url, pw)]
    false_positives = [v for v in HARMLESS if mask_value("VALUE", v) != v]
    total = len(TOKENS) + len(URL_PASSWORDS)
    summary = (
        f"caught {total - len(missed)} of {total} credential formats; "
        f"{len(false_positives)} of {len(HARMLESS)} harmless values masked"
    )
    print(summary)
    assert not missed, f"{summary}; missed: {missed}"
    assert not false_positives, f"{summary}; masked: {false_positives}"


def test_the_keepers_scan_in_a_child_gives_the_same_verdicts():
    # The keeper runs detect-secrets in a child process (tuirunner/secretscan.py, with a
    # stand-in for requests, which only its online verification uses): every value of the
    # corpus gets the verdict the scan in this process gives.
    from tuirunner.secretscan import Scan
    from tuirunner.tokenformats import detect_secrets_reason_here

    values = [*TOKENS.values(), *(url for url, _ in URL_PASSWORDS.values()), *HARMLESS]
    values += ["/var/folders/xz/6h2k5b9d3s1f_8g7j4k2l0m0000gn/T/", "AC" + "0" * 32]
    reasons = Scan(values).reasons()
    assert reasons == [detect_secrets_reason_here(v) for v in values]
    assert sum(r is not None for r in reasons) >= 15
