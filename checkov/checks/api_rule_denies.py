"""A listener rule for the agent's API answers 401 to a request without a session.

`authenticate` would redirect a fetch() call to the sign-in page, which the browser's fetch
cannot follow, and lets a cross-site request start a sign-in flow.
"""

from __future__ import annotations

from _values import blocks, first, unresolved
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


def _paths(conf: dict) -> list[str]:
    values: list[str] = []
    for condition in blocks(conf, "condition"):
        for pattern in blocks(condition, "path_pattern"):
            raw = pattern.get("values", [])
            for value in raw if isinstance(raw, list) else [raw]:
                values += value if isinstance(value, list) else [value]
    return [v for v in values if isinstance(v, str)]


class ApiRuleDeniesUnauthenticated(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Listener rules for /api paths set on_unauthenticated_request = deny",
            id="CKV_AECS_2",
            categories=[CheckCategories.IAM],
            supported_resources=["aws_lb_listener_rule"],
        )

    def scan_resource_conf(self, conf: dict) -> CheckResult:
        paths = _paths(conf)
        if any(unresolved(p) for p in paths):
            return CheckResult.UNKNOWN
        if not any(p.startswith("/api") for p in paths):
            return CheckResult.PASSED
        for action in blocks(conf, "action"):
            for oidc in blocks(action, "authenticate_oidc"):
                value = first(oidc, "on_unauthenticated_request", "authenticate")
                if unresolved(value):
                    return CheckResult.UNKNOWN
                if value != "deny":
                    return CheckResult.FAILED
        return CheckResult.PASSED


check = ApiRuleDeniesUnauthenticated()
