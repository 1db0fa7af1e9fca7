"""What ``tuirunner check`` says about the world outside the files: services named by the env's
URL variables that do not answer now, and ports the processes would get that something holds
already. Warnings, not errors: a database started later is fine."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping
from pathlib import Path

from tuirunner import portholders
from tuirunner.procfile import Instance
from tuirunner.services import Service, masked, url_variables

CONNECT_TIMEOUT = 1.5  # seconds for each service's connection attempt


async def _reachable(service: Service) -> str | None:
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(service.host, service.port), CONNECT_TIMEOUT
        )
    except TimeoutError:
        return "no answer (timed out)"
    except ConnectionRefusedError:
        return "connection refused"
    except OSError as exc:
        return (exc.strerror or str(exc)).lower()
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return None


async def _all(services: list[Service]) -> list[str | None]:
    return await asyncio.gather(*(_reachable(s) for s in services))


def service_warnings(env: Mapping[str, str]) -> list[str]:
    """One warning for each service a URL variable of *env* names that does not accept a
    connection now (or cannot be checked); the URL's secret parts masked."""
    found = url_variables(env)
    services = [(name, s) for name, s in found if isinstance(s, Service)]
    results = asyncio.run(_all([s for _, s in services])) if services else []
    warnings = []
    for (name, service), error in zip(services, results, strict=True):
        if error is not None:
            shown = masked(name, env[name])
            warnings.append(f"{service.describe()} is not reachable now: {error} ({name}={shown})")
    warnings += [why for _, why in found if isinstance(why, str)]
    return warnings


def port_warnings(instances: Iterable[Instance], app_root: Path | str) -> list[str]:
    """One warning for each process whose ``$PORT`` something listens on already."""
    warnings = []
    for instance in instances:
        if not portholders.uses_port(instance.command):
            continue
        for holder in portholders.holders(instance.port):
            text = f"{instance.name}: {holder.describe(instance.port, app_root)}"
            if holder.is_stray_of(app_root):
                text += " (tuirunner start --kill-stray stops it)"
            warnings.append(text)
    return warnings


def kill_strays(instances: Iterable[Instance], app_root: Path | str) -> list[str]:
    """Stop the strays of earlier runs in *app_root* holding the processes' ports; what was
    done, one line each. Nothing else is touched."""
    done = []
    for instance in instances:
        if not portholders.uses_port(instance.command):
            continue
        for holder in portholders.holders(instance.port):
            if holder.pid is None or not holder.is_stray_of(app_root):
                continue
            try:
                pids = portholders.stop_stray(holder.pid, app_root)
            except ValueError:
                continue
            done.append(
                f"stopped pid {', '.join(map(str, pids))} ({holder.command}), left behind "
                f"on port {instance.port} by an earlier run here"
            )
    return done
