"""End to end: a run's keeper leaves OpenSSL unloaded until an ``https`` ready check needs it
(tuirunner/lean_imports.py: ~4.5 MB a process), and that check then works in the keeper; bzip2's
and xz's libraries, which shutil imports, are not loaded either."""

import sys
from pathlib import Path

import pytest

from tests.helpers import (
    archivers_mapped,
    clean_env,
    free_port_block,
    openssl_mapped,
    run_cli,
    wait_for,
)
from tuirunner.launch import start_keeper
from tuirunner.options import RunOptions

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads the keeper's /proc/PID/maps"
)

CERT = Path(__file__).parents[1] / "unit" / "data" / "tls-localhost.pem"  # self-signed, a test's

# Answers GET with the status in argv[1], over TLS; a 400 says why, as Django does.
SERVER = """\
import http.server, os, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        status = int(sys.argv[1])
        body = b"Invalid HTTP_HOST header (DisallowedHost)" if status == 400 else b"ok"
        self.send_response(status); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
server = http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[2])
server.socket = context.wrap_socket(server.socket, server_side=True)
print("listening", flush=True)
server.serve_forever()
"""


def run(tmp_path: Path, procfile: str, settings: str = ""):
    (tmp_path / "Procfile").write_text(procfile)
    (tmp_path / "tuirunner.toml").write_text(settings)
    launched = start_keeper(
        RunOptions(app_root=str(tmp_path), timeout=2.0, port=free_port_block()),
        foreground=False,
        environ=clean_env(),
    )
    return launched, launched.wait_ready()


def test_the_keeper_has_no_openssl_without_an_https_check_nor_bzip2_or_xz(tmp_path):
    launched, keeper = run(
        tmp_path,
        "web: echo up; sleep 600\n",
        '[processes.web]\nready = { log = "^up" }\n',
    )
    try:
        waited = run_cli(["wait", "web", "--timeout", "60"], tmp_path)
        assert waited.returncode == 0, waited.stderr
        # It hashed the environment's secrets (hashlib, hmac) and runs asyncio: without OpenSSL.
        assert openssl_mapped(keeper) == []
        # It imported shutil (which imports bz2 and lzma), tempfile and python-dotenv: without them.
        assert archivers_mapped(keeper) == []
    finally:
        run_cli(["down"], tmp_path)
        launched.wait(20)


def test_an_https_ready_check_loads_tls_when_it_runs(tmp_path):
    (tmp_path / "server.py").write_text(SERVER)
    launched, keeper = run(
        tmp_path,
        f"good: exec {sys.executable} server.py 200 {CERT}\n"
        f"host: exec {sys.executable} server.py 400 {CERT}\n",
        '[processes.good]\nready = { http = "https://127.0.0.1:$PORT/", interval = 0.1 }\n'
        "[processes.host]\n"
        'ready = { http = "https://127.0.0.1:$PORT/x", interval = 0.1, timeout = 30 }\n',
    )
    try:
        waited = run_cli(["wait", "good", "--timeout", "60"], tmp_path)
        assert waited.returncode == 0, waited.stderr
        assert openssl_mapped(keeper) != []  # loaded when the first check ran

        # The other answers 400 with Django's DisallowedHost: the reason names ALLOWED_HOSTS.
        def reason() -> str:
            return run_cli(["ps", "--json"], tmp_path).stdout

        wait_for(lambda: "ALLOWED_HOSTS" in reason(), 60, interval=0.2)
        assert "HTTP 400 from https://127.0.0.1:" in reason()
    finally:
        run_cli(["down"], tmp_path)
        launched.wait(20)
