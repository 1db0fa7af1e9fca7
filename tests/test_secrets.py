import pytest

from tuirunner.secrets import MASK, is_masked, is_secret_name, mask_url_passwords, mask_value


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
    assert is_secret_name("HTTP_AUTHORIZATION") and is_secret_name("AUTHORIZATION")
    token = "https://ghp_abcDEF123456789xyz@github.com/org/repo.git"
    assert mask_url_passwords(token) == f"https://{MASK}@github.com/org/repo.git"
    assert mask_url_passwords("postgres://application@db/app") == "postgres://application@db/app"
