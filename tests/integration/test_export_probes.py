"""What export makes of ``port``, ``health``, ``stop_command`` and an http check's Host header,
checked by the same real tools as the other exports (systemd-analyze, supervisor's own config
code, the Compose specification's schema, the Kubernetes schemas), and the probe command run
for real against a server that wants ``Host: localhost``."""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import yaml
from supervisor.options import ServerOptions

from tests.helpers import write_files
from tests.integration.test_export import export, files_of
from tests.integration.test_export_formats import check_jsonschema, kubernetes_validate, unit

PROCFILE = (
    "db: docker run --rm --name app-postgres -p $PORT:5432 postgres:17\n"
    "web: python manage.py runserver 0.0.0.0:$PORT\n"
    "worker: python manage.py db_worker\n"
)
SETTINGS = """\
[tool.tuirunner.processes.db]
stop_command = "docker stop app-postgres"
health = { port = "$PORT", interval = 5, failures = 2 }

[tool.tuirunner.processes.web]
port = 8000
ready = { http = "http://127.0.0.1:$PORT/", timeout = 30, headers = { X-Probe = "1" } }
health = { http = "http://127.0.0.1:$PORT/health", interval = 15, timeout = 3, failures = 4 }
"""


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("PORT", raising=False)
    root = tmp_path / "myapp"
    write_files(root, {"Procfile": PROCFILE, "pyproject.toml": SETTINGS, ".env": "DEBUG=1\n"})
    return root


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_stop_command_is_execstop_and_verify_accepts_it(project, tmp_path):
    out = tmp_path / "units"
    assert export(project, "systemd", out, "-u", getpass.getuser()) == 0
    files = files_of(out)
    db = unit(files["myapp-db-1.service"])["Service"]
    assert db["ExecStop"] == ['/bin/sh -c "docker stop app-postgres"']
    assert "# health (port) has no equivalent in systemd" in files["myapp-db-1.service"]
    web = unit(files["myapp-web-1.service"])["Service"]
    env = dict(e.strip('"').split("=", 1) for e in web["Environment"])
    assert env["PORT"] == "8000" and env["TUIRUNNER_PORT_WEB"] == "8000"
    assert env["TUIRUNNER_PORT_DB"] == "5000" and env["TUIRUNNER_PORT_WORKER"] == "5200"
    names = sorted(n for n in files if n.endswith((".service", ".target")))
    result = subprocess.run(
        ["systemd-analyze", "verify", *(str(out / n) for n in names)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_supervisord_says_what_it_cannot_hold(project, tmp_path):
    out = tmp_path / "conf"
    assert export(project, "supervisord", out, "-u", getpass.getuser(), "-l", str(tmp_path)) == 0
    text = (out / "myapp.conf").read_text()
    assert "; stop_command has no equivalent in supervisord" in text
    assert "docker stop app-postgres" in text
    assert "; health (http) has no equivalent in supervisord" in text
    main_conf = tmp_path / "supervisord.conf"
    main_conf.write_text(
        f"[supervisord]\nlogfile={tmp_path}/supervisord.log\n[include]\nfiles={out}/*.conf\n"
    )
    options = ServerOptions()
    options.realize(args=["-c", str(main_conf)])
    programs = {p.name: p for p in options.process_group_configs[0].process_configs}
    web = programs["myapp-web-1"]
    assert web.environment["PORT"] == "8000"
    assert programs["myapp-worker-1"].environment["TUIRUNNER_PORT_WEB"] == "8000"


def test_compose_health_is_the_healthcheck_and_validates(project, tmp_path, capsys):
    out = tmp_path / "c"
    assert export(project, "compose", out) == 0
    err = capsys.readouterr().err
    assert "db: stop_command has no equivalent in compose" in err
    assert "does not restart it" in err
    result = check_jsonschema(out / "compose.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    services = yaml.safe_load((out / "compose.yaml").read_text())["services"]
    web = services["web"]
    assert web["ports"] == ["8000:8000"] and web["environment"]["TUIRUNNER_PORT_WEB"] == "8000"
    check = web["healthcheck"]
    assert (check["interval"], check["timeout"], check["retries"]) == ("15s", "3s", 4)
    assert check["start_period"] == "30s"  # the ready check's timeout
    assert "$${PORT}/health" in check["test"][1] and "Host: localhost:$${PORT}" in check["test"][1]
    assert services["db"]["healthcheck"]["retries"] == 2


def test_kubernetes_liveness_prestop_and_host_header_validate(project, tmp_path):
    out = tmp_path / "k8s"
    assert export(project, "kubernetes", out) == 0
    result = kubernetes_validate(*sorted(out.iterdir()))
    assert result.returncode == 0, result.stdout + result.stderr
    web = yaml.safe_load((out / "myapp-web-deployment.yaml").read_text())
    [container] = web["spec"]["template"]["spec"]["containers"]
    live = container["livenessProbe"]
    assert live["httpGet"] == {
        "path": "/health",
        "port": 8000,
        "scheme": "HTTP",
        "httpHeaders": [{"name": "Host", "value": "localhost:8000"}],
    }
    assert (live["periodSeconds"], live["timeoutSeconds"], live["failureThreshold"]) == (15, 3, 4)
    ready = container["readinessProbe"]["httpGet"]["httpHeaders"]
    assert ready == [{"name": "Host", "value": "localhost:8000"}, {"name": "X-Probe", "value": "1"}]
    assert container["startupProbe"]["failureThreshold"] == 6  # 30 s, every 5 s
    db = yaml.safe_load((out / "myapp-db-deployment.yaml").read_text())
    [container] = db["spec"]["template"]["spec"]["containers"]
    assert container["lifecycle"]["preStop"] == {
        "exec": {"command": ["/bin/sh", "-c", "docker stop app-postgres"]}
    }
    assert container["livenessProbe"]["tcpSocket"] == {"port": 5000}


def test_the_exported_http_probe_sends_the_host_header(project, tmp_path):
    """The probe command of systemd's ExecStartPost (and Compose's healthcheck), run by a real
    shell against a server that answers 400 unless the Host is localhost."""
    from tuirunner.export.model import ready_command
    from tuirunner.settings import load_settings

    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(dict(self.headers))
            self.send_response(200 if self.headers["Host"].startswith("localhost:") else 400)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        check = load_settings(project).process("web").ready
        command = ready_command(check).replace("python3", shutil.which("python3") or "python3")
        env = {**os.environ, "PORT": str(server.server_port)}
        assert subprocess.run(["/bin/sh", "-c", command], env=env).returncode == 0
        assert seen[0]["Host"] == f"localhost:{server.server_port}"
        assert seen[0]["X-Probe"] == "1"
    finally:
        server.shutdown()
