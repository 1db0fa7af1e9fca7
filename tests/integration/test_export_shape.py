"""Export of on-demand processes (``autostart = false``) and groups, checked by the formats' own
tools as the other export tests are (supervisor's config code, systemd-analyze, the Compose
specification's schema, the Kubernetes schemas)."""

from __future__ import annotations

import getpass
import shutil
import subprocess

import pytest
import yaml
from supervisor.options import ServerOptions

from tests.helpers import write_files
from tests.integration.test_export import export
from tests.integration.test_export_formats import check_jsonschema, kubernetes_validate, unit

PROCFILE = """\
web: python manage.py runserver 0.0.0.0:$PORT
vite: npx vite
tailwind: npx tailwindcss --watch
flower: celery flower
ngrok: ngrok http $PORT
"""
SETTINGS = """\
[tool.tuirunner.groups]
frontend = ["vite", "tailwind"]
tools = ["flower", "ngrok"]

[tool.tuirunner.processes.flower]
autostart = false

[tool.tuirunner.processes.ngrok]
autostart = false

[tool.tuirunner.processes.tailwind]
autostart = false
[tool.tuirunner.processes.vite]
depends_on = ["tailwind"]
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    for name in ("PORT", "PROCFILE"):
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "myapp"
    write_files(root, {"Procfile": PROCFILE, "pyproject.toml": SETTINGS})
    return root


def test_supervisord_on_demand_programs_and_groups(project, tmp_path):
    out = tmp_path / "conf"
    assert export(project, "supervisord", out, "-u", getpass.getuser(), "-l", str(tmp_path)) == 0
    conf = (out / "myapp.conf").read_text()
    assert "; group tools: supervisorctl start myapp:myapp-flower-1 myapp:myapp-ngrok-1" in conf
    main_conf = tmp_path / "supervisord.conf"
    main_conf.write_text(
        f"[supervisord]\nlogfile={tmp_path}/supervisord.log\n[include]\nfiles={out}/*.conf\n"
    )
    options = ServerOptions()
    options.realize(args=["-c", str(main_conf)])
    [group] = options.process_group_configs
    autostart = {p.name: p.autostart for p in group.process_configs}
    # tailwind has autostart = false, but vite (started) depends on it: it starts too.
    assert autostart == {
        "myapp-web-1": True,
        "myapp-vite-1": True,
        "myapp-tailwind-1": True,
        "myapp-flower-1": False,
        "myapp-ngrok-1": False,
    }


def test_systemd_on_demand_units_are_not_wanted_and_groups_are_targets(project, tmp_path):
    out = tmp_path / "units"
    assert export(project, "systemd", out, "-u", getpass.getuser()) == 0
    target = unit((out / "myapp.target").read_text())
    wanted = target["Unit"]["Wants"][0].split()
    assert "myapp-web-1.service" in wanted and "myapp-tailwind-1.service" in wanted
    assert "myapp-flower-1.service" not in wanted
    assert "Install" not in unit((out / "myapp-flower-1.service").read_text())
    tools = unit((out / "myapp-tools.target").read_text())
    assert tools["Unit"]["Wants"] == ["myapp-flower-1.service myapp-ngrok-1.service"]
    if shutil.which("systemd-analyze"):
        paths = [str(p) for p in sorted(out.iterdir()) if p.suffix in (".service", ".target")]
        result = subprocess.run(
            ["systemd-analyze", "verify", *paths], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""


def test_compose_on_demand_services_get_profiles(project, tmp_path):
    assert export(project, "compose", tmp_path / "c") == 0
    path = tmp_path / "c" / "compose.yaml"
    result = check_jsonschema(path)
    assert result.returncode == 0, result.stdout + result.stderr
    text = path.read_text()
    services = yaml.safe_load(text)["services"]
    assert services["flower"]["profiles"] == ["tools"]
    assert services["ngrok"]["profiles"] == ["tools"]
    assert "profiles" not in services["web"] and "profiles" not in services["tailwind"]
    assert "# group frontend: docker compose up vite tailwind" in text


def test_kubernetes_on_demand_deployments_have_no_replicas(project, tmp_path):
    out = tmp_path / "k8s"
    assert export(project, "kubernetes", out) == 0
    paths = sorted(out.iterdir())
    result = kubernetes_validate(*paths)
    assert result.returncode == 0, result.stdout + result.stderr
    flower = (out / "myapp-flower-deployment.yaml").read_text()
    assert yaml.safe_load(flower)["spec"]["replicas"] == 0
    assert "kubectl scale deployment myapp-flower --replicas=1" in flower
    web = yaml.safe_load((out / "myapp-web-deployment.yaml").read_text())
    assert web["spec"]["replicas"] == 1
