"""Kubernetes: one manifest per object, to ``kubectl apply -f LOCATION/``.

- ``APP-env`` ConfigMap: the env files' non-secret variables (``envFrom`` in every container);
- ``APP-secrets`` Secret: the secret ones, base64-encoded (``secretKeyRef`` per variable, so
  each container gets only its own); nothing else holds a secret value;
- a Deployment per long-running type (``replicas`` from the formation), a Job per oneshot;
- a Service per type that listens on ``PORT``. Every replica listens on the same ``PORT``, the
  type's first port, as in Compose.

``health`` becomes a ``livenessProbe`` (``failures`` its ``failureThreshold``), ``stop_command``
a ``lifecycle.preStop`` hook (run before the stop signal, as in tuirunner); an ``http`` probe
sends the check's Host header (``localhost`` for a loopback URL) and headers.

Kubernetes has no ``depends_on``: each process must wait for what it needs itself (readiness
probes and restarts cover most cases); the manifests say so in a comment.
"""

from __future__ import annotations

import base64
import re
import textwrap
from typing import Any
from urllib.parse import urlsplit

from tuirunner.errors import UserError
from tuirunner.settings import AutoRestart, ReadyCheck, ReadyKind

from .model import (
    PROBE_TIMEOUT,
    Export,
    OutputFile,
    Process,
    port_variables,
    ready_command,
    seconds,
)
from .quoting import Flow, to_yaml

MAX_NAME = 63
_LABEL_VALUE = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_LOOPBACK = ("127.0.0.1", "localhost", "::1", "0.0.0.0")


def k8s_name(*parts: str) -> str:
    """A DNS-1035 label (what a Service name must be; Deployments, Jobs, ConfigMaps and
    containers accept it too): lowercase letters, digits and '-', starting with a letter."""
    name = re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")
    name = re.sub(r"-{2,}", "-", name)
    if not name or not name[0].isalpha():
        raise UserError(
            f"kubernetes: {'-'.join(parts)!r} is not a valid name (it must start with a letter); "
            "choose another app name with -a"
        )
    if len(name) > MAX_NAME:
        raise UserError(
            f"kubernetes: {name!r} is longer than {MAX_NAME} characters; choose a shorter app "
            "name with -a"
        )
    return name


def render(export: Export) -> list[OutputFile]:
    if not export.image:
        raise UserError(
            "kubernetes: --image IMAGE is required (the image that has your app, e.g. "
            "registry.example.com/myapp:1.0)"
        )
    run_as = _run_as_user(export.user)
    app = k8s_name(export.app)
    names = {p.name: k8s_name(export.app, p.name) for p in export.processes}
    if len(set(names.values())) < len(names):
        raise UserError(
            "kubernetes: process names that differ only in case, '_' or '-' get the same "
            f"Kubernetes name: {', '.join(sorted(names))}"
        )
    config = {v.name: v.value for v in export.variables if not v.secret}
    secrets = {v.name: v.value for v in export.variables if v.secret}
    for process in export.processes:
        for var in process.env:
            if var.secret:
                secrets[f"{process.name}.{var.name}"] = var.value
    config_name, secret_name = f"{app}-env", f"{app}-secrets"
    files: list[OutputFile] = []
    if config:
        files.append(
            _file(
                export,
                f"{config_name}-configmap.yaml",
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": _metadata(config_name, app),
                    "data": dict(sorted(config.items())),
                },
            )
        )
    if secrets:
        encoded = {
            k: base64.b64encode(v.encode("utf-8")).decode("ascii")
            for k, v in sorted(secrets.items())
        }
        files.append(
            _file(
                export,
                f"{secret_name}-secret.yaml",
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": _metadata(secret_name, app),
                    "type": "Opaque",
                    "data": encoded,
                },
                secrets=sorted(secrets),
            )
        )
    for process in export.processes:
        name = names[process.name]
        labels = _labels(app, process.name, name)
        notes: list[str] = []
        container = _container(
            export, process, name, config_name if config else None, secret_name, notes
        )
        pod: dict[str, Any] = {}
        if process.stop_signal != "SIGTERM":
            pod["os"] = {"name": "linux"}  # lifecycle.stopSignal requires it
        if run_as is not None:
            pod["securityContext"] = {"runAsUser": run_as}
        pod["terminationGracePeriodSeconds"] = seconds(process.timeout)
        if process.dependencies:
            deps = ", ".join(f"{d.name} ({d.condition.value})" for d in process.dependencies)
            notes.append(
                f"{process.name} depends on {deps}: Kubernetes starts everything at once; "
                "the process must wait (or fail and be restarted) until they are there"
            )
        if process.oneshot:
            kind = "job"
            retry = process.autorestart is AutoRestart.ON_FAILURE
            pod["restartPolicy"] = "OnFailure" if retry else "Never"
            pod["containers"] = [container]
            spec: dict[str, Any] = {}
            if process.count > 1:
                spec.update(completions=process.count, parallelism=process.count)
            spec["backoffLimit"] = 6 if retry else 0
            if process.on_demand:
                spec["suspend"] = True
                notes.append(
                    f"autostart = false: suspended (kubectl patch job {name} "
                    """-p '{"spec":{"suspend":false}}')"""
                )
            spec["template"] = {"metadata": {"labels": labels}, "spec": pod}
            manifest = {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"name": name, "labels": labels},
                "spec": spec,
            }
            notes.append(
                "A Job cannot be changed once created: delete it before applying a new version "
                f"(kubectl delete job {name})"
            )
        else:
            kind = "deployment"
            pod["containers"] = [container]
            manifest = {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "labels": labels},
                "spec": {
                    "replicas": 0 if process.on_demand else process.count,
                    "selector": {"matchLabels": labels},
                    "template": {"metadata": {"labels": labels}, "spec": pod},
                },
            }
            if process.on_demand:
                notes.append(
                    "autostart = false: 0 replicas "
                    f"(kubectl scale deployment {name} --replicas={process.count})"
                )
            if process.autorestart is not AutoRestart.ALWAYS:
                notes.append(
                    f'autorestart = "{process.autorestart.value}": a Deployment always '
                    "restarts its containers"
                )
        files.append(_file(export, f"{name}-{kind}.yaml", manifest, notes=notes))
        if process.listens and not process.oneshot:
            service = {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "labels": labels},
                "spec": {
                    "selector": labels,
                    "ports": [{"port": process.port, "targetPort": process.port}],
                },
            }
            files.append(_file(export, f"{name}-service.yaml", service))
    return files


def _file(
    export: Export,
    name: str,
    manifest: dict[str, Any],
    secrets: list[str] | None = None,
    notes: list[str] | None = None,
) -> OutputFile:
    comments = export.header(secrets or ())
    for note in notes or ():
        comments += textwrap.wrap(f"Note: {note}", 96, subsequent_indent="  ")
    return OutputFile(name, to_yaml(manifest, comments), secret=bool(secrets))


def _labels(app: str, process: str, name: str) -> dict[str, str]:
    """The labels of a process's objects, and the selector of its pods: the app and the process
    type (its Kubernetes name where the type is not a valid label value)."""
    component = process if _LABEL_VALUE.fullmatch(process) else name
    return {"app.kubernetes.io/name": app, "app.kubernetes.io/component": component}


def _metadata(name: str, app: str) -> dict[str, Any]:
    return {"name": name, "labels": {"app.kubernetes.io/name": app}}


def _run_as_user(user: str | None) -> int | None:
    if user is None:
        return None
    if not user.isdigit():
        raise UserError(f"kubernetes: -u needs a numeric user id (runAsUser), got {user!r}")
    return int(user)


def _dollars(text: str) -> str:
    """Kubernetes expands ``$(NAME)`` in command, args and env values; ``$$`` is a ``$``."""
    return text.replace("$", "$$")


def _container(
    export: Export,
    process: Process,
    name: str,
    config_name: str | None,
    secret_name: str,
    notes: list[str],
) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": name,
        "image": export.image,
        # args, not command: the image's ENTRYPOINT (if any) runs it, as in Compose
        "args": Flow([_dollars(w) for w in (export.shell, "-c", process.command)]),
    }
    if config_name is not None:
        container["envFrom"] = [{"configMapRef": {"name": config_name}}]
    env: list[dict[str, Any]] = [{"name": "PORT", "value": str(process.port)}]
    env += [{"name": v.name, "value": v.value} for v in port_variables(export.processes).values()]
    for var in export.variables:
        if var.secret and var.name not in {v.name for v in process.env}:
            env.append(_secret_ref(var.name, secret_name, var.name))
    for var in process.env:
        if var.secret:
            env.append(_secret_ref(var.name, secret_name, f"{process.name}.{var.name}"))
        else:
            env.append({"name": var.name, "value": _dollars(var.value)})
    container["env"] = sorted(env, key=lambda e: e["name"])
    if process.listens and not process.oneshot:
        container["ports"] = [{"containerPort": process.port}]
    ps = process.settings
    ready = ps.ready
    if ready is not None and not process.oneshot:
        probe = _probe(export, process, ready)
        if probe is None:
            notes.append(f"ready ({ready.kind.value}) has no equivalent in Kubernetes")
            export.warn(f"{process.name}: a log ready check has no equivalent in Kubernetes")
        else:
            probe["periodSeconds"] = max(1, seconds(ready.interval))
            probe["timeoutSeconds"] = PROBE_TIMEOUT
            container["readinessProbe"] = probe
    if ps.health is not None and not process.oneshot:
        probe = _probe(export, process, ps.health.probe)
        assert probe is not None  # http, port or command
        probe["periodSeconds"] = max(1, seconds(ps.health.interval))
        probe["timeoutSeconds"] = max(1, seconds(ps.health.timeout))
        probe["failureThreshold"] = ps.health.failures
        container["livenessProbe"] = probe
        startup = container.get("readinessProbe")
        if startup is not None:  # failures count once it is ready, as in tuirunner
            period = startup["periodSeconds"]
            startup = {**startup, "failureThreshold": max(1, seconds(ready.timeout / period))}
            container["startupProbe"] = startup
    lifecycle: dict[str, Any] = {}
    if ps.stop_command is not None:
        # Kubernetes runs it in the container, then sends the stop signal, as tuirunner does.
        words = (export.shell, "-c", ps.stop_command)
        lifecycle["preStop"] = {"exec": {"command": Flow([_dollars(w) for w in words])}}
        notes.append(
            "stop_command runs in the container (lifecycle.preStop), within "
            "terminationGracePeriodSeconds"
        )
    if process.stop_signal != "SIGTERM":
        lifecycle["stopSignal"] = process.stop_signal
        notes.append(
            f"stop_signal {process.stop_signal}: lifecycle.stopSignal needs Kubernetes 1.33 or "
            "later with the ContainerStopSignals feature; otherwise the container gets the "
            f"image's STOPSIGNAL (put STOPSIGNAL {process.stop_signal} in the Dockerfile)"
        )
    if lifecycle:
        container["lifecycle"] = lifecycle
    return container


def _secret_ref(name: str, secret_name: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret_name, "key": key}}}


def _probe(export: Export, process: Process, ready: ReadyCheck) -> dict[str, Any] | None:
    """A probe's action for the check *ready* (a ready or a health check); None for a log
    check."""
    probe: dict[str, Any] = {}
    env = {v.name: v.value for v in export.variables if not v.secret}
    env.update({v.name: v.value for v in process.env if not v.secret})
    env["PORT"] = str(process.port)
    action = None
    try:
        if ready.kind is ReadyKind.HTTP:
            url = urlsplit(ready.url(env))
            if url.hostname in _LOOPBACK:
                path = url.path or "/"
                headers = [("Host", ready.host_header_for(ready.url(env))), *ready.headers]
                action = {
                    "httpGet": {
                        "path": path + (f"?{url.query}" if url.query else ""),
                        "port": url.port or (443 if url.scheme == "https" else 80),
                        "scheme": url.scheme.upper(),
                        # Without it the kubelet sends the pod's IP as Host, which Django's
                        # ALLOWED_HOSTS rejects (400): the check's own (Host: localhost:PORT
                        # for a loopback address, as tuirunner sends it).
                        "httpHeaders": [{"name": k, "value": v} for k, v in headers],
                    }
                }
        elif ready.kind is ReadyKind.PORT:
            host, port = ready.address(env)
            if host in _LOOPBACK:
                action = {"tcpSocket": {"port": port}}
        elif ready.kind is ReadyKind.LOG:
            return None
    except ValueError:  # a variable that is secret or not set: let the shell expand it
        action = None
    if action is None:  # a command, or a check of another host: run it in the container
        command = ready_command(ready)
        assert command is not None
        action = {"exec": {"command": Flow([export.shell, "-c", command])}}
    probe.update(action)
    return probe
