"""The keeper masks the token formats detect-secrets finds without importing detect-secrets: it
runs in a child process (tuirunner/secretscan.py), so the keeper does not carry requests,
urllib3, charset_normalizer… (~8.5 MB) for the whole run."""

from pathlib import Path

from tests.helpers import run_cli, write_files
from tuirunner.client import Client
from tuirunner.secrets import MASK

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
