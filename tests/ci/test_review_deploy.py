"""Review: a deploy re-run for a commit whose images are already in ECR.

The repositories have immutable tags, so pushing the commit's tag again is refused
(ImageTagAlreadyExistsException): without the lookup a re-run after a failed apply, or a
dispatch without a new commit, could never get past the build. The lookup step's own shell runs
here with a stand-in `aws` on PATH, so what is asserted is what the step does.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = yaml.safe_load((ROOT / ".github/workflows/deploy.yml").read_text(encoding="utf-8"))
STEPS = DEPLOY["jobs"]["deploy"]["steps"]
BY_ID = {s.get("id"): s for s in STEPS}
SHA = "0123456789abcdef0123456789abcdef01234567"
AGENT_DIGEST = "sha256:" + "a" * 64

# A stand-in for `aws ecr describe-images`: answers from AWS_STANDIN_<repo with / as _>.
FAKE_AWS = """#!/bin/sh
repo=""
while [ $# -gt 0 ]; do
  [ "$1" = "--repository-name" ] && repo="$2"
  shift
done
echo "$repo" >> "$AWS_STANDIN_LOG"
key=$(echo "$repo" | tr '/-' '__')
eval answer="\\$AWS_STANDIN_$key"
case "$answer" in
  sha256:*) echo "$answer" ;;
  missing) echo "An error occurred (ImageNotFoundException): no such tag" >&2; exit 254 ;;
  *) echo "An error occurred (AccessDeniedException): not authorized" >&2; exit 254 ;;
esac
"""


def run_lookup(tmp_path: Path, answers: dict[str, str]) -> tuple[subprocess.CompletedProcess, dict]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "aws"
    fake.write_text(FAKE_AWS)
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    output = tmp_path / "github_output"
    output.touch()
    step = BY_ID["existing"]
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_OUTPUT": str(output),
        "AWS_STANDIN_LOG": str(tmp_path / "calls"),
        "AGENT_URL": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/ai-agents/agent",
        "BINDER_URL": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/ai-agents/binder",
        "TAG": SHA,
    }
    env |= {f"AWS_STANDIN_{k.replace('/', '_').replace('-', '_')}": v for k, v in answers.items()}
    done = subprocess.run(
        [shutil.which("bash") or "bash", "-c", step["run"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return done, outputs


def test_builds_run_only_when_the_commit_has_no_image_yet():
    names = [s.get("id") for s in STEPS]
    assert names.index("existing") < names.index("agent") < names.index("binder")
    assert BY_ID["agent"]["if"] == "steps.existing.outputs.agent == ''"
    assert BY_ID["binder"]["if"] == "steps.existing.outputs.binder == ''"


def test_plan_deploys_the_built_digest_or_else_the_one_already_pushed():
    plan = next(s for s in STEPS if s.get("name") == "terraform plan")
    assert plan["env"]["AGENT_DIGEST"] == (
        "${{ steps.agent.outputs.digest || steps.existing.outputs.agent }}"
    )
    assert plan["env"]["BINDER_DIGEST"] == (
        "${{ steps.binder.outputs.digest || steps.existing.outputs.binder }}"
    )


@pytest.mark.skipif(shutil.which("bash") is None, reason="the step is a bash script")
def test_rerun_reuses_a_pushed_image_and_builds_only_the_missing_one(tmp_path):
    done, outputs = run_lookup(
        tmp_path, {"ai-agents/agent": AGENT_DIGEST, "ai-agents/binder": "missing"}
    )
    assert done.returncode == 0, done.stderr
    assert outputs == {"agent": AGENT_DIGEST, "binder": ""}
    # The repository name is the URL's path, not the registry host.
    assert (tmp_path / "calls").read_text().split() == ["ai-agents/agent", "ai-agents/binder"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="the step is a bash script")
def test_an_ecr_error_other_than_not_found_stops_the_deploy(tmp_path):
    done, outputs = run_lookup(
        tmp_path, {"ai-agents/agent": "denied", "ai-agents/binder": "missing"}
    )
    assert done.returncode == 1
    assert "AccessDeniedException" in done.stderr
    # Nothing was decided for either image, so no build is skipped on a guess.
    assert outputs == {}


# ---------------------------------------------------------------------------------------------
# After the apply: each service must run the deployed digest on a completed deployment.

BINDER_DIGEST = "sha256:" + "b" * 64
OLD_DIGEST = "sha256:" + "c" * 64
REGISTRY = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/ai-agents"

FAKE_TERRAFORM = """#!/bin/sh
case "$*" in
  *cluster_name*) echo ai-agents ;;
  *agent_service_name*) echo ai-agents-agent ;;
  *binder_service_name*) echo ai-agents-binder ;;
  *) exit 1 ;;
esac
"""

# ECS as seen by `aws`: STANDIN_STABLE_<service> (yes|no), STANDIN_STATE_<service>,
# STANDIN_IMAGE_<service>; the task definition is named after the service.
FAKE_ECS = """#!/bin/sh
echo "$*" >> "$AWS_STANDIN_LOG"
service=""; taskdef=""
while [ $# -gt 0 ]; do
  case "$1" in
    --services) service="$2" ;;
    --task-definition) taskdef="$2" ;;
  esac
  shift
done
key=$(echo "$service$taskdef" | tr '-' '_')
eval stable="\\$STANDIN_STABLE_$key"
eval state="\\$STANDIN_STATE_$key"
eval image="\\$STANDIN_IMAGE_$key"
case "$(tail -n 1 "$AWS_STANDIN_LOG")" in
  "ecs wait services-stable"*)
    [ "$stable" = yes ] && exit 0
    echo "Waiter ServicesStable failed: Max attempts exceeded" >&2; exit 255 ;;
  "ecs describe-services"*)
    printf '{"status": "PRIMARY", "rolloutState": "%s", "taskDefinition": "%s"}\\n' \\
      "$state" "$service" ;;
  "ecs describe-task-definition"*)
    echo "$image" ;;
  *) exit 2 ;;
esac
"""


def run_wait(tmp_path: Path, ecs: dict[str, str]) -> subprocess.CompletedProcess:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("terraform", FAKE_TERRAFORM), ("aws", FAKE_ECS)):
        exe = bin_dir / name
        exe.write_text(text)
        exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    step = next(s for s in STEPS if s.get("name") == "Wait for both services to run the new images")
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "TF_DIR": "terraform",
        "AWS_STANDIN_LOG": str(tmp_path / "calls"),
        "AGENT_DIGEST": AGENT_DIGEST,
        "BINDER_DIGEST": BINDER_DIGEST,
        **ecs,
    }
    return subprocess.run(
        [shutil.which("bash") or "bash", "-c", step["run"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def healthy(service: str, digest: str) -> dict[str, str]:
    key = f"ai_agents_{service}"
    return {
        f"STANDIN_STABLE_{key}": "yes",
        f"STANDIN_STATE_{key}": "COMPLETED",
        f"STANDIN_IMAGE_{key}": f"{REGISTRY}/{service}@{digest}",
    }


def test_the_wait_runs_after_the_apply_and_before_the_smoke_test():
    names = [s.get("name") for s in STEPS]
    wait = names.index("Wait for both services to run the new images")
    assert (
        names.index("terraform apply")
        < wait
        < names.index("Smoke test (register_provider.py --verify)")
    )


@pytest.mark.skipif(shutil.which("jq") is None, reason="the step uses jq, as the runner has")
def test_services_running_the_deployed_digests_pass(tmp_path):
    done = run_wait(tmp_path, healthy("agent", AGENT_DIGEST) | healthy("binder", BINDER_DIGEST))
    assert done.returncode == 0, done.stderr + done.stdout
    assert f"ai-agents-binder: deployment COMPLETED, running {REGISTRY}/binder@" in done.stdout


@pytest.mark.skipif(shutil.which("jq") is None, reason="the step uses jq, as the runner has")
def test_a_deployment_the_circuit_breaker_rolled_back_fails_the_job(tmp_path):
    # After a rollback the service is stable again, on the previous image.
    done = run_wait(tmp_path, healthy("agent", OLD_DIGEST) | healthy("binder", BINDER_DIGEST))
    assert done.returncode == 1
    assert f"ai-agents-agent: deployment COMPLETED runs {REGISTRY}/agent@{OLD_DIGEST}" in (
        done.stdout
    )
    assert "rolled back?" in done.stdout


@pytest.mark.skipif(shutil.which("jq") is None, reason="the step uses jq, as the runner has")
def test_tasks_that_never_turn_healthy_fail_the_job(tmp_path):
    ecs = healthy("agent", AGENT_DIGEST) | healthy("binder", BINDER_DIGEST)
    ecs["STANDIN_STABLE_ai_agents_binder"] = "no"
    done = run_wait(tmp_path, ecs)
    assert done.returncode != 0
    assert "Max attempts exceeded" in done.stderr
