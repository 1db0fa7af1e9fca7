"""Exports you can deploy (issue 22): development settings are warned about with the way out,
a note says where the secrets went, the active virtualenv is first in PATH for the host formats
(a real supervisord finds a program only the virtualenv has; systemd-analyze accepts the units),
and a Kubernetes httpGet probe sends Host: localhost (kubernetes-validate accepts it)."""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import wait_for, write_files
from tests.integration.test_export_formats import kubernetes_validate
from tests.integration.test_export_supervisord import SUPERVISORD, ctl
from tuirunner.cli import main

DEV_ENV = "DEBUG=true\nDJANGO_ENV=local\nSECRET_KEY=django-insecure-s3cr3t\n"
PROD_ENV = "DEBUG=0\nDJANGO_ENV=production\nSECRET_KEY=django-insecure-s3cr3t\n"


def export(app: Path, fmt: str, out: Path, *args: str, env_file: str | None = None) -> int:
    extra = ["--image", "registry.example.com/app:1"] if fmt == "kubernetes" else []
    before = ["-e", env_file] if env_file else []
    return main(["-d", str(app), *before, "export", fmt, str(out), *extra, *args])


@pytest.mark.parametrize("fmt", ["supervisord", "systemd", "compose", "kubernetes"])
def test_development_settings_are_warned_about_with_the_way_out(tmp_path, capsys, fmt):
    app = tmp_path / "app"
    write_files(
        app,
        {
            "Procfile": "web: python manage.py runserver 0.0.0.0:$PORT\n",
            ".env": DEV_ENV,
            ".env.production": PROD_ENV,
        },
    )
    assert export(app, fmt, tmp_path / "out") == 0
    err = capsys.readouterr().err
    assert "warning: DEBUG=true (.env:1) turns debugging on" in err
    assert "warning: DJANGO_ENV=local (.env:2) is a development value" in err
    assert "web runs Django's development server (runserver)" in err
    assert f"-e .env.production export {fmt}" in err
    assert "note: secret values (SECRET_KEY) are in" in err
    assert "django-insecure-s3cr3t" not in err

    # From the production env file and a production server: no warning, the note stays.
    write_files(app, {"Procfile": "web: gunicorn mysite.wsgi --bind 0.0.0.0:$PORT\n"})
    assert export(app, fmt, tmp_path / "prod", env_file=".env.production") == 0
    err = capsys.readouterr().err
    for word in ("debugging", "development", "runserver", ".env.production"):
        assert word not in err, err
    assert "note: secret values (SECRET_KEY) are in" in err


def fake_virtualenv(root: Path) -> Path:
    """A virtualenv's bin with a program nothing else has (as gunicorn would be)."""
    bin_dir = root / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    tool = bin_dir / "only-in-venv"
    tool.write_text(f"#!{sys.executable}\nimport os, time\nprint(os.getpid())\ntime.sleep(600)\n")
    tool.chmod(0o755)
    return bin_dir.parent


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_units_have_the_virtualenv_first_in_path(tmp_path, capsys, monkeypatch):
    venv = fake_virtualenv(tmp_path)
    monkeypatch.setenv("VIRTUAL_ENV", str(venv))
    app = tmp_path / "app"
    write_files(app, {"Procfile": "web: only-in-venv\n"})
    out = tmp_path / "units"
    assert export(app, "systemd", out, "-u", getpass.getuser()) == 0
    unit = (out / "app-web-1.service").read_text()
    assert f'Environment="PATH={venv}/bin:/usr/local/sbin:' in unit
    err = capsys.readouterr().err
    assert f"note: PATH={venv}/bin:" in err and f"$VIRTUAL_ENV={venv}" in err
    result = subprocess.run(
        ["systemd-analyze", "verify", *map(str, sorted(out.glob("*.service")))],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_no_path_without_a_virtualenv_or_in_containers(tmp_path, capsys, monkeypatch):
    app = tmp_path / "app"
    write_files(app, {"Procfile": "web: gunicorn app.wsgi\n"})
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    assert export(app, "systemd", tmp_path / "a", "-u", getpass.getuser()) == 0
    assert "PATH=" not in (tmp_path / "a" / "app-web-1.service").read_text()
    monkeypatch.setenv("VIRTUAL_ENV", str(fake_virtualenv(tmp_path)))
    assert export(app, "compose", tmp_path / "b") == 0  # the image has its own
    assert "PATH" not in (tmp_path / "b" / "compose.yaml").read_text()
    assert "note: PATH" not in capsys.readouterr().err


@pytest.mark.skipif(SUPERVISORD is None, reason="supervisor is not installed")
def test_supervisord_finds_the_virtualenvs_program(tmp_path, monkeypatch):
    venv = fake_virtualenv(tmp_path)
    monkeypatch.setenv("VIRTUAL_ENV", str(venv))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # as supervisord's own, without the venv
    app, out, logs = tmp_path / "app", tmp_path / "conf", tmp_path / "logs"
    logs.mkdir()
    write_files(app, {"Procfile": "tool: only-in-venv\n"})
    args = ["-d", str(app), "export", "supervisord", str(out), "-a", "demo"]
    assert main([*args, "-u", getpass.getuser(), "-l", str(logs)]) == 0
    conf = tmp_path / "supervisord.conf"
    conf.write_text(
        f"[unix_http_server]\nfile={tmp_path}/s.sock\n"
        f"[supervisord]\nlogfile={tmp_path}/supervisord.log\npidfile={tmp_path}/s.pid\n"
        "[rpcinterface:supervisor]\n"
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n"
        f"[supervisorctl]\nserverurl=unix://{tmp_path}/s.sock\n"
        f"[include]\nfiles={out}/*.conf\n"
    )
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    daemon = subprocess.Popen(
        [SUPERVISORD, "-n", "-c", str(conf)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(
            lambda: "RUNNING" in ctl(conf, "status", "demo:demo-tool-1").stdout,
            30,
            message="the program RUNNING",
        )
        log = logs / "tool-1.log"
        wait_for(lambda: log.exists() and log.read_text().strip(), 20, message="its output")
        assert ctl(conf, "stop", "all").returncode == 0
    finally:
        ctl(conf, "shutdown")
        try:
            daemon.wait(30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(5)


def test_kubernetes_http_probes_send_host_localhost(tmp_path, monkeypatch):
    monkeypatch.delenv("PORT", raising=False)
    app = tmp_path / "app"
    write_files(
        app,
        {
            "Procfile": "web: gunicorn mysite.wsgi --bind 0.0.0.0:$PORT\n",
            "tuirunner.toml": '[processes.web]\nready = { http = "http://0.0.0.0:$PORT/" }\n',
        },
    )
    out = tmp_path / "k8s"
    assert export(app, "kubernetes", out) == 0
    assert kubernetes_validate(*sorted(out.iterdir())).returncode == 0
    doc = yaml.safe_load((out / "app-web-deployment.yaml").read_text())
    probe = doc["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]
    # The Host header tuirunner's own check sends (localhost:PORT for an IP), not the pod's IP.
    assert probe["httpHeaders"] == [{"name": "Host", "value": "localhost:5000"}]
