"""Each export format checked by its own tools (systemd-analyze, supervisor's config code, the
Compose specification's schema, the Kubernetes schemas) and for what the settings map to."""

from __future__ import annotations

import base64
import getpass
import os
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from supervisor.datatypes import RestartUnconditionally, RestartWhenExitUnexpected
from supervisor.options import ServerOptions

from tests.integration.test_export import MESSAGE, SECRET_VALUES, export, files_of, sample_project
from tests.unit.test_export_quoting import c_unescape

BIN = Path(sys.executable).parent


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    return sample_project(tmp_path, monkeypatch)


def unit(text: str) -> dict[str, dict[str, list[str]]]:
    """A systemd unit file as {section: {key: [values]}} (keys repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key, []).append(value)
    return sections


# --- systemd -------------------------------------------------------------------------------------


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_accepts_the_units(project, tmp_path):
    out = tmp_path / "units"
    # an existing user and an absolute shell, so that verify checks what we wrote, not the host
    assert export(project, "systemd", out, "-u", getpass.getuser()) == 0
    names = sorted(p.name for p in out.iterdir() if p.suffix in (".service", ".target"))
    assert names == [
        "myapp-release-1.service",
        "myapp-web-1.service",
        "myapp-worker-1.service",
        "myapp-worker-2.service",
        "myapp.target",
    ]
    result = subprocess.run(
        ["systemd-analyze", "verify", *(str(out / n) for n in names)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # systemd-analyze reports ignored settings on stderr only


def test_systemd_units_map_the_settings(project, tmp_path):
    out = tmp_path / "units"
    assert export(project, "systemd", out, "-u", "deploy") == 0
    files = files_of(out)
    target = unit(files["myapp.target"])
    assert target["Unit"]["Wants"] == [
        "myapp-release-1.service myapp-web-1.service myapp-worker-1.service myapp-worker-2.service"
    ]
    release = unit(files["myapp-release-1.service"])["Service"]
    assert release["Type"] == ["oneshot"] and release["RemainAfterExit"] == ["yes"]
    assert release["Restart"] == ["on-failure"]

    web = unit(files["myapp-web-1.service"])
    assert web["Unit"]["After"] == web["Unit"]["Requires"] == ["myapp-release-1.service"]
    assert web["Unit"]["PartOf"] == ["myapp.target"]
    svc = web["Service"]
    assert svc["User"] == ["deploy"] and svc["WorkingDirectory"] == [str(project)]
    assert svc["KillSignal"] == ["SIGINT"] and svc["TimeoutStopSec"] == ["3s"]
    assert svc["KillMode"] == ["control-group"] and svc["Restart"] == ["no"]
    assert svc["ExecStart"] == ['/bin/sh -c "python manage.py runserver 0.0.0.0:$$PORT"']
    assert svc["TimeoutStartSec"] == ["120s"]  # the ready check's timeout
    [post] = svc["ExecStartPost"]
    assert post.startswith('/bin/sh -c "until python3 -c ') and "$${PORT}/health?x=1" in post

    env = {}
    for arg in svc["Environment"]:
        name, _, value = c_unescape(arg[1:-1]).partition("=")
        env[name] = value
    assert env["PORT"] == "5100" and env["PS"] == "web.1"
    assert env["MESSAGE"] == MESSAGE and env["ALLOWED_HOSTS"] == "localhost,127.0.0.1"
    assert "SECRET_KEY" not in env and "DATABASE_URL" not in env  # in the env file instead
    assert svc["EnvironmentFile"] == [str(out / "myapp-web.env")]

    worker = unit(files["myapp-worker-2.service"])
    assert worker["Unit"]["After"] == ["myapp-web-1.service", "myapp-release-1.service"]
    assert worker["Unit"]["StartLimitIntervalSec"] == ["0"]
    assert worker["Service"]["Restart"] == ["always"]
    assert 'Environment="PS=worker.2"' in files["myapp-worker-2.service"]

    secrets = subprocess.run(
        [
            "/bin/sh",
            "-c",
            '. "$1"; printf "%s|%s|%s" "$SECRET_KEY" "$DATABASE_URL" "$WORKER_TOKEN"',
            "sh",
            str(out / "myapp-worker.env"),
        ],
        capture_output=True,
        text=True,
    ).stdout
    assert secrets == "django-insecure-s3cr3t|postgres://app:hunter2@db:5432/app|tok-per-process"


# --- supervisord (read by supervisor's code; test_export_supervisord.py runs it) ------------------


def test_supervisord_programs_map_the_settings(project, tmp_path):
    out = tmp_path / "conf"
    user = getpass.getuser()  # supervisor looks the user up
    assert export(project, "supervisord", out, "-u", user, "-l", str(tmp_path)) == 0
    main_conf = tmp_path / "supervisord.conf"
    main_conf.write_text(
        f"[supervisord]\nlogfile={tmp_path}/supervisord.log\n[include]\nfiles={out}/*.conf\n"
    )
    options = ServerOptions()
    options.realize(args=["-c", str(main_conf)])
    [group] = options.process_group_configs
    assert group.name == "myapp"
    programs = {p.name: p for p in group.process_configs}
    assert sorted(programs) == [
        "myapp-release-1",
        "myapp-web-1",
        "myapp-worker-1",
        "myapp-worker-2",
    ]
    release, web, worker = (
        programs["myapp-release-1"],
        programs["myapp-web-1"],
        programs["myapp-worker-2"],
    )
    assert release.priority < web.priority < worker.priority  # depends_on: start order
    assert release.autorestart is RestartWhenExitUnexpected and release.startsecs == 0
    assert web.autorestart is False and worker.autorestart is RestartUnconditionally
    assert release.exitcodes == [0]
    assert web.stopsignal == signal.SIGINT and web.stopwaitsecs == 3
    assert worker.stopsignal == signal.SIGTERM and worker.stopwaitsecs == 10
    assert web.stopasgroup and web.killasgroup and web.redirect_stderr
    assert web.directory == str(project) and web.uid == os.getuid()
    assert web.stdout_logfile == str(tmp_path / "web-1.log")
    assert shlex.split(web.command)[-3:] == [
        "/bin/sh",
        "-c",
        "python manage.py runserver 0.0.0.0:$PORT",
    ]
    assert web.environment["PORT"] == "5100" and worker.environment["PS"] == "worker.2"
    assert worker.environment["DJANGO_SETTINGS_MODULE"] == "mysite.settings.worker"
    assert worker.environment["ALLOWED_HOSTS"] == "localhost,127.0.0.1"
    # MESSAGE has both kinds of quotes: environment= cannot hold it, the command line does
    assert "MESSAGE" not in worker.environment
    argv = shlex.split(worker.command)
    assert argv[0] == "/usr/bin/env" and f"MESSAGE={MESSAGE}" in argv


# --- compose -------------------------------------------------------------------------------------


def check_jsonschema(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
    )


def test_compose_file_validates_against_the_compose_specification(project, tmp_path):
    assert export(project, "compose", tmp_path / "c") == 0
    result = check_jsonschema(tmp_path / "c" / "compose.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout


def test_compose_schema_check_can_fail(tmp_path):
    # the validator is not a rubber stamp: a misspelt key fails
    bad = tmp_path / "compose.yaml"
    bad.write_text("services:\n  web:\n    image: x\n    restrat: always\n")
    assert check_jsonschema(bad).returncode != 0


def test_compose_services_map_the_settings(project, tmp_path):
    out = tmp_path / "deploy"
    assert export(project, "compose", out, "--image", "myapp:1", "-u", "1000") == 0
    text = (out / "compose.yaml").read_text()
    doc = yaml.safe_load(text)
    assert doc["name"] == "myapp"
    release, web, worker = (doc["services"][n] for n in ("release", "web", "worker"))
    assert web["image"] == "myapp:1" and web["user"] == "1000"
    # Compose interpolates $NAME itself: the shell in the container must get $PORT
    assert web["command"] == ["/bin/sh", "-c", "python manage.py runserver 0.0.0.0:$$PORT"]
    assert web["init"] is True
    assert web["env_file"] == ["../myapp/.env"]
    assert (out / web["env_file"][0]).resolve() == (project / ".env").resolve()
    assert web["environment"] == {"PORT": "5100"}
    assert worker["environment"] == {
        "PORT": "5200",
        "DJANGO_SETTINGS_MODULE": "mysite.settings.worker",
        "WORKER_TOKEN": None,  # secret: taken from the environment of docker compose
    }
    assert worker["deploy"] == {"replicas": 2}
    assert web["depends_on"] == {"release": {"condition": "service_completed_successfully"}}
    assert worker["depends_on"] == {
        "web": {"condition": "service_healthy"},
        "release": {"condition": "service_completed_successfully", "restart": True},
    }
    check = web["healthcheck"]
    assert check["test"][0] == "CMD-SHELL" and "$${PORT}/health?x=1" in check["test"][1]
    assert check["start_period"] == "120s" and check["start_interval"] == "500ms"
    assert "healthcheck" not in worker
    assert (release["restart"], web["restart"], worker["restart"]) == ("on-failure", "no", "always")
    assert web["stop_signal"] == "SIGINT" and web["stop_grace_period"] == "3s"
    assert worker["stop_grace_period"] == "10s"
    assert "ports" not in release and "ports" not in worker
    for secret in [*SECRET_VALUES, "ALLOWED_HOSTS"]:
        assert secret not in text


def test_compose_environment_from_settings_keeps_hard_values(tmp_path, monkeypatch):
    monkeypatch.delenv("PORT", raising=False)
    value = '100% "sure", it\'s $HOME,\nünïcode ✓'
    toml_value = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    settings = f'[processes.web]\nenv = {{ GREETING = "{toml_value}" }}\n'
    (tmp_path / "Procfile").write_text("web: echo $GREETING\n")
    (tmp_path / "tuirunner.toml").write_text(settings)
    assert export(tmp_path, "compose", tmp_path / "c", "-a", "app") == 0
    assert check_jsonschema(tmp_path / "c" / "compose.yaml").returncode == 0
    services = yaml.safe_load((tmp_path / "c" / "compose.yaml").read_text())["services"]
    # what Compose does with it: $$ is a literal $
    assert services["web"]["environment"]["GREETING"].replace("$$", "$") == value


# --- kubernetes ----------------------------------------------------------------------------------


def kubernetes_validate(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "kubernetes-validate"), "--strict", *(str(p) for p in paths)],
        capture_output=True,
        text=True,
    )


def test_kubernetes_manifests_validate_against_the_schemas(project, tmp_path):
    out = tmp_path / "k8s"
    assert export(project, "kubernetes", out, "-u", "1000") == 0
    paths = sorted(out.iterdir())
    assert [p.name for p in paths] == [
        "myapp-env-configmap.yaml",
        "myapp-release-job.yaml",
        "myapp-secrets-secret.yaml",
        "myapp-web-deployment.yaml",
        "myapp-web-service.yaml",
        "myapp-worker-deployment.yaml",
    ]
    result = kubernetes_validate(*paths)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(" passed for resource ") == len(paths), result.stdout


def test_kubernetes_validation_can_fail(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  replicas: two\n"
    )
    assert kubernetes_validate(bad).returncode != 0


def test_kubernetes_objects_map_the_settings(project, tmp_path):
    out = tmp_path / "k8s"
    assert export(project, "kubernetes", out) == 0
    docs = {p.name: yaml.safe_load(p.read_text()) for p in out.iterdir()}
    labels = {"app.kubernetes.io/name": "myapp", "app.kubernetes.io/component": "web"}

    config = docs["myapp-env-configmap.yaml"]["data"]
    assert config == {
        "ALLOWED_HOSTS": "localhost,127.0.0.1",
        "DEBUG": "1",
        "MESSAGE": MESSAGE,
    }
    secret = docs["myapp-secrets-secret.yaml"]
    assert secret["type"] == "Opaque"
    decoded = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert decoded == {
        "DATABASE_URL": "postgres://app:hunter2@db:5432/app",
        "SECRET_KEY": "django-insecure-s3cr3t",
        "worker.WORKER_TOKEN": "tok-per-process",
    }

    job = docs["myapp-release-job.yaml"]
    assert job["kind"] == "Job"
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "OnFailure"

    web = docs["myapp-web-deployment.yaml"]
    assert web["spec"]["replicas"] == 1 and web["spec"]["selector"]["matchLabels"] == labels
    assert web["metadata"] == {"name": "myapp-web", "labels": labels}
    pod = web["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == 3
    [container] = pod["containers"]
    assert container["image"] == "registry.example.com/myapp:1.0"
    assert container["args"] == ["/bin/sh", "-c", "python manage.py runserver 0.0.0.0:$$PORT"]
    assert container["envFrom"] == [{"configMapRef": {"name": "myapp-env"}}]
    env = {e["name"]: e for e in container["env"]}
    assert env["PORT"] == {"name": "PORT", "value": "5100"}
    assert env["SECRET_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "myapp-secrets",
        "key": "SECRET_KEY",
    }
    assert "WORKER_TOKEN" not in env  # the worker's own
    assert container["ports"] == [{"containerPort": 5100}]
    assert container["readinessProbe"]["httpGet"] == {
        "path": "/health?x=1",
        "port": 5100,
        "scheme": "HTTP",
        # not the pod's IP, which Django's ALLOWED_HOSTS rejects (the check says 127.0.0.1)
        "httpHeaders": [{"name": "Host", "value": "localhost"}],
    }
    assert container["lifecycle"] == {"stopSignal": "SIGINT"} and pod["os"] == {"name": "linux"}

    service = docs["myapp-web-service.yaml"]["spec"]
    assert service["selector"] == labels and service["ports"] == [
        {"port": 5100, "targetPort": 5100}
    ]

    worker = docs["myapp-worker-deployment.yaml"]
    assert worker["spec"]["replicas"] == 2
    wenv = {e["name"]: e for e in worker["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert wenv["WORKER_TOKEN"]["valueFrom"]["secretKeyRef"]["key"] == "worker.WORKER_TOKEN"
    assert wenv["DJANGO_SETTINGS_MODULE"]["value"] == "mysite.settings.worker"
    assert (
        "depends on web (ready), release (completed)"
        in (out / "myapp-worker-deployment.yaml").read_text()
    )


def test_kubernetes_probes_for_port_and_command_checks(tmp_path, monkeypatch):
    monkeypatch.delenv("PORT", raising=False)
    (tmp_path / "Procfile").write_text("db: postgres -p $PORT\ncache: redis-server\n")
    (tmp_path / "tuirunner.toml").write_text(
        '[processes.db]\nready = { port = "$PORT" }\n'
        '[processes.cache]\nready = { command = "redis-cli ping", interval = 2.5 }\n'
    )
    out = tmp_path / "k8s"
    assert export(tmp_path, "kubernetes", out, "-a", "app") == 0
    assert kubernetes_validate(*sorted(out.iterdir())).returncode == 0
    db = yaml.safe_load((out / "app-db-deployment.yaml").read_text())
    cache = yaml.safe_load((out / "app-cache-deployment.yaml").read_text())
    db_probe = db["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    cache_probe = cache["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    assert db_probe["tcpSocket"] == {"port": 5000}
    assert cache_probe["exec"] == {"command": ["/bin/sh", "-c", "redis-cli ping"]}
    assert cache_probe["periodSeconds"] == 3
    assert (out / "app-db-service.yaml").exists()  # ready on $PORT: it listens
    assert not (out / "app-cache-service.yaml").exists()
