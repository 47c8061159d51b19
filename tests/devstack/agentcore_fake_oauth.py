"""A minimal OAuth 2.0 authorization server for the emulator's fidelity tests.

It stands in for the external service's authorization server (the local stack uses a real
oidc-provider instead). Its authorization endpoint consents at once for the user named in the
`test_user` query parameter, as if that user had clicked "Allow"; its token endpoint checks the
client's credentials, the redirect URI and the PKCE verifier, issues random tokens, and honours
refresh_token grants with rotation. It counts grants so tests can assert what the emulator did.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlencode

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


@dataclass
class FakeAuthorizationServer:
    client_id: str
    client_secret: str
    auth_method: str = "client_secret_post"  # or client_secret_basic
    access_token_lifetime: int = 3600
    grants: Counter = field(default_factory=Counter)
    refused: Counter = field(default_factory=Counter)
    issued: dict = field(default_factory=dict)  # access token -> user
    _codes: dict = field(default_factory=dict)
    _refresh: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    base_url: str = ""

    # ------------------------------------------------------------------ WSGI
    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path == "/authorize":
            response = self._authorize(request)
        elif request.path == "/token" and request.method == "POST":
            response = self._token(request)
        elif request.path == "/.well-known/openid-configuration":
            response = _json(
                {
                    "issuer": self.base_url,
                    "authorization_endpoint": f"{self.base_url}/authorize",
                    "token_endpoint": f"{self.base_url}/token",
                    "token_endpoint_auth_methods_supported": [self.auth_method],
                }
            )
        else:
            response = _json({"error": "not_found"}, 404)
        return response(environ, start_response)

    def _authorize(self, request: Request) -> Response:
        args = request.args
        if args.get("client_id") != self.client_id or args.get("response_type") != "code":
            return _json({"error": "invalid_request"}, 400)
        if args.get("code_challenge_method") != "S256" or not args.get("code_challenge"):
            return _json({"error": "invalid_request", "error_description": "PKCE required"}, 400)
        if args.get("deny"):
            target = (
                args["redirect_uri"]
                + "?"
                + urlencode({"error": "access_denied", "state": args.get("state", "")})
            )
            return Response(status=302, headers={"Location": target})
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = {
                "user": args.get("test_user", "alice"),
                "redirect_uri": args["redirect_uri"],
                "challenge": args["code_challenge"],
                "scope": args.get("scope", ""),
            }
        target = args["redirect_uri"] + "?" + urlencode({"code": code, "state": args["state"]})
        return Response(status=302, headers={"Location": target})

    def _client_ok(self, request: Request) -> bool:
        if self.auth_method == "client_secret_basic":
            auth = request.authorization
            return bool(
                auth and auth.username == self.client_id and auth.password == self.client_secret
            )
        form = request.form
        return form.get("client_id") == self.client_id and form.get("client_secret") == (
            self.client_secret
        )

    def _token(self, request: Request) -> Response:
        form = request.form
        grant = form.get("grant_type")
        if not self._client_ok(request):
            self.refused["invalid_client"] += 1
            return _json({"error": "invalid_client"}, 401)
        with self._lock:
            if grant == "authorization_code":
                record = self._codes.pop(form.get("code", ""), None)
                if record is None or record["redirect_uri"] != form.get("redirect_uri"):
                    self.refused["invalid_grant"] += 1
                    return _json({"error": "invalid_grant"}, 400)
                verifier = form.get("code_verifier", "")
                digest = hashlib.sha256(verifier.encode()).digest()
                if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != record["challenge"]:
                    self.refused["pkce"] += 1
                    return _json({"error": "invalid_grant", "error_description": "PKCE"}, 400)
                user = record["user"]
            elif grant == "refresh_token":
                user = self._refresh.pop(form.get("refresh_token", ""), None)
                if user is None:
                    self.refused["invalid_grant"] += 1
                    return _json({"error": "invalid_grant"}, 400)
            elif grant == "client_credentials":
                user = f"client:{self.client_id}"
            else:
                return _json({"error": "unsupported_grant_type"}, 400)
            self.grants[grant] += 1
            access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
            self.issued[access] = user
            self._refresh[refresh] = user
        return _json(
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": self.access_token_lifetime,
                "refresh_token": refresh,
            }
        )

    def revoke_refresh_tokens(self) -> None:
        with self._lock:
            self._refresh.clear()


def _json(body, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


class Served:
    """A WSGI app on 127.0.0.1 and a free port, in a thread; stop() shuts it down."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.thread is None:
            return
        self.thread_to_join, self.thread = self.thread, None
        self.server.shutdown()
        self.server.server_close()
        self.thread_to_join.join(timeout=5)
