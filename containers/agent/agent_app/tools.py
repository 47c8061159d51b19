"""The tools the model may call, and the one place the user's external token is used.

A tool fetches the user's token, calls the external API with it and returns only the API's
answer. The model sees that answer, never the token; when consent is needed the tool returns
the authorization for the page instead of a result, and the turn ends there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from identity_core.audit import AuditLog

from .github import ExternalApiError, ExternalUnauthorized, GitHubClient
from .outbound import AccessToken, AuthorizationRequired, OutboundTokens

PROFILE = "github_profile"
REPOSITORIES = "github_repositories"
RECONNECT = "reconnect_account"

# name -> description, as the model sees them.
TOOL_DESCRIPTIONS = {
    PROFILE: "Read the signed-in user's GitHub profile: login, name, public repository count.",
    REPOSITORIES: "List the signed-in user's GitHub repositories, most recently updated first.",
    RECONNECT: "Disconnect and reconnect the user's GitHub account. Only when the user asks "
    "to reconnect, switch account or re-authorize.",
}


@dataclass(frozen=True)
class ToolOutcome:
    name: str
    status: str  # "success" or "error", as Bedrock's toolResult wants it
    result: dict[str, Any]
    authorization: AuthorizationRequired | None = None


class Tools:
    def __init__(self, *, outbound: OutboundTokens, github: GitHubClient, audit: AuditLog):
        self._outbound = outbound
        self._github = github
        self._audit = audit
        self._calls: dict[str, Callable[[AccessToken], dict[str, Any]]] = {
            PROFILE: github.profile,
            REPOSITORIES: github.repositories,
        }

    def run(self, name: str, user_id: str) -> ToolOutcome:
        started = time.perf_counter()
        status = "error"
        try:
            outcome = self._run(name, user_id)
            status = "authorization_required" if outcome.authorization else outcome.status
            return outcome
        finally:
            # Also when AgentCore or the table failed: the chain must show where it stopped.
            self._audit.event(
                "tool.call",
                outcome="ok" if status == "success" else status,
                tool=name,
                status=status,
                latency_ms=round((time.perf_counter() - started) * 1000, 1),
            )

    def _run(self, name: str, user_id: str) -> ToolOutcome:
        if name == RECONNECT:
            grant = self._outbound.obtain(user_id, force=True)
            if isinstance(grant, AuthorizationRequired):
                return ToolOutcome(name, "success", {}, grant)
            return ToolOutcome(name, "success", {"connected": True})
        call = self._calls.get(name)
        if call is None:
            return ToolOutcome(name, "error", {"error": f"unknown tool {name}"})

        # A token the external API refuses (revoked, or its refresh failed) earns one forced
        # re-authorization, and no more.
        for force in (False, True):
            grant = self._outbound.obtain(user_id, force=force)
            if isinstance(grant, AuthorizationRequired):
                return ToolOutcome(name, "success", {}, grant)
            try:
                return ToolOutcome(name, "success", call(grant))
            except ExternalUnauthorized:
                continue
            except ExternalApiError as exc:
                return ToolOutcome(name, "error", {"error": str(exc)})
        return ToolOutcome(name, "error", {"error": "GitHub refused the user's token"})
