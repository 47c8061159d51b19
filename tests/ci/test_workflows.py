"""The GitHub workflows: schema-valid, zizmor-clean, and shaped the way the deploy story needs.

Docker builds and GitHub itself are not available here, so the workflows are checked as files:
check-jsonschema with the GitHub workflow schema it ships, zizmor offline, and assertions on
what a security reviewer would look for (pinned actions, least privilege, OIDC only in the
deploy job, the deploy order). Each tool is also shown a planted bad workflow, so a check that
silently stopped working would fail here.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts import register_provider

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
BIN = Path(sys.executable).parent
EXPECTED = ("ci.yml", "deploy.yml")
PINNED = re.compile(r"^\s*(?:-\s+)?uses:\s+([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+\s*$")

BAD_WORKFLOW = """\
name: bad
on: pull_request
jobs:
  x:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}"
"""


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))


def triggers(workflow: dict[str, Any]) -> Any:
    # PyYAML reads the key `on` as the boolean True (YAML 1.1).
    return workflow.get("on", workflow.get(True))


def steps(workflow: dict[str, Any], job: str) -> list[dict[str, Any]]:
    return workflow["jobs"][job]["steps"]


def run_text(workflow: dict[str, Any], job: str) -> str:
    return "\n".join(s.get("run", "") for s in steps(workflow, job))


def tool(name: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / name), *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("name", EXPECTED)
def test_workflow_exists(name):
    assert (WORKFLOWS / name).is_file(), f".github/workflows/{name} is missing"


@pytest.mark.parametrize("name", EXPECTED)
def test_workflow_validates_against_the_github_workflow_schema(name):
    done = tool(
        "check-jsonschema", "--builtin-schema", "vendor.github-workflows", str(WORKFLOWS / name)
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_schema_check_rejects_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("name: broken\non: push\njobs:\n  x:\n    steps: []\n")  # no runs-on
    done = tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", str(broken))
    assert done.returncode != 0


def test_zizmor_offline_has_no_findings():
    done = tool("zizmor", "--offline", "--no-progress", ".github/workflows")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout + done.stderr


def test_zizmor_catches_a_planted_bad_workflow(tmp_path):
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    (folder / "bad.yml").write_text(BAD_WORKFLOW)
    done = tool("zizmor", "--offline", "--no-progress", str(folder), cwd=tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode != 0
    for audit in ("unpinned-uses", "template-injection", "artipacked", "excessive-permissions"):
        assert audit in out


@pytest.mark.parametrize("name", EXPECTED)
def test_every_action_is_pinned_by_commit_sha_with_its_version(name):
    lines = [
        line
        for line in (WORKFLOWS / name).read_text(encoding="utf-8").splitlines()
        if re.match(r"^\s*(-\s+)?uses:", line)
    ]
    assert lines, f"{name} uses no action"
    unpinned = [line.strip() for line in lines if not PINNED.match(line)]
    assert unpinned == []


def test_one_version_of_each_action_across_workflows():
    seen: dict[str, set[str]] = {}
    for name in EXPECTED:
        for line in (WORKFLOWS / name).read_text(encoding="utf-8").splitlines():
            match = PINNED.match(line)
            if match:
                seen.setdefault(match[1], set()).add(match[2])
    assert {action: shas for action, shas in seen.items() if len(shas) > 1} == {}


@pytest.mark.parametrize("name", EXPECTED)
def test_least_privilege_permissions(name):
    workflow = load(name)
    assert workflow["permissions"] == {}, "top-level permissions must be {}"
    for job_id, job in workflow["jobs"].items():
        assert "permissions" in job, f"job {job_id} must state its permissions"
        granted = job["permissions"]
        assert granted.get("contents") in (None, "read"), f"{job_id} may only read contents"
        writes = {k for k, v in granted.items() if v == "write"}
        if (name, job_id) == ("deploy.yml", "deploy"):
            assert writes == {"id-token"}
        else:
            assert writes == set(), f"{name} job {job_id} must not write anything"


@pytest.mark.parametrize("name", EXPECTED)
def test_checkout_never_persists_credentials(name):
    workflow = load(name)
    for job_id, job in workflow["jobs"].items():
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, job_id


@pytest.mark.parametrize("name", EXPECTED)
def test_concurrency_group_is_set(name):
    assert load(name)["concurrency"]["group"]


@pytest.mark.parametrize("name", EXPECTED)
def test_secrets_reach_commands_only_through_step_environment(name):
    """A secret in a `run:` line is template-expanded into the script and can be echoed."""
    workflow = load(name)
    for job_id, job in workflow["jobs"].items():
        for step in job["steps"]:
            assert "secrets." not in step.get("run", ""), f"{job_id}: {step.get('name')}"
            assert "set -x" not in step.get("run", ""), "tracing would print secret values"


def test_ci_runs_every_check_the_issue_lists():
    ci = load("ci.yml")
    assert set(triggers(ci)) == {"pull_request", "push"}
    assert "make test" in run_text(ci, "test")  # ruff and the whole pytest suite
    tf = run_text(ci, "terraform")
    for command in (
        "terraform fmt -check -recursive terraform",
        "init -backend=false",
        "validate",
        '-chdir="${dir}" test',
    ):
        assert command in tf
    assert "checkov --config-file checkov/config.yaml" in run_text(ci, "checkov")
    images = ci["jobs"]["images"]
    assert images["strategy"]["matrix"]["service"] == ["agent", "binder"]
    text = run_text(ci, "images")
    assert 'hadolint --failure-threshold style "containers/${SERVICE}/Dockerfile"' in text
    build = next(s for s in images["steps"] if s.get("name") == "docker build")
    assert build["with"]["context"] == "containers"
    assert build["with"]["file"] == "containers/${{ matrix.service }}/Dockerfile"
    assert build["with"]["push"] is False
    assert any("trivy-action" in s.get("uses", "") for s in images["steps"])
    scan = next(s for s in images["steps"] if "trivy-action" in s.get("uses", ""))
    assert scan["with"]["exit-code"] == "1"


def test_ci_installs_checkov_from_the_project_pin():
    assert (ROOT / "requirements-checkov.txt").is_file()
    assert "requirements-checkov.txt" in run_text(load("ci.yml"), "checkov")


def test_deploy_runs_on_main_and_on_demand_in_a_protected_environment():
    deploy = load("deploy.yml")
    on = triggers(deploy)
    assert set(on) == {"push", "workflow_dispatch"}
    assert on["push"]["branches"] == ["main"]
    job = deploy["jobs"]["deploy"]
    assert job["environment"] == "production"
    assert deploy["concurrency"]["cancel-in-progress"] is False


def test_deploy_uses_oidc_and_no_stored_aws_keys():
    deploy = load("deploy.yml")
    text = (WORKFLOWS / "deploy.yml").read_text(encoding="utf-8")
    assert "AWS_ACCESS_KEY_ID" not in text and "aws-secret-access-key" not in text
    creds = next(
        s for s in steps(deploy, "deploy") if "configure-aws-credentials" in s.get("uses", "")
    )
    assert creds["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"


def test_deploy_order_build_push_plan_apply_register_verify():
    names = [s.get("name", s.get("uses", "")) for s in steps(load("deploy.yml"), "deploy")]
    order = [
        "Build and push the agent image",
        "Build and push the binder image",
        "terraform plan",
        "terraform apply",
        "Register the callback and session binding URLs",
        "Smoke test (register_provider.py --verify)",
    ]
    assert [n for n in names if n in order] == order


def test_images_are_tagged_by_commit_and_deployed_by_digest():
    deploy = load("deploy.yml")
    by_id = {s.get("id"): s for s in steps(deploy, "deploy")}
    for service in ("agent", "binder"):
        build = by_id[service]
        assert build["with"]["context"] == "containers"
        assert build["with"]["file"] == f"containers/{service}/Dockerfile"
        assert build["with"]["push"] is True
        assert build["with"]["tags"].endswith(":${{ github.sha }}")
    plan = next(s for s in steps(deploy, "deploy") if s.get("name") == "terraform plan")
    # A re-run deploys the image already pushed for the commit (tests/ci/test_review_deploy.py).
    for service in ("agent", "binder"):
        assert plan["env"][f"{service.upper()}_DIGEST"] == (
            f"${{{{ steps.{service}.outputs.digest || steps.existing.outputs.{service} }}}}"
        )
    assert '-var "agent_image_digest=${AGENT_DIGEST}"' in plan["run"]
    assert '-var "binder_image_digest=${BINDER_DIGEST}"' in plan["run"]
    assert "-out=tfplan" in plan["run"]
    apply = next(s for s in steps(deploy, "deploy") if s.get("name") == "terraform apply")
    assert apply["run"].strip().endswith("apply -input=false tfplan")


def test_terraform_variables_the_deploy_sets_exist_in_the_root_module():
    variables = (ROOT / "terraform" / "variables.tf").read_text(encoding="utf-8")
    text = (WORKFLOWS / "deploy.yml").read_text(encoding="utf-8")
    used = set(re.findall(r"TF_VAR_(\w+)", text)) | set(re.findall(r'-var "(\w+)=', text))
    assert used, "the deploy sets no terraform variable"
    missing = sorted(v for v in used if f'variable "{v}"' not in variables)
    assert missing == []


def test_deploy_calls_the_registration_script_with_flags_it_has():
    known = {
        option
        for action in register_provider.build_parser()._actions
        for option in action.option_strings
    }
    deploy = load("deploy.yml")
    calls = [
        s["run"] for s in steps(deploy, "deploy") if "register_provider.py" in s.get("run", "")
    ]
    assert len(calls) == 2
    assert "--verify" in calls[1] and "--verify" not in calls[0]
    flags = set()
    for run in calls:
        flags |= {
            w for w in shlex.split(run.replace("(", " ").replace(")", " ")) if w.startswith("--")
        }
    assert flags - known == set()


def test_deploy_installs_the_script_dependencies_from_the_container_pins():
    text = run_text(load("deploy.yml"), "deploy")
    pins = (ROOT / "containers" / "agent" / "requirements.txt").read_text(encoding="utf-8")
    for package in ("boto3", "requests"):
        assert f"^{package}==" in text
        assert re.search(rf"^{package}==", pins, re.M), f"{package} is not pinned there"


def test_ci_start_up_probe_sets_only_documented_settings():
    """The image probe in ci.yml starts each container with settings from the contract page."""
    text = (WORKFLOWS / "ci.yml").read_text(encoding="utf-8")
    names = set(re.findall(r"--env ([A-Z_]+)=", text))
    contract = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", contract, re.M))
    assert {"AWS_REGION", "ALB_ARN", "OIDC_ISSUER", "SESSION_BINDING_URL"} <= names
    assert names - documented == set()
    # /tmp comes from the image's VOLUME, as on Fargate (tests/ci/test_review_images.py).
    assert "--read-only" in text and "--tmpfs" not in text
