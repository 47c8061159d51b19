"""docs/deploy.md names only commands, flags, outputs, variables and files the project has.

A guide that drifts from the code fails the person following it on a new account; these tests
fail first. Each one reads the guide's code blocks (or backticked names) and checks them
against the parser, terraform/, the Makefile and the deploy workflow.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from scripts import register_provider

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
OUTPUTS = set(re.findall(r'^output "([^"]+)"', (ROOT / "terraform/outputs.tf").read_text(), re.M))
VARIABLES = set(
    re.findall(r'^variable "([^"]+)"', (ROOT / "terraform/variables.tf").read_text(), re.M)
)
DEPLOY = (ROOT / ".github/workflows/deploy.yml").read_text(encoding="utf-8")
# Files the guide mentions that the steps create on the reader's machine or the runner.
GENERATED = {
    "terraform/terraform.tfvars",
    "terraform/tfplan",
    "terraform/production.auto.tfvars.json",
}


def commands() -> list[str]:
    """Shell commands of the guide's ```sh blocks, continuation lines joined."""
    found = []
    for block in re.findall(r"```sh\n(.*?)```", GUIDE, re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        found += [line.strip() for line in joined.splitlines() if line.strip()]
    return found


def test_the_guide_has_commands():
    assert len(commands()) > 20


def test_script_invocations_use_only_flags_the_script_has():
    known = {
        option
        for action in register_provider.build_parser()._actions
        for option in action.option_strings
    }
    calls = [c for c in commands() if "register_provider.py" in c]
    # Inline mentions such as `... register_provider.py --help` count too.
    calls += re.findall(r"`([^`]*register_provider\.py[^`]*)`", GUIDE)
    assert len(calls) >= 5
    used = {w.split("=", 1)[0] for c in calls for w in shlex.split(c) if w.startswith("--")}
    # Flags the guide lists in prose, as `--flag`.
    used |= {f for f in re.findall(r"`(--[a-z-]+)", GUIDE)}
    assert used - known == set()


def test_terraform_outputs_named_in_the_guide_exist():
    named = set(re.findall(r"terraform -chdir=terraform output (?:-raw |-json )?(\w+)", GUIDE))
    assert {"ecr_repository_urls", "alb_dns_name", "application_url"} <= named
    assert named - OUTPUTS == set()


def test_targeted_modules_exist():
    main = (ROOT / "terraform/main.tf").read_text(encoding="utf-8")
    for module in re.findall(r"-target=module\.(\w+)", GUIDE):
        assert f'module "{module}"' in main


def test_terraform_variables_named_in_the_guide_exist():
    named = set(re.findall(r"TF_VAR_(\w+)", GUIDE))
    named |= {
        "oidc_client_id",
        "entra_tenant_id",
        "agent_image_digest",
        "binder_image_digest",
        "route53_zone_id",
        "certificate_arn",
        "credential_providers",
    }
    for name in named:
        assert f"`{name}" in GUIDE or f"TF_VAR_{name}" in GUIDE, name
    assert named - VARIABLES == set()


def test_credentials_version_is_a_field_of_the_providers_variable():
    assert "credentials_version" in GUIDE
    assert "credentials_version" in (ROOT / "terraform/variables.tf").read_text(encoding="utf-8")


def test_make_targets_exist():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z]+):", makefile, re.M))
    named = set(re.findall(r"`make (\w+)`", GUIDE))
    assert named and named - targets == set()


PATHS = set(
    re.findall(r"`((?:terraform|containers|scripts|docs|\.github|checkov)/[\w./-]+)`", GUIDE)
)


@pytest.mark.parametrize("path", sorted(PATHS - GENERATED))
def test_repository_paths_in_the_guide_exist(path):
    assert (ROOT / path).exists(), f"docs/deploy.md names {path}, which does not exist"


def test_pipeline_settings_in_the_guide_match_the_workflow():
    for name in re.findall(r"gh variable set (\w+)", GUIDE):
        assert f"vars.{name}" in DEPLOY, name
    for name in re.findall(r"gh secret set (\w+)", GUIDE):
        assert f"secrets.{name}" in DEPLOY, name
    used = set(re.findall(r"vars\.(\w+)", DEPLOY)) | set(re.findall(r"secrets\.(\w+)", DEPLOY))
    missing = sorted(name for name in used if name not in GUIDE)
    assert missing == [], "deploy.yml reads settings the guide does not explain"


def test_workflows_the_guide_runs_exist():
    for name in re.findall(r"gh workflow run ([\w.-]+)", GUIDE):
        assert (ROOT / ".github/workflows" / name).is_file()


def test_docker_builds_use_the_containers_context_and_both_dockerfiles():
    builds = [c for c in commands() if c.startswith("docker build")]
    assert builds and all(c.endswith(" containers") for c in builds)
    assert "containers/$service/Dockerfile" in GUIDE
    for service in ("agent", "binder"):
        assert (ROOT / "containers" / service / "Dockerfile").is_file()
