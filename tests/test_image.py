"""`make image` (scripts/build-image.sh): builds deploy/Dockerfile with the runtime that answers,
and says in one line when none does. No container runtime runs here, so the runtimes below are
stand-in executables on PATH that record how they are called; the script sees nothing else."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "build-image.sh"
VERSION = re.findall(r'^version = "([^"]+)"', (REPO / "pyproject.toml").read_text(), re.M)[0]


def _runtime(directory: Path, name: str, *, answers: bool) -> None:
    """An executable `name` whose `info` succeeds when `answers`; every call is logged."""
    tool = directory / name
    tool.write_text(f'#!/bin/sh\necho "{name} $PWD $*" >> "$CALLS"\n'
                    f'[ "$1" = info ] && exit {0 if answers else 1}\nexit 0\n')
    tool.chmod(0o755)


def _make_image(path: Path, calls: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["/bin/bash", str(SCRIPT)], capture_output=True, text=True,
                          env={"PATH": str(path), "CALLS": str(calls)}, cwd="/", timeout=30)


def test_no_runtime_is_one_line_and_a_failure(tmp_path: Path) -> None:
    done = _make_image(tmp_path, tmp_path / "calls")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert "no container runtime: install docker or podman" in done.stderr


def test_a_docker_without_its_daemon_is_named(tmp_path: Path) -> None:
    _runtime(tmp_path, "docker", answers=False)
    done = _make_image(tmp_path, tmp_path / "calls")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert "docker installed but not answering" in done.stderr
    assert "build" not in (tmp_path / "calls").read_text()


def test_the_runtime_that_answers_builds_the_dockerfile(tmp_path: Path) -> None:
    _runtime(tmp_path, "docker", answers=False)
    _runtime(tmp_path, "podman", answers=True)
    done = _make_image(tmp_path, tmp_path / "calls")
    assert done.returncode == 0, done.stderr
    builds = [line for line in (tmp_path / "calls").read_text().splitlines() if " build " in line]
    assert builds == [f"podman {REPO} build -f deploy/Dockerfile -t sre-assistant:{VERSION} "
                      f"-t sre-assistant:latest ."]
