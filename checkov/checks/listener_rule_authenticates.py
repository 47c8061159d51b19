"""A listener rule that forwards to a target must sign the user in first.

Without an authenticate-oidc action before the forward, the ALB passes the request to the
service with no `x-amzn-oidc-data`, or with one the client forged.
"""

from __future__ import annotations

from _values import blocks, first
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


def _order(action: dict, position: int) -> float:
    order = first(action, "order")
    # Without `order` the provider orders the actions as written.
    return float(order) if isinstance(order, int | float) else 50000 + position


class ListenerRuleAuthenticatesBeforeForward(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Listener rules authenticate (authenticate-oidc) before they forward",
            id="CKV_AECS_1",
            categories=[CheckCategories.IAM],
            supported_resources=["aws_lb_listener_rule"],
        )

    def scan_resource_conf(self, conf: dict) -> CheckResult:
        actions = sorted(
            ((_order(a, i), a) for i, a in enumerate(blocks(conf, "action"))),
            key=lambda pair: pair[0],
        )
        authenticated = False
        for _, action in actions:
            kind = first(action, "type")
            if kind == "authenticate-oidc":
                authenticated = True
            forwards = (
                kind == "forward" or first(action, "target_group_arn") or blocks(action, "forward")
            )
            if forwards and not authenticated:
                return CheckResult.FAILED
        return CheckResult.PASSED


check = ListenerRuleAuthenticatesBeforeForward()
