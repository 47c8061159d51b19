"""ECS services run in private subnets: a task with a public IP is reachable around the ALB."""

from __future__ import annotations

from _values import blocks, first, unresolved
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class EcsServiceHasNoPublicIp(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="ECS services do not assign public IPs to their tasks",
            id="CKV_AECS_3",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["aws_ecs_service"],
        )

    def scan_resource_conf(self, conf: dict) -> CheckResult:
        for network in blocks(conf, "network_configuration"):
            value = first(network, "assign_public_ip", False)
            if unresolved(value):
                # An expression checkov cannot evaluate; the tfparse assertions evaluate it.
                return CheckResult.UNKNOWN
            if value not in (False, "false"):
                return CheckResult.FAILED
        return CheckResult.PASSED


check = EcsServiceHasNoPublicIp()
