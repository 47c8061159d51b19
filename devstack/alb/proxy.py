"""The ALB emulator: a listener with ordered rules, OIDC sign-in and a reverse proxy.

What it reproduces of an Application Load Balancer's `authenticate-oidc` action, because the
containers' security depends on it:

- any `x-amzn-oidc-*` header a client sends is dropped before forwarding;
- a request without a valid session is redirected to the IdP (`authenticate`), refused with 401
  (`deny`) or forwarded without identity headers (`allow`);
- `/oauth2/idpresponse` checks `state` against the browser's nonce cookie, exchanges the code at
  the token endpoint, checks the ID token's `nonce`, `iss`, `aud` and `exp`, and fetches user info;
- user info claims over 11 KB make the ALB answer 500;
- the session lives in encrypted `AWSELBAuthSessionCookie-N` shards;
- every forwarded request carries `x-amzn-oidc-accesstoken`, `x-amzn-oidc-identity` and an
  ES256-signed `x-amzn-oidc-data` (see signing.py), and an `X-Amzn-Trace-Id`.

Known differences: the ALB itself has no logout path (applications expire the cookies); this one
offers `logout_path` so the demo can sign out. The ID token's signature is not checked: the token
comes straight from the token endpoint, which OpenID Connect Core 3.1.3.7 allows to stand in for
the signature check, and the ALB's configuration has no JWKS URL either. The header token's
lifetime (`data_token_ttl_seconds`, default 120 s) is our choice: AWS does not document it.
"""

from __future__ import annotations

import base64
import hmac
import http.client
import json
import logging
import secrets
import time
from collections.abc import Iterator
from urllib.parse import quote, urlencode, urlsplit

import requests
from werkzeug.wrappers import Request, Response

from devstack.alb.config import AlbConfig, AuthenticateOidc, Rule
from devstack.alb.session import (
    MAX_SHARDS,
    NONCE_COOKIE,
    CookieBox,
    SessionTooLarge,
    expire_cookies,
    nonce_set_cookie,
    read_session,
    session_set_cookies,
)
from devstack.alb.signing import SigningKey, mint_oidc_data

log = logging.getLogger("devstack.alb")

IDP_RESPONSE_PATH = "/oauth2/idpresponse"
MAX_CLAIMS_BYTES = 11 * 1024
LOGIN_WINDOW_SECONDS = 600
IDP_TIMEOUT_SECONDS = 10
UPSTREAM_TIMEOUT_SECONDS = 60
CHUNK_BYTES = 64 * 1024
# RFC 9110 7.6.1: connection-specific headers are not forwarded by a proxy.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}


def trace_id() -> str:
    """`Root=1-<epoch seconds, 8 hex>-<96 random bits, 24 hex>`, the ALB's format."""
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"


def _raw_target(request: Request) -> str:
    """The request target as the client sent it: percent-encoding kept, so %2F stays %2F."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw and raw.startswith("/"):
        return raw
    query = request.query_string.decode("latin-1")
    return quote(request.path) + (f"?{query}" if query else "")


def _text(status: int, body: str, headers: list[tuple[str, str]] | None = None) -> Response:
    response = Response(body + "\n", status=status, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    for name, value in headers or []:
        response.headers.add(name, value)
    return response


class AlbEmulator:
    """The listener on the application port, as a WSGI application."""

    def __init__(self, config: AlbConfig, *, key: SigningKey | None = None):
        self.config = config
        self.key = key or SigningKey()
        self.box = CookieBox()

    # -- WSGI entry --------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except Exception:
            log.exception("alb: internal error on %s %s", request.method, request.path)
            response = _text(500, "<h1>500 Internal Server Error</h1>")
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        path = request.path
        if path == IDP_RESPONSE_PATH:
            return self.idp_response(request)
        if path == self.config.logout_path:
            return self.logout(request)
        rule = self.config.match(path)
        if rule is None:
            # The listener's default action.
            return _text(404, "<h1>404 Not Found</h1>")
        identity: dict | None = None
        if rule.authenticate is not None:
            auth = rule.authenticate
            identity = read_session(self.box, request.cookies, auth.session_cookie_name)
            # A session made for another IdP client (another rule's action) does not count here.
            if identity is not None and identity.get("client") != [auth.issuer, auth.client_id]:
                identity = None
            if identity is None:
                if auth.on_unauthenticated_request == "deny":
                    return _text(401, "<h1>401 Authorization Required</h1>")
                if auth.on_unauthenticated_request == "authenticate":
                    return self.start_login(request, rule)
        headers = self.upstream_headers(request, rule, identity)
        return self.forward(request, rule, headers)

    # -- sign-in -----------------------------------------------------------------------------

    def _secure(self, request: Request) -> bool:
        return request.scheme == "https"

    def _redirect_uri(self, request: Request) -> str:
        return f"{request.scheme}://{request.host}{IDP_RESPONSE_PATH}"

    def start_login(self, request: Request, rule: Rule) -> Response:
        auth = rule.authenticate
        state = secrets.token_urlsafe(32)
        nonce = secrets.token_urlsafe(32)
        return_to = _raw_target(request)
        pending = {
            "state": state,
            "nonce": nonce,
            "return_to": return_to,
            "priority": rule.priority,
            "exp": int(time.time()) + LOGIN_WINDOW_SECONDS,
        }
        query = urlencode(
            {
                "client_id": auth.client_id,
                "redirect_uri": self._redirect_uri(request),
                "response_type": "code",
                "scope": auth.scope,
                "state": state,
                "nonce": nonce,
            }
        )
        separator = "&" if "?" in auth.authorization_endpoint else "?"
        response = _text(302, "<h1>302 Found</h1>")
        response.headers["Location"] = f"{auth.authorization_endpoint}{separator}{query}"
        response.headers.add(
            "Set-Cookie",
            nonce_set_cookie(
                self.box, pending, max_age=LOGIN_WINDOW_SECONDS, secure=self._secure(request)
            ),
        )
        return response

    def idp_response(self, request: Request) -> Response:
        pending_token = request.cookies.get(NONCE_COOKIE)
        pending = self.box.open(NONCE_COOKIE, pending_token) if pending_token else None
        state = request.args.get("state", "")
        # Login CSRF: the code must come back to the browser that started this sign-in.
        if pending is None or not hmac.compare_digest(
            state.encode(), str(pending.get("state", "")).encode()
        ):
            return _text(
                401, "<h1>401 Authorization Required</h1><p>Sign-in state does not match.</p>"
            )
        rule = next((r for r in self.config.rules if r.priority == pending.get("priority")), None)
        if rule is None or rule.authenticate is None:
            return _text(401, "<h1>401 Authorization Required</h1>")
        auth = rule.authenticate
        if "error" in request.args or "code" not in request.args:
            # The IdP refused (the user cancelled, say); the ALB answers 401.
            return _text(401, "<h1>401 Authorization Required</h1>")

        try:
            tokens = self.exchange_code(auth, request.args["code"], self._redirect_uri(request))
            claims = self.check_id_token(auth, tokens.get("id_token"), pending["nonce"])
            userinfo = self.fetch_userinfo(auth, tokens["access_token"])
        except (requests.RequestException, ValueError, KeyError) as exc:
            log.warning("alb: sign-in failed: %s", type(exc).__name__)
            return _text(401, "<h1>401 Authorization Required</h1>")
        # OpenID Connect Core 5.3.2: user info is only about the ID token's subject.
        if userinfo.get("sub") != claims.get("sub"):
            log.warning("alb: user info subject differs from the ID token's")
            return _text(401, "<h1>401 Authorization Required</h1>")
        if (
            len(json.dumps(userinfo, separators=(",", ":"), ensure_ascii=False).encode())
            > MAX_CLAIMS_BYTES
        ):
            # The ALB's documented limit; it answers 500 to the browser.
            return _text(500, "<h1>500 Internal Server Error</h1>")

        session = {
            "claims": userinfo,
            "access_token": tokens["access_token"],
            "client": [auth.issuer, auth.client_id],
            "exp": int(time.time()) + auth.session_timeout,
        }
        secure = self._secure(request)
        try:
            cookies = session_set_cookies(
                self.box,
                auth.session_cookie_name,
                session,
                max_age=auth.session_timeout,
                secure=secure,
            )
        except SessionTooLarge:
            return _text(500, "<h1>500 Internal Server Error</h1>")
        response = _text(302, "<h1>302 Found</h1>")
        return_to = pending.get("return_to") or "/"
        # Only ever a path on this listener: never an absolute URL from anywhere.
        if not return_to.startswith("/") or return_to.startswith("//"):
            return_to = "/"
        response.headers["Location"] = return_to
        for cookie in cookies + expire_cookies([NONCE_COOKIE], secure=secure):
            response.headers.add("Set-Cookie", cookie)
        return response

    def exchange_code(self, auth: AuthenticateOidc, code: str, redirect_uri: str) -> dict:
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        kwargs = {}
        if auth.token_endpoint_auth_method == "client_secret_basic":
            kwargs["auth"] = (auth.client_id, auth.client_secret)
        else:
            data |= {"client_id": auth.client_id, "client_secret": auth.client_secret}
        response = requests.post(
            auth.token_endpoint,
            data=data,
            headers={"Accept": "application/json"},
            timeout=IDP_TIMEOUT_SECONDS,
            **kwargs,
        )
        if response.status_code != 200:
            raise ValueError(f"token endpoint answered {response.status_code}")
        tokens = response.json()
        if not isinstance(tokens.get("access_token"), str):
            raise ValueError("token response without an access token")
        return tokens

    def check_id_token(self, auth: AuthenticateOidc, id_token: str | None, nonce: str) -> dict:
        if not isinstance(id_token, str) or id_token.count(".") != 2:
            raise ValueError("token response without an ID token")
        segment = id_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if claims.get("iss") != auth.issuer:
            raise ValueError("ID token from another issuer")
        if auth.client_id not in audiences:
            raise ValueError("ID token for another client")
        if not isinstance(claims.get("exp"), int) or claims["exp"] < time.time() - 60:
            raise ValueError("ID token expired")
        # Replay: the nonce ties this ID token to the sign-in this browser started.
        if not hmac.compare_digest(str(claims.get("nonce", "")).encode(), nonce.encode()):
            raise ValueError("ID token nonce mismatch")
        return claims

    def fetch_userinfo(self, auth: AuthenticateOidc, access_token: str) -> dict:
        response = requests.get(
            auth.user_info_endpoint,
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
            timeout=IDP_TIMEOUT_SECONDS,
        )
        if response.status_code != 200:
            raise ValueError(f"user info endpoint answered {response.status_code}")
        claims = response.json()
        if not isinstance(claims, dict) or not isinstance(claims.get("sub"), str):
            raise ValueError("user info without sub")
        return claims

    def logout(self, request: Request) -> Response:
        bases = {r.authenticate.session_cookie_name for r in self.config.rules if r.authenticate}
        names = {NONCE_COOKIE} | {f"{base}-{i}" for base in bases for i in range(MAX_SHARDS)}
        # Any other shard the browser sends goes too.
        names |= {name for name in request.cookies if any(name.startswith(f"{b}-") for b in bases)}
        if self.config.logout_redirect_url:
            response = _text(302, "<h1>302 Found</h1>")
            response.headers["Location"] = self.config.logout_redirect_url
        else:
            response = _text(200, '<h1>Signed out</h1><p><a href="/">Sign in again</a></p>')
        for cookie in expire_cookies(sorted(names), secure=self._secure(request)):
            response.headers.add("Set-Cookie", cookie)
        return response

    # -- forwarding --------------------------------------------------------------------------

    def upstream_headers(
        self, request: Request, rule: Rule, identity: dict | None
    ) -> list[tuple[str, str]]:
        headers: list[tuple[str, str]] = []
        for name, value in request.headers.items():
            lowered = name.lower()
            # A client's own x-amzn-oidc-* headers would otherwise pass as the ALB's.
            if lowered.startswith("x-amzn-oidc-") or lowered in HOP_BY_HOP:
                continue
            if lowered in (
                "content-length",
                "x-forwarded-for",
                "x-forwarded-proto",
                "x-forwarded-port",
            ):
                continue
            headers.append((name, value))
        if request.content_length is not None:
            headers.append(("Content-Length", str(request.content_length)))
        client_ip = request.remote_addr or "127.0.0.1"
        forwarded_for = request.headers.get("X-Forwarded-For")
        headers.append(
            ("X-Forwarded-For", f"{forwarded_for}, {client_ip}" if forwarded_for else client_ip)
        )
        headers.append(("X-Forwarded-Proto", request.scheme))
        headers.append(("X-Forwarded-Port", str(self.config.port)))
        if not request.headers.get("X-Amzn-Trace-Id"):
            headers.append(("X-Amzn-Trace-Id", trace_id()))
        if identity is not None and rule.authenticate is not None:
            claims = identity["claims"]
            headers.append(("x-amzn-oidc-accesstoken", identity["access_token"]))
            headers.append(("x-amzn-oidc-identity", claims["sub"]))
            headers.append(
                (
                    "x-amzn-oidc-data",
                    mint_oidc_data(
                        claims,
                        private_key=self.key.private_key,
                        kid=self.key.kid,
                        signer=self.config.alb_arn,
                        issuer=rule.authenticate.issuer,
                        client_id=rule.authenticate.client_id,
                        expires_at=int(time.time()) + self.config.data_token_ttl_seconds,
                    ),
                )
            )
        return headers

    def forward(self, request: Request, rule: Rule, headers: list[tuple[str, str]]) -> Response:
        target = urlsplit(rule.target)
        connection_class = (
            http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_class(
            target.hostname, target.port, timeout=UPSTREAM_TIMEOUT_SECONDS
        )
        path = f"{target.path}{_raw_target(request)}"
        chunked = (
            request.content_length is None
            and request.headers.get("Transfer-Encoding", "").lower() == "chunked"
        )
        try:
            connection.putrequest(request.method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                connection.putheader(name, value)
            if chunked:
                connection.putheader("Transfer-Encoding", "chunked")
            connection.endheaders()
            self._send_body(connection, request, chunked)
            upstream = connection.getresponse()
        except OSError as exc:
            connection.close()
            log.warning("alb: target %s unreachable: %s", rule.target, type(exc).__name__)
            # The ALB answers 502 when the target refuses or resets, 504 on a timeout.
            status = 504 if isinstance(exc, TimeoutError) else 502
            return _text(
                status, f"<h1>{status} {'Gateway Timeout' if status == 504 else 'Bad Gateway'}</h1>"
            )

        response = Response(
            _stream(upstream, connection), status=upstream.status, direct_passthrough=True
        )
        response.headers.clear()
        for name, value in upstream.getheaders():
            if name.lower() in HOP_BY_HOP:
                continue
            # Set-Cookie, Location and the rest pass unchanged, duplicates included.
            response.headers.add(name, value)
        return response

    def _send_body(
        self, connection: http.client.HTTPConnection, request: Request, chunked: bool
    ) -> None:
        stream = request.stream
        remaining = request.content_length
        while remaining is None or remaining > 0:
            chunk = stream.read(CHUNK_BYTES if remaining is None else min(CHUNK_BYTES, remaining))
            if not chunk:
                break
            if remaining is not None:
                remaining -= len(chunk)
            if chunked:
                connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            else:
                connection.send(chunk)
        if chunked:
            connection.send(b"0\r\n\r\n")


def _stream(
    upstream: http.client.HTTPResponse, connection: http.client.HTTPConnection
) -> Iterator[bytes]:
    try:
        while True:
            chunk = upstream.read1(CHUNK_BYTES)
            if not chunk:
                break
            yield chunk
    finally:
        upstream.close()
        connection.close()


class KeyEndpoint:
    """The regional public key endpoint: GET /<kid> answers the PEM of that key."""

    def __init__(self, key: SigningKey):
        self.key = key

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.method == "GET" and request.path == f"/{self.key.kid}":
            response = Response(self.key.public_pem(), content_type="application/x-pem-file")
        else:
            response = Response("not found\n", status=404, content_type="text/plain")
        return response(environ, start_response)
