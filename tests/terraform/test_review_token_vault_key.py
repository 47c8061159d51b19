"""Review: the task roles may use the key the account's default token vault really uses.

The default token vault is one per account and region, so only one stack may set its key
(manage_token_vault_cmk). Before this review a second stack (manage_token_vault_cmk = false, as
the module README advised) still created a key of its own and granted its task roles on that
unused key: with the key policies delegating to IAM, its agent and binder could then neither
read nor store tokens in the vault, which is encrypted with the first stack's key.

Both cases are evaluated from the root module with tfparse, as the other evaluated assertions.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from . import stack_properties as sp

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = ROOT / "terraform"
SCHEMA = json.loads((Path(__file__).parent / "aws_provider_schema.json").read_text())
OTHER_STACKS_KEY = "arn:aws:kms:eu-west-1:111122223333:key/0a1b2c3d-0000-4000-8000-00000000abcd"
VAULT_KEY_ACTIONS = {"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKeyWithoutPlaintext"}


def vault_key_resources(stack: sp.Stack) -> dict[str, list[str]]:
    """Resources of each task role's token vault key statement, by role name."""
    found = {}
    for role in stack.of("aws_iam_role"):
        if not str(role.get("name", "")).endswith("-task"):
            continue
        for _, statement in sp.role_statements(stack, role):
            if set(statement["Action"]) == VAULT_KEY_ACTIONS:
                found[role["name"]] = statement["Resource"]
    return found


@pytest.fixture(scope="module")
def managing_stack():
    return sp.load_stack(TERRAFORM_DIR, "terraform.tfvars.example", SCHEMA)


@pytest.fixture(scope="module")
def second_stack(tmp_path_factory):
    copy = tmp_path_factory.mktemp("second") / "terraform"
    shutil.copytree(TERRAFORM_DIR, copy, ignore=shutil.ignore_patterns(".terraform*"))
    example = (TERRAFORM_DIR / "terraform.tfvars.example").read_text(encoding="utf-8")
    (copy / "second.tfvars").write_text(
        example
        + "\nmanage_token_vault_cmk  = false\n"
        + f'token_vault_kms_key_arn = "{OTHER_STACKS_KEY}"\n',
        encoding="utf-8",
    )
    return sp.load_stack(copy, "second.tfvars", SCHEMA)


def test_the_managing_stack_grants_its_tasks_the_key_it_sets_on_the_vault(managing_stack):
    (cmk,) = managing_stack.of("aws_bedrockagentcore_token_vault_cmk")
    vault_key = sp.as_list(cmk["kms_configuration"])[0]["kms_key_arn"]
    grants = vault_key_resources(managing_stack)
    assert sorted(grants) == ["ai-agents-agent-task", "ai-agents-binder-task"]
    assert all(resources == [vault_key] for resources in grants.values()), grants


def test_a_second_stack_grants_its_tasks_the_key_the_vault_already_uses(second_stack):
    assert second_stack.of("aws_bedrockagentcore_token_vault_cmk") == []
    # No key of its own that nothing would use.
    assert [k for k in second_stack.of("aws_kms_key") if "token_vault" in sp.Stack.address(k)] == []
    grants = vault_key_resources(second_stack)
    assert sorted(grants) == ["ai-agents-agent-task", "ai-agents-binder-task"]
    assert all(resources == [OTHER_STACKS_KEY] for resources in grants.values()), grants


def describe_key_resources(stack: sp.Stack) -> dict[str, list[str]]:
    found = {}
    for role in stack.of("aws_iam_role"):
        if str(role.get("name", "")).endswith("-task"):
            for _, statement in sp.role_statements(stack, role):
                if statement["Action"] == ["kms:DescribeKey"]:
                    found[role["name"]] = statement["Resource"]
    return found


def test_tasks_may_describe_the_vault_key_as_the_documented_key_policy_allows(
    managing_stack, second_stack
):
    # AWS's key policy for the vault's key grants Encrypt, Decrypt,
    # GenerateDataKeyWithoutPlaintext and DescribeKey through AgentCore Identity.
    (cmk,) = managing_stack.of("aws_bedrockagentcore_token_vault_cmk")
    vault_key = sp.as_list(cmk["kms_configuration"])[0]["kms_key_arn"]
    for stack, key in ((managing_stack, vault_key), (second_stack, OTHER_STACKS_KEY)):
        grants = describe_key_resources(stack)
        assert sorted(grants) == ["ai-agents-agent-task", "ai-agents-binder-task"]
        assert all(resources == [key] for resources in grants.values()), grants
