import json
import subprocess
import sys

import pytest

from tuirunner.secrets import (
    MASK,
    describe_reason,
    is_masked,
    is_secret_name,
    mask_url_passwords,
    mask_value,
    secret_reason,
)


@pytest.mark.parametrize(
    "name",
    [
        "SECRET_KEY",
        "DJANGO_SECRET_KEY",
        "API_KEY",
        "APIKEY",
        "apiKey",
        "STRIPE_SECRET",
        "GITHUB_TOKEN",
        "ACCESS_TOKENS",
        "DB_PASSWORD",
        "DBPASSWORD",
        "PGPASSWD",
        "SMTP_PASS",
        "PRIVATE_KEY_PEM",
        "AWS_CREDENTIALS",
        "BASIC_AUTH",
        "WEBHOOK_SIGNATURE",
        "HASH_SALT",
        "SENTRY_DSN",
        "secret",
        "my-token",
        "GPG_PASSPHRASE",
        "SECRET_KEY_FALLBACKS",
    ],
)
def test_secret_names(name):
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "KEYBOARD_LAYOUT",
        "AUTHOR_NAME",
        "PASSENGER_COUNT",
        "TOKENIZER_PATH",
        "MONKEY_PATCH",
        "DEBUG",
        "PORT",
        "PS",
        "PATH",
        "HOME",
        "PWD",
        "SSH_AUTH_SOCK",
        "COMPASS_HEADING",
        "BYPASS_CACHE",
        "SALTSTACK_MASTER",
        "LANG",
    ],
)
def test_names_that_merely_look_similar_are_not_secret(name):
    assert not is_secret_name(name)


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("postgres://app:hunter2@db/app", f"postgres://app:{MASK}@db/app"),
        ("redis://:s3cr3t@localhost:6379/0", f"redis://:{MASK}@localhost:6379/0"),
        ("postgres://app:hunter2@[::1]:5432/app", f"postgres://app:{MASK}@[::1]:5432/app"),
        ("redis://:s3cr3t@[2001:db8::1]/0", f"redis://:{MASK}@[2001:db8::1]/0"),
        ("amqp://guest:guest@rabbit:5672//", f"amqp://guest:{MASK}@rabbit:5672//"),
        ("a=http://u:p@x b=https://v:q@y", f"a=http://u:{MASK}@x b=https://v:{MASK}@y"),
        ("postgres://app@db/app", "postgres://app@db/app"),  # no password
        ("http://example.com:8000/path", "http://example.com:8000/path"),  # a port, not a pw
        ("plain value", "plain value"),
    ],
)
def test_url_passwords_are_masked_in_any_value(value, masked):
    assert mask_url_passwords(value) == masked
    assert mask_value("DATABASE_URL", value) == masked
    assert is_masked("DATABASE_URL", value) == (value != masked)


def test_secret_values_are_fully_masked_without_revealing_length():
    assert mask_value("SECRET_KEY", "x") == mask_value("SECRET_KEY", "x" * 50) == MASK
    assert mask_value("SECRET_KEY", "") == ""
    assert not is_masked("SECRET_KEY", "")


def test_review_cases_password_with_at_authorization_and_token_users():
    assert mask_url_passwords("postgres://u:p@ss@h/db") == f"postgres://u:{MASK}@h/db"
    # With an unencoded '/' too: all of it, up to the last '@' before a host.
    masked = mask_url_passwords("postgres://app:p@ss/word@db:5432/app")
    assert masked == f"postgres://app:{MASK}@db:5432/app"
    assert is_secret_name("HTTP_AUTHORIZATION") and is_secret_name("AUTHORIZATION")
    token = "https://ghp_abcDEF123456789xyz@github.com/org/repo.git"
    assert mask_url_passwords(token) == f"https://{MASK}@github.com/org/repo.git"
    assert mask_url_passwords("postgres://application@db/app") == "postgres://application@db/app"


# Token-shaped test values are built from pieces so that secret scanners reading this file do
# not take them for leaked credentials. None of them is real.
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    + ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
    + ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
GITHUB = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
PRIVATE_KEY = (
    "-----BEGIN " + "OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (JWT, "JWT"),
        (GITHUB, "GitHub token"),
        ("github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCD", "GitHub token"),
        ("glpat-" + "xYz12AbC34dEf56GhI78", "GitLab token"),
        ("sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0fGh3iJk6lMn9o", "OpenAI key"),
        ("sk-" + "abcdEFGHijklMNOPqrst" + "T3BlbkFJ" + "abcdEFGHijklMNOPqrst", "OpenAI key"),
        ("xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "Slack token"),
        (
            "https://hooks.slack.com/services/" + "T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
            "Slack webhook URL",
        ),
        ("AKIA" + "IOSFODNN7EXAMPLE", "AWS access key"),
        ("sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "Stripe key"),
        ("sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc", "Stripe key"),
        (
            "SG." + "ngeVfQFYQlKU0ufo8x5d1A.TwL2iGABf9DHoTf-09kqeF8tAmbihYzrnopKc-1s5cr",
            "SendGrid key",
        ),
        ("SK" + "0123456789abcdef0123456789abcdef", "Twilio key"),
        (PRIVATE_KEY, "private key"),
        ("-----BEGIN RSA " + "PRIVATE KEY-----\\nMIIEpAIBAAKCAQEA\\n", "private key"),
        (f"Authorization: Bearer {JWT}", "JWT"),
        (f"https://x-access-token:{GITHUB}@github.com/org/repo.git", "GitHub token"),
    ],
)
def test_token_formats_are_masked_whatever_the_name(value, reason):
    assert secret_reason("FOO", value) == reason
    assert mask_value("FOO", value) == MASK
    assert is_masked("FOO", value)
    assert describe_reason(reason) == f"{reason} format"


@pytest.mark.parametrize(
    ("value", "shown", "reason"),
    [
        ("postgres://app:hunter2@db/app", f"postgres://app:{MASK}@db/app", "URL password"),
        (
            "https://examplePublicKey@o0.ingest.sentry.io/0",
            f"https://{MASK}@o0.ingest.sentry.io/0",
            "Sentry DSN",
        ),
        (
            "https://a1b2c3d4e5f60718293a4b5c6d7e8f90@sentry.example.com/3",
            f"https://{MASK}@sentry.example.com/3",
            "Sentry DSN",
        ),
        (
            "https://ci:0123456789abcdefXYZ@git.example.com/x.git",
            f"https://ci:{MASK}@git.example.com/x.git",
            "URL password",
        ),
        (
            "https://0123456789abcdefXYZ@git.example.com/x.git",
            f"https://{MASK}@git.example.com/x.git",
            "URL user (token)",
        ),
        (
            "https://api.example.com/v1/items?user=bob&token=abc123&page=2",
            f"https://api.example.com/v1/items?user=bob&token={MASK}&page=2",
            "query parameter 'token'",
        ),
        (
            "https://maps.example.com/api?key=hunter2",
            f"https://maps.example.com/api?key={MASK}",
            "query parameter 'key'",
        ),
        (
            "https://acct.blob.core.windows.net/c/f.txt?sv=2022-11-02&se=2030&sig=AbC%2Bd%3D",
            f"https://acct.blob.core.windows.net/c/f.txt?sv=2022-11-02&se=2030&sig={MASK}",
            "query parameter 'sig'",
        ),
        (
            "https://app.example.com/cb#access_token=hunter2&token_type=bearer",
            f"https://app.example.com/cb#access_token={MASK}&token_type=bearer",
            "query parameter 'access_token'",
        ),
        (
            "http://h/?api_key=a&apikey=b&secret=c&password=d&signature=e&auth=f&key_id=7",
            f"http://h/?api_key={MASK}&apikey={MASK}&secret={MASK}&password={MASK}"
            f"&signature={MASK}&auth={MASK}&key_id=7",
            "query parameter 'api_key'",
        ),
        (
            "Driver={ODBC Driver 18 for SQL Server};Server=tcp:db,1433;Uid=sa;Password=Sup3r;",
            f"Driver={{ODBC Driver 18 for SQL Server}};Server=tcp:db,1433;Uid=sa;Password={MASK};",
            "connection string password",
        ),
        ("Server=db;User ID=sa;Pwd={a;b}}c};", f"Server=db;User ID=sa;Pwd={MASK};", None),
        (
            "jdbc:sqlserver://db:1433;databaseName=app;user=sa;password=hunter2;",
            f"jdbc:sqlserver://db:1433;databaseName=app;user=sa;password={MASK};",
            "connection string password",
        ),
        (
            "host=localhost port=5432 dbname=app user=app password='hunter 2'",
            f"host=localhost port=5432 dbname=app user=app password={MASK}",
            "connection string password",
        ),
        (
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0;EndpointSuffix=x",
            f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={MASK};EndpointSuffix=x",
            "connection string 'AccountKey'",
        ),
    ],
)
def test_only_the_secret_part_of_structured_values_is_masked(value, shown, reason):
    assert mask_value("UPSTREAM", value) == shown
    assert secret_reason("UPSTREAM", value) == (reason or "connection string password")
    assert mask_value("UPSTREAM_PASSWORD", value) == MASK  # a secret name hides it all


def test_names_that_hold_cookies_and_signing_secrets():
    for name in ("SESSION_COOKIE", "AUTH_COOKIES", "SIGNING", "WEBHOOK_SIGNING"):
        assert is_secret_name(name), name
        assert secret_reason(name, "x") == "name"
    for name in ("SESSION_COOKIE_SECURE", "SESSION_COOKIE_AGE", "SIGNING_ALGORITHM"):
        assert not is_secret_name(name), name
    assert describe_reason("name") == "secret-looking name"


HARMLESS = [
    "1",
    "0",
    "true",
    "False",
    "off",
    "42",
    "3.14",
    "-1",
    "",
    "hello world",
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "/home/me/.pyenv/versions/3.11.7/bin:/home/me/.local/bin",
    "/opt/python-3.11.7-x86_64-linux-gnu/lib/python3.11/site-packages",
    "/home/me/projects/my-django-project",
    "C:\\Users\\me\\AppData\\Local\\Programs\\Python\\Python311",
    "demo_site.settings",
    "myproject.settings.production",
    "localhost",
    "127.0.0.1",
    "db.internal.example.com",
    "ip-10-0-1-23.eu-west-1.compute.internal",
    "https://example.com/",
    "https://example.com/search?q=django&page=2#results",
    "https://www.googleapis.com/auth/userinfo.email",
    "postgres://app@localhost:5432/app",
    "redis://localhost:6379/0",
    "ssh://git@github.com/org/repo.git",
    "smtp://mail.example.com:587",
    "en_US.UTF-8",
    "xterm-256color",
    "Europe/Berlin",
    "python manage.py runserver 0.0.0.0:8000",
    "celery -A myproject worker -l info --concurrency=4",
    "dev-insecure-tuirunner-demo-key-do-not-use-in-production",
    "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
    "da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "unix:path=/run/user/1000/bus",
    "rs=0:di=01;34:ln=01;36:mh=00:pi=40;33:so=01;35:*.tar=01;31:*.tgz=01;31",
    "-Xmx2g -XX:+UseG1GC",
    "a=1;b=2",
    "host=db port=5432 dbname=app",
    "Server=db;Database=app;Trusted_Connection=yes;",
    "SharedAccessKeyName=RootManageSharedAccessKey",
    "https://example.com/oauth?response_type=code&token_type=bearer",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "RootManageSharedAccessKey",
    "vscode-ipc-3f2504e0-4f89-11d3-9a0c-0305e82c3301",
]
# Close to a format, so detect-secrets has a look, and says no.
NEAR_MISSES = [
    "ghp_short",
    "sk-not-a-key",
    "APDEFAULTNAME",
    "eyJ-not-a-jwt",
    "myproject-web-deployment-7d9f8b6c5-x2kqz",
    "Django-5.2.1-py3-none-any.whl",
]


@pytest.mark.parametrize("value", HARMLESS + NEAR_MISSES)
def test_ordinary_values_stay_readable(value):
    for name in ("FOO", "DEBUG", "PATH", "DATABASE_URL", "HOSTNAME"):
        assert secret_reason(name, value) is None, (name, value)
        assert mask_value(name, value) == value
        assert not is_masked(name, value)


ORDINARY_ENVIRONMENT = {
    "PATH": "/home/me/.local/bin:/usr/local/bin:/usr/bin:/bin",
    "HOME": "/home/me",
    "USER": "me",
    "LOGNAME": "me",
    "SHELL": "/bin/bash",
    "TERM": "xterm-256color",
    "LANG": "en_US.UTF-8",
    "PWD": "/home/me/projects/site",
    "OLDPWD": "/home/me",
    "EDITOR": "vim",
    "PAGER": "less",
    "LESS": "-R",
    "SHLVL": "2",
    "DISPLAY": ":0",
    "XDG_RUNTIME_DIR": "/run/user/1000",
    "XDG_SESSION_TYPE": "wayland",
    "DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/1000/bus",
    "SSH_AUTH_SOCK": "/run/user/1000/keyring/ssh",
    "INVOCATION_ID": "4b1e9f0c2d3a4e5f8a7b6c5d4e3f2a1b",
    "LS_COLORS": "rs=0:di=01;34:ln=01;36:mh=00:pi=40;33:so=01;35:do=01;35:bd=40;33;01",
    "VIRTUAL_ENV": "/home/me/projects/site/.venv",
    "PYTHONPATH": "/home/me/projects/site/src",
    "DJANGO_SETTINGS_MODULE": "site.settings.dev",
    "DATABASE_URL": "postgres://app@localhost:5432/app",
    "REDIS_URL": "redis://localhost:6379/0",
    "DEBUG": "1",
    "ALLOWED_HOSTS": "localhost,127.0.0.1,[::1]",
    "TZ": "Europe/Berlin",
    **{f"APP_SETTING_{i}": v for i, v in enumerate(HARMLESS * 2)},
}


def test_an_ordinary_environment_does_not_import_detect_secrets():
    assert len(ORDINARY_ENVIRONMENT) >= 100
    code = (
        "import sys, json\n"
        "from tuirunner.secrets import mask_value, secret_reason\n"
        "env = json.loads(sys.stdin.read())\n"
        "for k, v in env.items():\n"
        "    assert secret_reason(k, v) is None and mask_value(k, v) == v, k\n"
        "print(sorted(m for m in sys.modules if m.startswith('detect_secrets')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(ORDINARY_ENVIRONMENT),
        capture_output=True,
        text=True,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "[]\n", "")


def test_a_token_does_import_detect_secrets_and_the_result_is_cached():
    code = (
        "import sys\n"
        "from tuirunner import secrets\n"
        f"value = {GITHUB[:4]!r} + {GITHUB[4:]!r}\n"
        "assert secrets.secret_reason('A', value) == 'GitHub token'\n"
        "print('detect_secrets' in sys.modules)\n"
        "import detect_secrets.core.scan as scan\n"
        "scan.scan_line = None  # a second look must not scan again\n"
        "for name in ('A', 'B', 'C'):\n"
        "    assert secrets.secret_reason(name, value) == 'GitHub token'\n"
        "    assert secrets.mask_value(name, value) == secrets.MASK\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (result.returncode, result.stdout, result.stderr) == (0, "True\n", "")


def test_scanned_elsewhere_the_verdicts_are_the_same_and_detect_secrets_stays_out():
    # The keeper's way: detect-secrets runs in a child process (tuirunner.secretscan), one for
    # all the values given to prescan(), and this process never imports it.
    code = (
        "import sys\n"
        "from tuirunner import secrets, tokenformats\n"
        f"token = {GITHUB[:4]!r} + {GITHUB[4:]!r}\n"
        "path = '/var/folders/xz/6h2k5b9d3s1f_8g7j4k2l0m0000gn/T/'  # macOS TMPDIR\n"
        "tokenformats.scan_elsewhere()\n"
        "tokenformats.prescan([token, path, 'plain'])\n"
        "scan = tokenformats._pending[token]\n"
        "assert tokenformats._pending[path] is scan and 'plain' not in tokenformats._pending\n"
        "assert secrets.secret_reason('A', token) == 'GitHub token'\n"
        "assert secrets.mask_value('A', token) == secrets.MASK\n"
        "assert secrets.secret_reason('B', path) is None\n"
        "assert secrets.mask_value('B', path) == path\n"
        "assert not tokenformats._pending, 'the one scan answered both'\n"
        "# a value nobody prescanned gets a scan of its own\n"
        "other = 'xoxb-' + '123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx'\n"
        "assert secrets.secret_reason('C', other) == 'Slack token'\n"
        "print(sorted(m for m in sys.modules if m.startswith(('detect_secrets', 'requests'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (result.returncode, result.stdout, result.stderr) == (0, "[]\n", "")


def test_when_the_scanning_child_fails_the_scan_happens_here():
    code = (
        "import sys\n"
        "from tuirunner import secrets, secretscan, tokenformats\n"
        f"token = {GITHUB[:4]!r} + {GITHUB[4:]!r}\n"
        "secretscan.sys = type(sys)('fake')  # the child cannot start: no such interpreter\n"
        "secretscan.sys.executable = '/nonexistent/python'\n"
        "tokenformats.scan_elsewhere()\n"
        "assert secrets.secret_reason('A', token) == 'GitHub token'\n"
        "print('detect_secrets' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (result.returncode, result.stdout) == (0, "True\n"), result.stderr


def test_without_waiting_a_value_being_checked_is_masked_until_the_answer_is_in(tmp_path):
    # The keeper's way with the terminal UI (Session.masked): a value detect-secrets is still
    # checking in its child process counts as secret meanwhile, and nothing of that is cached.
    # The child here waits for a file, so the check is under way for as long as the test wants.
    go = tmp_path / "go"
    slow = tmp_path / "slow-python"
    slow.write_text(
        f'#!/bin/sh\nwhile [ ! -e {go} ]; do sleep 0.02; done\nexec {sys.executable} "$@"\n'
    )
    slow.chmod(0o755)
    code = (
        "import sys, threading\n"
        "from pathlib import Path\n"
        "from tuirunner import secrets, secretscan, tokenformats\n"
        f"token = {GITHUB[:4]!r} + {GITHUB[4:]!r}\n"
        "path = '/var/folders/xz/6h2k5b9d3s1f_8g7j4k2l0m0000gn/T/'  # needs detect-secrets' look\n"
        "secretscan.sys = type(sys)('slow')\n"
        f"secretscan.sys.executable = {str(slow)!r}\n"
        "tokenformats.scan_elsewhere()\n"
        "assert not tokenformats.checking() and not tokenformats.when_checked(print)\n"
        "with tokenformats.without_waiting():\n"
        "    assert secrets.secret_reason('A', token) == tokenformats.CHECKING\n"
        "    assert secrets.mask_value('B', path) == secrets.MASK\n"
        "    assert secrets.mask_value('C', 'plain') == 'plain'  # nothing to check\n"
        "    assert secrets.secret_reason('API_KEY', 'plain') == 'name'  # secret by its name\n"
        "assert tokenformats.checking()\n"
        "answered = threading.Event()\n"
        "assert tokenformats.when_checked(answered.set)\n"
        f"Path({str(go)!r}).touch()\n"
        "assert answered.wait(60)\n"
        "assert not tokenformats.checking()\n"
        "with tokenformats.without_waiting():\n"
        "    assert secrets.secret_reason('A', token) == 'GitHub token'\n"
        "    assert secrets.mask_value('B', path) == path\n"
        "print(secrets.describe_reason(tokenformats.CHECKING))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "still being checked for token formats\n"
