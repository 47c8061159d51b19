"""The user's token for the external service, through ``GetResourceOauth2Token``.

One call per chat turn when all is well: the workload token comes from the cache and AgentCore
answers with the user's access token. Otherwise AgentCore answers with a consent link and a
session URI; the flow is recorded in the pending-flow store, so that any task polls with that
first session URI (never starting a second flow) and the binder can check the link was ours.

The access token is handed to the tool that needs it and dropped with the request: it is never
returned to the browser, stored, cached or logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from identity_core.audit import AuditLog, session_hash
from identity_core.aws import error_code
from identity_core.pending import PendingFlowStore

from .workload_tokens import WorkloadTokenCache

log = logging.getLogger(__name__)

# What AgentCore answers when the workload access token itself is no good (expired or
# revoked). botocore's model documents UnauthorizedException as "the JWT bearer token is
# invalid or not found", which is this case; AWS does not document which code an *expired*
# workload token gets, and AccessDeniedException is what a token that no longer grants access
# would get. Both make us fetch a fresh workload token and retry once: if the denial was really
# IAM's, the retry is denied again and surfaces, at the cost of one extra call.
WORKLOAD_TOKEN_REJECTED_CODES = frozenset({"UnauthorizedException", "AccessDeniedException"})
USER_FEDERATION = "USER_FEDERATION"
FAILED = "FAILED"


@dataclass(frozen=True)
class AccessToken:
    """The user's token for the external service, for the tool call in progress only."""

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return "AccessToken(access_token=<present>)"


@dataclass(frozen=True)
class AuthorizationRequired:
    """The user must consent first; sent to the page out of band, never through the model."""

    provider: str
    url: str = field(repr=False)
    expires_at: int

    def as_json(self) -> dict[str, Any]:
        return {"provider": self.provider, "url": self.url, "expires_at": self.expires_at}


class OutboundTokens:
    def __init__(
        self,
        *,
        agentcore: Any,
        workload_tokens: WorkloadTokenCache,
        store: PendingFlowStore,
        audit: AuditLog,
        provider: str,
        scopes: tuple[str, ...],
        return_url: str,
    ):
        self._agentcore = agentcore
        self._workload_tokens = workload_tokens
        self._store = store
        self._audit = audit
        self._provider = provider
        self._scopes = list(scopes)
        self._return_url = return_url

    def obtain(self, user_id: str, *, force: bool = False) -> AccessToken | AuthorizationRequired:
        """The user's token, or the consent link to show them.

        ``force`` (the user asked to reconnect, or the external API refused the token) starts
        a new flow with ``forceAuthentication``, unless a flow is already pending: then we poll
        it, because AgentCore allows ``forceAuthentication`` on the first call of a flow only.
        """
        pending = self._store.active(user_id=user_id, provider=self._provider)
        if pending is not None:
            try:
                answer = self._call(user_id, sessionUri=pending.session_uri)
            except ClientError as exc:
                # AgentCore no longer knows the session (expired on its clock before ours):
                # start over, once, rather than poll a dead session forever.
                if error_code(exc) != "ValidationException":
                    raise
                log.info("pending session rejected by AgentCore; starting a new flow")
                self._store.forget(user_id=user_id, provider=self._provider)
            else:
                if answer.get("accessToken"):
                    self._store.forget(user_id=user_id, provider=self._provider)
                    return self._obtained(answer, polled=True)
                new_session = answer.get("sessionUri")
                if answer.get("sessionStatus") == FAILED:
                    self._store.forget(user_id=user_id, provider=self._provider)
                elif answer.get("authorizationUrl") and new_session not in (
                    None,
                    pending.session_uri,
                ):
                    # AgentCore replaced the flow itself; follow the new one.
                    return self._record(user_id, answer)
                else:
                    # IN_PROGRESS: the user has not finished consenting. Same link again.
                    return AuthorizationRequired(
                        self._provider, pending.authorization_url, pending.expires_at
                    )

        answer = self._call(user_id, **({"forceAuthentication": True} if force else {}))
        if answer.get("accessToken"):
            return self._obtained(answer, polled=False)
        if answer.get("authorizationUrl") and answer.get("sessionUri"):
            return self._record(user_id, answer)
        raise UnexpectedAnswer("GetResourceOauth2Token returned neither a token nor a link")

    def _call(self, user_id: str, **extra: Any) -> dict[str, Any]:
        for attempt in (1, 2):
            token = self._workload_tokens.get(user_id)
            if token.source == "fetched":
                self._audit.event("workload_token.fetched")
            else:
                self._audit.event("workload_token.cache_hit", shared=token.source == "shared")
            try:
                return self._agentcore.get_resource_oauth2_token(
                    workloadIdentityToken=token.value,
                    resourceCredentialProviderName=self._provider,
                    scopes=self._scopes,
                    oauth2Flow=USER_FEDERATION,
                    # On every call, polls included: AgentCore checks it against the
                    # workload's allowed return URLs each time.
                    resourceOauth2ReturnUrl=self._return_url,
                    **extra,
                )
            except ClientError as exc:
                if attempt == 1 and error_code(exc) in WORKLOAD_TOKEN_REJECTED_CODES:
                    log.info("workload token rejected (%s); fetching a new one", error_code(exc))
                    self._workload_tokens.invalidate(user_id, token)
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _obtained(self, answer: dict[str, Any], *, polled: bool) -> AccessToken:
        self._audit.event("oauth_token.obtained", provider=self._provider, after_consent=polled)
        return AccessToken(answer["accessToken"])

    def _record(self, user_id: str, answer: dict[str, Any]) -> AuthorizationRequired:
        flow = self._store.record(
            session_uri=answer["sessionUri"],
            authorization_url=answer["authorizationUrl"],
            user_id=user_id,
            provider=self._provider,
        )
        self._audit.event(
            "authorization.required",
            provider=self._provider,
            session_hash=session_hash(flow.session_uri),
        )
        return AuthorizationRequired(self._provider, flow.authorization_url, flow.expires_at)


class UnexpectedAnswer(Exception):
    """AgentCore answered in a shape this code does not know; treated as unavailable."""
