"""HTTP face of the emulator: both AgentCore planes on one port, as boto3 reaches them.

boto3 finds it through AWS_ENDPOINT_URL_BEDROCK_AGENTCORE and
AWS_ENDPOINT_URL_BEDROCK_AGENTCORE_CONTROL pointed at the same base URL; the two planes' request
paths (all `POST /identities/...`) do not collide, so the path names the operation.

Authentication: every API call must carry an `Authorization` header shaped like SigV4 for the
`bedrock-agentcore` signing name (both planes sign with it). The signature itself is NOT
verified: the emulator has no secret keys to check it with. An unsigned or malformed call is
refused the way AWS front ends refuse it (403 MissingAuthenticationTokenException or
IncompleteSignatureException), which botocore raises as a ClientError with that code.

Emulator-only endpoints, which do not exist on AWS, live under /_emulator/ and take no
credentials (the emulator listens on loopback only):
  GET  /_emulator/health                      readiness probe
  POST /_emulator/clock/advance {"seconds": N} move the emulator's clock forward
  POST /_emulator/vault/expire-access-tokens {"userId"?, "provider"?}
                                              mark stored access tokens expired, keep refresh tokens
  GET  /_emulator/vault                       what the vault holds, without token values
  GET  /_emulator/stats                       counters: {"calls": {operation: {outcome: n}},
                                              "flows_started", "code_exchanges", "refreshes",
                                              "refresh_refused", "vault_hits"}
"""

from __future__ import annotations

import html
import logging
import re
import uuid
from collections import Counter, defaultdict
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from .emulator import Emulator
from .model import (
    CONTROL_PLANE,
    DATA_PLANE,
    AwsError,
    operations_by_path,
    response_code,
    validate_input,
)

log = logging.getLogger("devstack.agentcore")

SIGNING_NAME = "bedrock-agentcore"
_SIGV4 = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<akid>[A-Za-z0-9]{16,128})/(?P<date>\d{8})/"
    r"(?P<region>[a-z0-9-]+)/(?P<service>[a-z0-9-]+)/aws4_request, ?"
    r"SignedHeaders=(?P<headers>[a-z0-9;-]+), ?Signature=(?P<signature>[0-9a-f]{64})"
)
_CALLBACK_ID = re.compile(r"[0-9a-f-]{36}")


def _routes() -> dict[str, tuple[str, str]]:
    """POST path -> (service, operation) for every operation the emulator implements."""
    routes = {}
    for service in (DATA_PLANE, CONTROL_PLANE):
        for (method, path), operation in operations_by_path(service).items():
            if method == "POST" and hasattr(Emulator, operation):
                if path in routes:
                    raise RuntimeError(f"{path} is claimed by both planes")
                routes[path] = (service, operation)
    return routes


def _error(exc: AwsError) -> Response:
    response = jsonify(exc.body())
    response.status_code = exc.status
    response.headers["x-amzn-ErrorType"] = exc.code
    response.headers["x-amzn-RequestId"] = str(uuid.uuid4())
    return response


def _check_signature_shape(header: str | None) -> None:
    if not header:
        raise AwsError("MissingAuthenticationTokenException", "Missing Authentication Token", 403)
    match = _SIGV4.fullmatch(header.strip())
    if match is None:
        raise AwsError(
            "IncompleteSignatureException",
            "Authorization header requires a SigV4 Credential, SignedHeaders and Signature.",
            403,
        )
    if match["service"] != SIGNING_NAME:
        raise AwsError(
            "InvalidSignatureException",
            f"Credential should be scoped to correct service: '{SIGNING_NAME}'.",
            403,
        )


def _page(status: int, message: str) -> Response:
    body = (
        "<!doctype html><html><head><meta charset='utf-8'><title>AgentCore Identity emulator"
        f"</title></head><body><p>{html.escape(message)}</p></body></html>"
    )
    return Response(
        body,
        status=status,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        },
    )


def create_app(emulator: Emulator, *, admin: bool = True) -> Flask:
    """The WSGI app serving `emulator`; `admin=False` leaves out the /_emulator/ endpoints."""
    app = Flask("devstack.agentcore")
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    routes = _routes()
    calls: dict[str, Counter[str]] = defaultdict(Counter)

    @app.post("/identities/<path:rest>")
    def api(rest: str) -> Response:
        path = "/identities/" + rest
        route = routes.get(path)
        operation = route[1] if route else "unknown"
        try:
            if route is None:
                raise AwsError("UnknownOperationException", "Unknown operation", 404)
            _check_signature_shape(request.headers.get("Authorization"))
            params: Any = request.get_json(force=True, silent=True) if request.data else {}
            if params is None:
                raise AwsError("SerializationException", "Request body is not valid JSON", 400)
            service, operation = route
            validate_input(service, operation, params)
            result = getattr(emulator, operation)(params, request.host_url)
        except AwsError as exc:
            calls[operation][exc.code] += 1
            # Path, operation and outcome only: never a body, a token or a secret.
            log.info("%s %s -> %s", path, operation, exc.code)
            return _error(exc)
        calls[operation]["ok"] += 1
        log.info("%s %s -> ok", path, operation)
        status = response_code(service, operation)
        if status == 204:
            response = Response(status=204)
        else:
            response = jsonify(result)
            response.status_code = status
        response.headers["x-amzn-RequestId"] = str(uuid.uuid4())
        return response

    @app.get("/identities/oauth2/callback/<callback_id>")
    def callback(callback_id: str) -> Response:
        if not _CALLBACK_ID.fullmatch(callback_id):
            log.info("oauth2 callback -> 404")
            return _page(404, "Unknown callback.")
        result = emulator.oauth2_callback(callback_id, request.args.to_dict())
        calls["OAuth2Callback"][str(result.status)] += 1
        log.info("oauth2 callback -> %s", result.status)
        if result.location:
            response = Response(status=302, headers={"Location": result.location})
            response.headers["Cache-Control"] = "no-store"
            response.headers["Referrer-Policy"] = "no-referrer"
            return response
        return _page(result.status, result.message or "")

    if admin:
        _add_admin(app, emulator, calls)

    @app.errorhandler(404)
    def unknown(_exc) -> Response:
        return _error(AwsError("UnknownOperationException", "Unknown operation", 404))

    @app.errorhandler(405)
    def wrong_method(_exc) -> Response:
        return _error(AwsError("UnknownOperationException", "Unknown operation", 404))

    @app.errorhandler(Exception)
    def internal(exc: Exception) -> Response:
        if isinstance(exc, HTTPException):
            return _error(AwsError("ValidationException", "Bad request", exc.code or 400))
        # The exception's type only: its text could quote request data.
        log.error("internal error: %s", type(exc).__name__)
        return _error(AwsError("InternalServerException", "Internal server error", 500))

    @app.errorhandler(413)
    def too_large(_exc) -> Response:
        return _error(AwsError("SerializationException", "Request body too large", 400))

    return app


def _add_admin(app: Flask, emulator: Emulator, calls: dict[str, Counter[str]]) -> None:
    def bad(message: str) -> Response:
        response = jsonify({"message": message})
        response.status_code = 400
        return response

    @app.get("/_emulator/health")
    def health() -> Response:
        return jsonify({"status": "ok"})

    @app.post("/_emulator/clock/advance")
    def advance() -> Response:
        body = request.get_json(force=True, silent=True) or {}
        seconds = body.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            return bad("seconds must be a number")
        if not 0 <= seconds <= 10 * 365 * 86400:
            return bad("seconds must be between 0 and ten years")
        now = emulator.clock.advance(float(seconds))
        log.info("admin: clock advanced by %ss", seconds)
        return jsonify({"now": now})

    @app.post("/_emulator/vault/expire-access-tokens")
    def expire() -> Response:
        body = request.get_json(force=True, silent=True) or {}
        user_id, provider = body.get("userId"), body.get("provider")
        if any(v is not None and not isinstance(v, str) for v in (user_id, provider)):
            return bad("userId and provider must be strings")
        count = emulator.expire_access_tokens(user_id=user_id, provider=provider)
        log.info("admin: %d access tokens marked expired", count)
        return jsonify({"expired": count})

    @app.get("/_emulator/vault")
    def vault() -> Response:
        return jsonify({"entries": emulator.vault_summary()})

    @app.get("/_emulator/stats")
    def stats() -> Response:
        return jsonify({"calls": {op: dict(c) for op, c in calls.items()}, **dict(emulator.stats)})
