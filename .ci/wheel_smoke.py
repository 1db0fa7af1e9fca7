"""Build the release artifacts, check them, and run the README's install commands for real.

1. ``python -m build`` writes an sdist and a wheel of a fresh clone into dist/;
   ``twine check --strict`` accepts both.
2. The README's install commands (the blocks after ``<!-- command:install -->`` and
   ``<!-- command:install-wheel -->``), each alternative word for word (``pipx install …`` and
   ``uv tool install …``), in the fresh clone, with tool homes of their own: the installed
   ``tuirunner`` (not this checkout) runs ``--version``, ``check`` and a short plain run.

The tools (build, twine, pipx, uv) are installed from PyPI into a virtualenv of the script's
own; a tool that cannot be installed here is reported and skipped (uv has no wheel everywhere),
but pipx and the build must work.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(args, **kwargs) -> subprocess.CompletedProcess:
    print("+", " ".join(map(str, args)) if isinstance(args, list) else args, flush=True)
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def readme_alternatives(name: str) -> list[str]:
    """The README block *name*, split on its ``# or:`` comment into the commands it offers."""
    block = subprocess.check_output(
        [sys.executable, str(ROOT / ".ci" / "readme_command.py"), name], text=True
    ).strip()
    (line,) = block.splitlines()
    first, _, second = line.partition("# or:")
    return [c.strip() for c in (first, second) if c.strip()]


def tool_env(tools: Path, home: Path) -> dict[str, str]:
    """A user's environment with no virtualenv active and tool homes under *home*."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PORT")}
    bin_dir = home / "bin"
    env.update(
        HOME=str(home),
        PIPX_HOME=str(home / "pipx"),
        PIPX_BIN_DIR=str(bin_dir),
        UV_TOOL_DIR=str(home / "uv-tools"),
        UV_TOOL_BIN_DIR=str(bin_dir),
        UV_CACHE_DIR=str(home / "uv-cache"),
        XDG_RUNTIME_DIR=str(home / "run"),
        PATH=os.pathsep.join([str(bin_dir), str(tools / "bin"), env.get("PATH", "")]),
    )
    (home / "run").mkdir(mode=0o700, parents=True, exist_ok=True)
    return env


def exercise(tuirunner: Path, project: Path, env: dict[str, str], home: Path) -> None:
    """The installed command: --version, check, and a short plain run."""
    if not str(tuirunner.resolve()).startswith(str(home)):
        sys.exit(f"{tuirunner} is not the installed tool")
    version = run([str(tuirunner), "--version"], cwd=project, env=env, timeout=60).stdout
    if not re.fullmatch(r"tuirunner \d+\.\d+\.\d+\S*\n", version):
        sys.exit(f"unexpected --version output: {version!r}")
    check = run([str(tuirunner), "check"], cwd=project, env=env, timeout=60)
    if check.stderr != "Valid procfile detected (hello)\n":
        sys.exit(f"unexpected check output: {check.stderr!r}")
    result = run([str(tuirunner), "start"], cwd=project, env=env, timeout=120)
    if "hello.1 | hello from the wheel" not in result.stdout:
        sys.exit(f"the plain run did not print the child's line:\n{result.stdout}")
    print(f"  {version.strip()} from {tuirunner.resolve()}: OK", flush=True)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="tuirunner-wheel-") as tmp_name:
        tmp = Path(tmp_name)
        clone = tmp / "tuirunner"
        run(["git", "clone", "--quiet", str(ROOT), str(clone)], timeout=300)

        tools = tmp / "tools"
        venv.create(tools, with_pip=True)
        pip = [str(tools / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        run([*pip, "build", "twine", "pipx"], timeout=900)
        has_uv = subprocess.run([*pip, "uv"], capture_output=True, timeout=900).returncode == 0
        if not has_uv:
            print("uv cannot be installed here: the `uv tool install` commands are skipped")

        run([str(tools / "bin" / "python"), "-m", "build", str(clone)], timeout=900)
        dist = clone / "dist"
        artifacts = sorted(dist.iterdir())
        wheels = [p for p in artifacts if p.suffix == ".whl"]
        sdists = [p for p in artifacts if p.name.endswith(".tar.gz")]
        if len(wheels) != 1 or len(sdists) != 1:
            sys.exit(f"expected one wheel and one sdist in dist/, got {artifacts}")
        run([str(tools / "bin" / "twine"), "check", "--strict", *map(str, artifacts)])

        project = tmp / "project"
        project.mkdir()
        (project / "Procfile").write_text("hello: echo hello from the wheel\n")

        commands = readme_alternatives("install") + readme_alternatives("install-wheel")
        for number, command in enumerate(commands):
            if command.startswith("uv ") and not has_uv:
                continue
            home = tmp / f"home{number}"
            env = tool_env(tools, home)
            print(f"+ (in the clone) {command}", flush=True)
            run(["bash", "-euo", "pipefail", "-c", command], cwd=clone, env=env, timeout=900)
            tuirunner = shutil.which("tuirunner", path=str(home / "bin"))
            if tuirunner is None:
                sys.exit(f"{command!r} put no tuirunner in {home / 'bin'}")
            exercise(Path(tuirunner), project, env, home)
    print("build, twine check and README install commands: OK", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
