"""Reading a Dockerfile's final stage: enough to reproduce its layout and command without Docker."""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass
from pathlib import Path

# The build context of both images (docker build -f containers/<name>/Dockerfile containers/).
CONTEXT = Path(__file__).resolve().parents[2] / "containers"
CONTAINERS = ["agent", "binder"]


@dataclass
class FinalStage:
    workdir: str
    copies: list[tuple[list[str], str]]
    cmd: list[str]


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in dockerfile.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, args = line.partition(" ")
        result.append((keyword.upper(), args.strip()))
    return result


def final_stage(dockerfile: Path) -> FinalStage:
    parsed = instructions(dockerfile)
    last_from = max(i for i, (kw, _) in enumerate(parsed) if kw == "FROM")
    workdir, copies, cmd = "/", [], None
    for keyword, args in parsed[last_from + 1 :]:
        if keyword == "WORKDIR":
            workdir = os.path.join(workdir, args)
        elif keyword == "COPY":
            words = shlex.split(args)
            if any(w.startswith("--from") for w in words):
                continue  # built artefacts: the test's own venv stands in for them
            words = [w for w in words if not w.startswith("--")]
            *sources, dest = words
            copies.append((sources, os.path.join(workdir, dest)))
        elif keyword == "CMD":
            assert args.startswith("["), "CMD must be in exec form (signals reach gunicorn)"
            cmd = json.loads(args)
    assert cmd, f"{dockerfile} has no CMD in its final stage"
    return FinalStage(workdir=workdir, copies=copies, cmd=cmd)
