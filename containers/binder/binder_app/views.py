"""The binding endpoint: a straight line of checks, then one AgentCore call.

Each refusal answers a page that says what happened and what to do next, and an audit event
with the reason. Nothing from AWS (messages, exception text) ever reaches the page.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from botocore.exceptions import BotoCoreError, ClientError
from flask import Flask, abort, g, redirect, render_template, request
from identity_core.audit import AuditLog, session_hash
from identity_core.aws import error_code
from identity_core.pending import FlowRefused, PendingFlowStore
from identity_core.web import require_identity
from markupsafe import Markup

log = logging.getLogger(__name__)

# AgentCore's sessionUri shape (botocore's model states it but does not enforce it).
SESSION_URI = re.compile(r"urn:ietf:params:oauth:request_uri:[A-Za-z0-9._~-]+")
MAX_SESSION_URI_LENGTH = 1024
RETRY_AFTER_SECONDS = 10

# AgentCore errors that retrying cannot fix vs. those that botocore already retried (with a
# bound) and that may pass later. Decided on the error code, never on the message text.
_RETRYABLE_CODES = {"ThrottlingException", "InternalServerException", "ServiceUnavailable"}


@dataclass(frozen=True)
class Page:
    status: int
    title: str
    message: str


# Status codes: 403 where the signed-in user may not use this link, 404 where we never issued
# it, 409 where it was already used (the link's state conflicts with the request), 410 where it
# existed and has expired for good. Distinct codes keep the cases apart in access logs and
# metrics without reading page text.
PAGES = {
    "malformed_session_id": Page(
        400,
        "This link is not valid",
        "The link is incomplete or damaged. Go back to the agent and connect again.",
    ),
    FlowRefused.UNKNOWN: Page(
        404,
        "This link was not started here",
        "This application has no record of this connection link. Go back to the agent and "
        "ask it again.",
    ),
    FlowRefused.OTHER_USER: Page(
        403,
        "This link was started from another account",
        "The connection was requested by a different user than the one signed in here. "
        "Nothing was connected. Sign in with the account that asked, or ask the agent again "
        "from this account.",
    ),
    FlowRefused.EXPIRED: Page(
        410,
        "This link has expired, ask the agent again",
        "Connection links are valid for 10 minutes. Nothing was connected.",
    ),
    FlowRefused.ALREADY_USED: Page(
        409,
        "This link has already been used",
        "Each connection link works once. If the agent still asks for access, ask it again.",
    ),
    "agentcore_access_denied": Page(
        403,
        "This link is no longer valid",
        "AWS refused the link as invalid or expired. Nothing was connected. Ask the agent again.",
    ),
    "agentcore_validation": Page(
        400,
        "This link was not accepted",
        "AWS did not accept this connection link. Nothing was connected. Ask the agent again.",
    ),
    "agentcore_unavailable": Page(
        503,
        "The connection service is busy",
        "Nothing was connected yet. Open the same link again in a moment.",
    ),
    "store_unavailable": Page(
        503,
        "The connection service is busy",
        "Nothing was connected. Open the same link again in a moment.",
    ),
    "agentcore_error": Page(
        502,
        "The connection could not be completed",
        "Nothing was connected. Ask the agent again; if this keeps happening, tell your "
        "administrator.",
    ),
}


@dataclass
class Binder:
    agentcore: Any
    store: PendingFlowStore
    audit: AuditLog
    post_binding_path: str
    style: Markup

    def bind(self) -> Any:
        # Flask answers HEAD with the GET view; a HEAD (a link checker, a prefetch) must not
        # use up the link or bind anything.
        if request.method != "GET":
            abort(405)
        # One session_id, shaped like AgentCore's: anything else never reaches the store or AWS.
        values = request.args.getlist("session_id")
        session_uri = values[0] if len(values) == 1 else ""
        if len(session_uri) > MAX_SESSION_URI_LENGTH or not SESSION_URI.fullmatch(session_uri):
            return self._refuse("malformed_session_id")
        hashed = session_hash(session_uri)

        # Our own record of the flow, consumed once, for the user signed in in this browser:
        # stops links we never issued, links swapped into another user's browser, expired
        # links and replays, before AgentCore sees them.
        try:
            provider = self.store.consume(session_uri=session_uri, user_id=g.user_id)
        except FlowRefused as refused:
            return self._refuse(refused.reason, session_hash=hashed)
        except (ClientError, BotoCoreError) as exc:
            log.warning("pending-flow store unavailable: %s", error_code(exc) or type(exc).__name__)
            return self._refuse("store_unavailable", session_hash=hashed)

        # The user id comes from the header verified for this request, never from the query,
        # the store or anything remembered: AgentCore binds the consent to exactly this string.
        try:
            self.agentcore.complete_resource_token_auth(
                sessionUri=session_uri, userIdentifier={"userId": g.user_id}
            )
        except ClientError as exc:
            return self._agentcore_refused(exc, session_uri, hashed)
        except BotoCoreError as exc:
            # Timeouts and connection errors, after botocore's bounded retries.
            log.warning("AgentCore unreachable: %s", type(exc).__name__)
            self._give_back(session_uri)
            return self._refuse("agentcore_unavailable", session_hash=hashed)

        self.audit.event("binding.completed", provider=provider, session_hash=hashed)
        target = f"{self.post_binding_path}?{urlencode({'connected': provider})}"
        return redirect(target, code=303)

    def _agentcore_refused(self, exc: ClientError, session_uri: str, hashed: str) -> Any:
        code = error_code(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        log.warning("CompleteResourceTokenAuth refused: %s (HTTP %s)", code, status)
        if code == "AccessDeniedException":
            return self._refuse("agentcore_access_denied", session_hash=hashed)
        if code == "ValidationException":
            return self._refuse("agentcore_validation", session_hash=hashed)
        if code in _RETRYABLE_CODES or status >= 500:
            self._give_back(session_uri)
            return self._refuse("agentcore_unavailable", session_hash=hashed)
        # UnauthorizedException, ResourceNotFoundException or anything new: our side or theirs,
        # not something the user can fix by retrying the same link.
        return self._refuse("agentcore_error", session_hash=hashed, code=code)

    def _give_back(self, session_uri: str) -> None:
        """After a transient AgentCore failure, let the same link work when the user retries."""
        try:
            self.store.release(session_uri=session_uri, user_id=g.user_id)
        except (ClientError, BotoCoreError) as exc:
            # The link stays used; the user's next try says so and sends them to the agent.
            log.warning("could not release session: %s", error_code(exc) or type(exc).__name__)

    def _refuse(self, reason: str, **fields: Any) -> Any:
        page = PAGES[reason]
        self.audit.event(
            "binding.refused",
            outcome="error" if page.status >= 500 else "denied",
            reason=reason,
            **fields,
        )
        body = render_template(
            "result.html",
            title=page.title,
            message=page.message,
            signed_in_as=g.identity.display_name,
            back_path=self.post_binding_path,
            style=self.style,
        )
        headers = {"Content-Type": "text/html; charset=utf-8"}
        if page.status == 503:
            headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return body, page.status, headers


def register(app: Flask, binder: Binder, path: str) -> None:
    app.add_url_rule(path, "session_binding", require_identity(binder.bind), methods=["GET"])
