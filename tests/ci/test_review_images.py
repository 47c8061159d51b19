"""Review: the images must run on Fargate as the task definition starts them.

The ecs_service module runs each container as uid 10001 with a read-only root filesystem and
a Fargate bind mount at /tmp. Fargate creates that mount owned by root, mode 0755, unless the
image declares the same path as a VOLUME, in which case ECS copies the image's directory and its
permissions into it (AWS ECS developer guide, "Use bind mounts", considerations). Without it
nothing is writable for the process: gunicorn's worker heartbeat file (tempfile.mkstemp in the
default temporary directory) fails with "No usable temporary directory found", every worker
fails to boot and the service never becomes healthy. The CI start-up probe therefore runs the
image read-only without a tmpfs, so that /tmp is writable only through the image's VOLUME.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TASK_MODULE = (ROOT / "terraform/modules/ecs_service/main.tf").read_text(encoding="utf-8")


def final_stage(dockerfile: str) -> str:
    return re.split(r"^FROM\s", dockerfile, flags=re.M)[-1]


def test_the_task_definition_runs_non_root_with_only_tmp_writable():
    # The premise of the check below: if the module stops doing this, revisit it.
    assert "readonlyRootFilesystem = true" in TASK_MODULE
    assert 'containerPath = "/tmp"' in TASK_MODULE
    assert re.search(
        r'default\s+=\s+"10001:10001"',
        (ROOT / "terraform/modules/ecs_service/variables.tf").read_text(encoding="utf-8"),
    )


@pytest.mark.parametrize("service", ["agent", "binder"])
def test_image_declares_tmp_as_a_volume_so_fargate_makes_it_writable(service):
    text = (ROOT / "containers" / service / "Dockerfile").read_text(encoding="utf-8")
    volumes = re.findall(r"^VOLUME\s+(.+)$", final_stage(text), flags=re.M)
    assert any(re.search(r'(^|[\s\["])/tmp($|[\s\]"])', v) for v in volumes)
