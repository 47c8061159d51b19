"""No policy grants a wildcard action on Bedrock AgentCore, nor the "*" action.

`bedrock-agentcore:*` would let a task read any user's tokens from the vault
(GetResourceOauth2Token for any user id) or bind sessions for others.
"""

from __future__ import annotations

from _values import blocks, first, policy_statements
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.data.base_check import BaseDataCheck
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


def _bad(actions) -> bool:
    for action in actions if isinstance(actions, list) else [actions]:
        if isinstance(action, list):
            if _bad(action):
                return True
        elif isinstance(action, str) and (
            action == "*" or (action.lower().startswith("bedrock-agentcore:") and "*" in action)
        ):
            return True
    return False


class PolicyDocumentAgentCoreWildcard(BaseDataCheck):
    def __init__(self) -> None:
        super().__init__(
            name='IAM policy documents grant no "*" or bedrock-agentcore wildcard action',
            id="CKV_AECS_4",
            categories=[CheckCategories.IAM],
            supported_data=["aws_iam_policy_document"],
        )

    def scan_data_conf(self, conf: dict) -> CheckResult:
        for statement in blocks(conf, "statement"):
            if first(statement, "effect", "Allow") != "Allow":
                continue
            if _bad(statement.get("actions", [])):
                return CheckResult.FAILED
        return CheckResult.PASSED


class InlinePolicyAgentCoreWildcard(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name='IAM policies grant no "*" or bedrock-agentcore wildcard action',
            id="CKV_AECS_5",
            categories=[CheckCategories.IAM],
            supported_resources=["aws_iam_role_policy", "aws_iam_policy"],
        )

    def scan_resource_conf(self, conf: dict) -> CheckResult:
        statements = policy_statements(first(conf, "policy"))
        if statements is None:
            # A reference to a policy document: CKV_AECS_4 checks the document itself.
            return CheckResult.UNKNOWN
        for statement in statements:
            if statement.get("Effect", "Allow") == "Allow" and _bad(statement.get("Action", [])):
                return CheckResult.FAILED
        return CheckResult.PASSED


document_check = PolicyDocumentAgentCoreWildcard()
inline_check = InlinePolicyAgentCoreWildcard()
