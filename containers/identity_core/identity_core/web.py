"""Flask wiring shared by both services: the identity guard, security headers, JSON errors.

Views that act for a user are wrapped in ``require_identity``. It verifies the ALB header of
*this* request and derives the user id; nothing about identity is read from the query string,
a cookie of ours, the plaintext ``x-amzn-oidc-identity`` header or anything remembered.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, g, jsonify
from flask import request as flask_request
from werkzeug.exceptions import HTTPException

from .alb import HEADER_NAME, AlbHeaderVerifier, InvalidIdentity, KeyEndpointUnavailable
from .audit import AuditLog, trace_id_from_request
from .identity import derive_user_id
from .settings import SettingsError

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger(__name__)
_EXTENSION = "identity_core"
KEY_ENDPOINT_RETRY_AFTER_SECONDS = 5


class Guard:
    """Everything ``require_identity`` needs, kept on ``app.extensions``."""

    def __init__(self, verifier: AlbHeaderVerifier, user_id_prefix: str, audit: AuditLog):
        self.verifier = verifier
        self.user_id_prefix = user_id_prefix
        self.audit = audit


def init_app(
    app: Flask,
    *,
    verifier: AlbHeaderVerifier,
    user_id_prefix: str,
    audit: AuditLog,
    content_security_policy: str,
) -> None:
    app.extensions[_EXTENSION] = Guard(verifier, user_id_prefix, audit)

    @app.get("/healthz")
    def _healthz() -> Any:
        # For the target group: no authentication and no AWS call, so a slow dependency
        # never takes every task out of service at once.
        return jsonify(status="ok")

    @app.before_request
    def _remember_trace_id() -> None:
        g.trace_id = trace_id_from_request()

    @app.after_request
    def _security_headers(response: Any) -> Any:
        # Pages and answers are per user and may carry a session id: never cache, never leak
        # the URL through Referer, never render inside another site's frame.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Content-Security-Policy"] = content_security_policy
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        return response

    @app.errorhandler(InvalidIdentity)
    def _unauthenticated(exc: InvalidIdentity) -> Any:
        audit.event("identity.rejected", outcome="denied", reason=exc.reason)
        return json_error(401, "unauthenticated", "Sign-in is required.")

    @app.errorhandler(KeyEndpointUnavailable)
    def _key_endpoint_down(_exc: KeyEndpointUnavailable) -> Any:
        audit.event("identity.rejected", outcome="error", reason="key endpoint unavailable")
        response = json_error(503, "unavailable", "Sign-in cannot be checked right now.")
        response.headers["Retry-After"] = str(KEY_ENDPOINT_RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        code = exc.code or 500
        return json_error(code, (exc.name or "error").lower().replace(" ", "_"), exc.name or "")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        # The exception text may name internals or echo an AWS message: log it, never send it.
        log.exception("unhandled error on %s", flask_request.path)
        return json_error(500, "internal_error", "Something went wrong.")


def json_error(status: int, error: str, message: str) -> Any:
    response = jsonify(error=error, message=message)
    response.status_code = status
    return response


def require_identity(view: F) -> F:
    """Verify the ALB header, then set ``g.identity`` and ``g.user_id`` before the view runs.

    A failure raises ``InvalidIdentity`` (401) or ``KeyEndpointUnavailable`` (503) before the
    view, so no AgentCore call is ever made for an unverified request.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        guard: Guard = current_app.extensions[_EXTENSION]
        identity = guard.verifier.verify(flask_request.headers.get(HEADER_NAME))
        g.identity = identity
        g.user_id = derive_user_id(identity, guard.user_id_prefix)
        guard.audit.event("identity.verified")
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def load_or_exit(service: str, create_app: Callable[[], Flask]) -> Flask:
    """For each service's ``wsgi.py``: build the app, or stop gunicorn with one line.

    A missing or malformed setting names its variable on stderr, without a traceback to dig
    through, and exits with 3, gunicorn's WORKER_BOOT_ERROR: with or without ``preload_app``
    gunicorn then stops instead of respawning workers that can never start.
    """
    try:
        return create_app()
    except SettingsError as exc:
        sys.stderr.write(f"{service}: configuration error: {exc}\n")
        sys.stderr.flush()
        raise SystemExit(3) from None
