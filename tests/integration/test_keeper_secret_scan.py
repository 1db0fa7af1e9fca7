"""The keeper masks the token formats detect-secrets finds without importing detect-secrets: it
runs in a child process (tuirunner/secretscan.py), so the keeper does not carry requests,
urllib3, charset_normalizer… (~8.5 MB) for the whole run."""

from pathlib import Path

from tests.helpers import clean_env, run_cli, until, write_files
from tuirunner.client import Client, EnvironmentChecked
from tuirunner.secrets import MASK
from tuirunner.tokenformats import CHECKING

TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"  # GitHub's format, under a plain name
MAC_TMPDIR = "/var/folders/xz/6h2k5b9d3s1f_8g7j4k2l0m0000gn/T/"  # needs detect-secrets' look


def mapped_files(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def test_the_keeper_masks_what_a_child_scanned_and_keeps_detect_secrets_out(tmp_path):
    env_file = f"BUILD_REF={TOKEN}\nSCRATCH={MAC_TMPDIR}\nGREETING=hello\n"
    write_files(tmp_path, {"Procfile": "web: exec sleep 600\n", ".env": env_file})
    assert run_cli(["start", "-D"], tmp_path).returncode == 0
    try:
        client = Client.connect(tmp_path, env=True, output=False, tail=0)
        client.close()
        env = client.environment
        assert env.get("BUILD_REF") == MASK
        assert env.variables["BUILD_REF"].secret_reason == "GitHub token"
        assert env.get("SCRATCH") == MAC_TMPDIR
        assert env.variables["SCRATCH"].secret_reason is None
        assert env.get("GREETING") == "hello"
        # requests brings charset_normalizer, a compiled module: the keeper never loaded it.
        assert "charset_normalizer" not in mapped_files(client.keeper_pid)
    finally:
        run_cli(["down"], tmp_path)


async def test_a_terminal_ui_gets_the_environment_at_once_and_the_verdicts_once_checked(tmp_path):
    # The UI's snapshot does not wait for detect-secrets (~0.4 s from the keeper's start, on the
    # way to the first frame): what is being checked comes masked, then EnvironmentChecked.
    # Here the scanning child waits for a file (a sitecustomize only it acts on).
    hook = tmp_path / "hook"
    go = tmp_path / "go"
    write_files(
        hook,
        {
            "sitecustomize.py": "import os, sys, time\n"
            "if sys.orig_argv[-2:] == ['-m', 'tuirunner.secretscan']:\n"
            f"    while not os.path.exists({str(go)!r}):\n"
            "        time.sleep(0.02)\n"
        },
    )
    env_file = f"BUILD_REF={TOKEN}\nSCRATCH={MAC_TMPDIR}\nGREETING=hello\nAPI_KEY=plain\n"
    write_files(tmp_path, {"Procfile": "web: exec sleep 600\n", ".env": env_file})
    env = clean_env(PYTHONPATH=str(hook))
    assert run_cli(["start", "-D"], tmp_path, env=env).returncode == 0
    client = None
    try:
        client = Client.connect(tmp_path, env=True, early_env=True, output=False, tail=0)
        env = client.environment
        assert (env.get("BUILD_REF"), env.variables["BUILD_REF"].secret_reason) == (MASK, CHECKING)
        assert (env.get("SCRATCH"), env.variables["SCRATCH"].secret_reason) == (MASK, CHECKING)
        assert env.get("GREETING") == "hello"
        assert env.variables["API_KEY"].secret_reason == "name"
        checked: list[object] = []
        client.subscribe(lambda e: checked.append(e) if isinstance(e, EnvironmentChecked) else 0)
        await client.start()
        go.touch()
        await until(lambda: checked, 60, "EnvironmentChecked")
        env = client.environment
        assert (env.get("BUILD_REF"), env.variables["BUILD_REF"].secret_reason) == (
            MASK,
            "GitHub token",
        )
        assert (env.get("SCRATCH"), env.variables["SCRATCH"].secret_reason) == (MAC_TMPDIR, None)
        assert client.started_environment(client.get("web.1")).get("SCRATCH") == MAC_TMPDIR
    finally:
        go.touch()
        if client is not None:
            client.close()
        run_cli(["down"], tmp_path)
