"""Fixtures for the identity provider, ALB emulator and external API tests.

Everything runs for real on 127.0.0.1 with free ports: the Node identity provider as a child
process, the ALB emulator and the external API on threaded HTTP servers, and each "browser" is
its own requests.Session (one cookie jar). Fixture names carry the idp_/alb_/extapi_ prefixes
so they don't clash with the AgentCore emulator's fixtures in this folder.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import socket
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from werkzeug.wrappers import Request, Response

from devstack.alb.config import parse as parse_alb_config
from devstack.alb.proxy import AlbEmulator, KeyEndpoint
from devstack.alb.server import start
from devstack.external_api.app import config_from_stack, create_app

REPO = Path(__file__).resolve().parents[2]
IDP_DIR = REPO / "devstack" / "idp"
STACK_CONFIG = REPO / "devstack" / "config.json"
START_TIMEOUT_SECONDS = 20
GITHUB_CLIENT_CALLBACK_PATH = "/identities/oauth2/callback/5f0b3c1e-test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on port {port}")


# -- the stack's config, moved to free ports ---------------------------------------------------


def _stack_config(access_token_ttl_seconds: int = 300) -> dict:
    """devstack/config.json with every port replaced by a free one, URLs following."""
    config = json.loads(STACK_CONFIG.read_text(encoding="utf-8"))
    ports = {"idp": _free_port(), "as": _free_port(), "alb": _free_port(), "keys": _free_port()}
    ports["api"] = _free_port()
    tenant = config["idp"]["tenant_id"]
    issuer = f"http://127.0.0.1:{ports['idp']}/{tenant}/v2.0"
    config["idp"]["port"] = ports["idp"]
    config["idp"]["clients"][0]["redirect_uris"] = [
        f"http://127.0.0.1:{ports['alb']}/oauth2/idpresponse"
    ]
    config["external_as"]["port"] = ports["as"]
    config["external_as"]["resource"] = f"http://127.0.0.1:{ports['api']}"
    config["external_as"]["access_token_ttl_seconds"] = access_token_ttl_seconds
    config["external_api"]["port"] = ports["api"]
    config["external_api"]["introspection_endpoint"] = (
        f"http://127.0.0.1:{ports['as']}/token/introspection"
    )
    alb = config["alb"]
    alb["port"] = ports["alb"]
    alb["key_endpoint_port"] = ports["keys"]
    entra = alb["authenticate_oidc"]["entra"]
    entra["issuer"] = issuer
    entra["authorization_endpoint"] = f"{issuer}/oauth2/authorize"
    entra["token_endpoint"] = f"{issuer}/oauth2/token"
    entra["user_info_endpoint"] = f"{issuer}/oidc/userinfo"
    alb["logout_redirect_url"] = f"{issuer}/oauth2/logout"
    return config


class IdpProcess:
    """The Node identity provider (both instances) started from a config file."""

    def __init__(self, config: dict, tmp_path: Path):
        self.config = config
        self.config_file = tmp_path / f"stack-{config['idp']['port']}.json"
        self.config_file.write_text(json.dumps(config), encoding="utf-8")
        self.log_file = tmp_path / f"idp-{config['idp']['port']}.log"
        node = shutil.which("node")
        if node is None:
            pytest.fail("node is not installed; the identity provider needs Node.js 20 or newer")
        if not (IDP_DIR / "node_modules" / "oidc-provider").is_dir():
            pytest.fail("devstack/idp has no node_modules: run `npm ci` in devstack/idp")
        self._log = self.log_file.open("wb")
        self.process = subprocess.Popen(
            [node, str(IDP_DIR / "server.mjs"), "--config", str(self.config_file)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=IDP_DIR,
        )
        try:
            _wait_for_port(config["idp"]["port"], self.process)
            _wait_for_port(config["external_as"]["port"], self.process)
        except RuntimeError:
            self.stop()
            raise RuntimeError(f"idp did not start:\n{self.log()}") from None

    @property
    def entra_issuer(self) -> str:
        return self.config["alb"]["authenticate_oidc"]["entra"]["issuer"]

    @property
    def as_url(self) -> str:
        return f"http://127.0.0.1:{self.config['external_as']['port']}"

    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._log.close()


@pytest.fixture(scope="session")
def idp_tmp(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("idp")


@pytest.fixture(scope="session")
def idp_stack_config() -> dict:
    return _stack_config()


@pytest.fixture(scope="session")
def idp_server(idp_stack_config, idp_tmp):
    server = IdpProcess(idp_stack_config, idp_tmp)
    yield server
    server.stop()


@pytest.fixture
def idp_short_ttl_server(idp_tmp):
    """A second provider process whose access tokens live 2 seconds."""
    server = IdpProcess(_stack_config(access_token_ttl_seconds=2), idp_tmp)
    yield server
    server.stop()


# -- browsers and forms ------------------------------------------------------------------------


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action", ""), "inputs": {}})
        elif tag == "input" and self.forms and attrs.get("name"):
            self.forms[-1]["inputs"][attrs["name"]] = attrs.get("value") or ""


def idp_forms(response: requests.Response) -> list[dict]:
    parser = _Forms()
    parser.feed(response.text)
    for form in parser.forms:
        form["action"] = urljoin(response.url, form["action"])
    return parser.forms


def idp_submit(
    browser: requests.Session, response: requests.Response, action_suffix: str, **fields
):
    """Submit the page's form whose action ends with action_suffix, redirects not followed."""
    form = next(f for f in idp_forms(response) if f["action"].endswith(action_suffix))
    return browser.post(form["action"], data={**form["inputs"], **fields}, allow_redirects=False)


def idp_follow(
    browser: requests.Session, response: requests.Response, stop_prefix: str | None = None
):
    """Follow redirects by hand, stopping before any Location that starts with stop_prefix."""
    for _ in range(20):
        if response.status_code not in (301, 302, 303, 307, 308):
            return response
        location = urljoin(response.url, response.headers["Location"])
        if stop_prefix and location.startswith(stop_prefix):
            return response
        response = browser.get(location, allow_redirects=False)
    raise AssertionError("too many redirects")


@pytest.fixture(name="idp_submit")
def idp_submit_fixture():
    return idp_submit


@pytest.fixture(name="idp_follow")
def idp_follow_fixture():
    return idp_follow


def user_password(user: str) -> str:
    return json.loads(STACK_CONFIG.read_text(encoding="utf-8"))["users"][user]["password"]


@pytest.fixture
def idp_password():
    return user_password


# -- the external AS as AgentCore uses it ------------------------------------------------------


class ExternalAsClient:
    """Drives the external authorization server the way the AgentCore emulator does."""

    def __init__(self, server: IdpProcess):
        self.server = server
        client = server.config["external_as"]["clients"][0]
        self.client_id = client["client_id"]
        self.client_secret = client["client_secret"]
        self.callback = f"http://127.0.0.1:8700{GITHUB_CLIENT_CALLBACK_PATH}"
        response = requests.post(
            f"{server.as_url}/_admin/clients/{self.client_id}/redirect_uris",
            json={"redirect_uri": self.callback},
            headers={"Authorization": f"Bearer {server.config['external_as']['admin_token']}"},
            timeout=5,
        )
        assert response.status_code in (200, 201), response.text

    def authorize(self, browser: requests.Session, user: str, scope: str, *, consent=True):
        """Sign in as user, consent (or cancel) and return the query of the callback redirect."""
        response = browser.get(
            f"{self.server.as_url}/login/oauth/authorize",
            params={
                "client_id": self.client_id,
                "redirect_uri": self.callback,
                "response_type": "code",
                "scope": scope,
                "state": "state-123",
            },
            allow_redirects=False,
        )
        response = idp_follow(browser, response, self.callback)
        if (
            response.status_code == 200
            and idp_forms(response)
            and "login" in idp_forms(response)[0]["action"]
        ):
            response = idp_submit(
                browser, response, "/login", username=user, password=user_password(user)
            )
            response = idp_follow(browser, response, self.callback)
        if response.status_code == 200:
            assert "Authorize" in response.text, response.text
            response = idp_submit(browser, response, "/consent" if consent else "/deny")
            response = idp_follow(browser, response, self.callback)
        assert response.status_code in (302, 303), response.text
        location = response.headers["Location"]
        assert location.startswith(self.callback)
        from urllib.parse import parse_qs

        return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}

    def token(self, **data) -> requests.Response:
        return requests.post(
            f"{self.server.as_url}/login/oauth/access_token",
            data={"client_id": self.client_id, "client_secret": self.client_secret, **data},
            headers={"Accept": "application/json"},
            timeout=5,
        )

    def tokens_for(self, user: str, scope: str) -> dict:
        browser = requests.Session()
        query = self.authorize(browser, user, scope)
        response = self.token(
            grant_type="authorization_code", code=query["code"], redirect_uri=self.callback
        )
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def extapi_as(idp_server) -> ExternalAsClient:
    return ExternalAsClient(idp_server)


class ExternalApi:
    def __init__(self, config: dict):
        self.config = config
        self.server, _ = start(
            create_app(config_from_stack(config)), "127.0.0.1", config["external_api"]["port"]
        )
        self.url = f"http://127.0.0.1:{config['external_api']['port']}"

    def get(self, path: str, token: str | None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.get(f"{self.url}{path}", headers=headers, timeout=10)


@pytest.fixture(scope="session")
def extapi_server(idp_server):
    api = ExternalApi(idp_server.config)
    yield api
    api.server.shutdown()


@pytest.fixture
def extapi_short_ttl(idp_short_ttl_server):
    """(external AS client, external API) whose access tokens live 2 seconds."""
    api = ExternalApi(idp_short_ttl_server.config)
    yield ExternalAsClient(idp_short_ttl_server), api
    api.server.shutdown()


# -- the ALB emulator in front of an echo upstream ---------------------------------------------


def _echo_app(environ, start_response):
    request = Request(environ)
    if request.path == "/api/set-cookies":
        response = Response("ok", status=302)
        response.headers.add("Set-Cookie", "app_a=1; Path=/; HttpOnly")
        response.headers.add("Set-Cookie", "app_b=2; Path=/api")
        response.headers["Location"] = "/api/after?x=1"
        return response(environ, start_response)
    if request.path == "/api/stream":

        def chunks():
            for index in range(50):
                yield (f"{index:04d}" * 256).encode()

        return Response(chunks(), content_type="application/octet-stream")(environ, start_response)
    body = request.get_data()
    # The raw header bytes as received: WSGI hands them over as latin-1 strings.
    headers = [[name, value] for name, value in request.headers.items()]
    echo = {
        "method": request.method,
        "path": request.path,
        "query": request.query_string.decode("latin-1"),
        "raw_uri": environ.get("RAW_URI"),
        "headers": headers,
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "body_length": len(body),
    }
    return Response(json.dumps(echo), content_type="application/json")(environ, start_response)


@pytest.fixture(scope="session")
def alb_upstream():
    port = _free_port()
    server, _ = start(_echo_app, "127.0.0.1", port)
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


def alb_config_for(stack: dict, upstream: str, **auth_overrides) -> dict:
    """The stack's ALB section with every rule forwarding to the echo upstream."""
    alb = copy.deepcopy(stack["alb"])
    alb["authenticate_oidc"]["entra"].update(auth_overrides)
    alb["rules"] = [
        {
            "priority": 5,
            "path_patterns": ["/public/*"],
            "actions": [{"type": "forward", "target": upstream}],
        },
        {
            "priority": 4,
            "path_patterns": ["/dead/*"],
            "actions": [{"type": "forward", "target": f"http://127.0.0.1:{_free_port()}"}],
        },
        {
            "priority": 6,
            "path_patterns": ["/api/allow/*"],
            "actions": [
                {
                    "type": "authenticate-oidc",
                    "authenticate_oidc": {
                        **alb["authenticate_oidc"]["entra"],
                        "on_unauthenticated_request": "allow",
                    },
                },
                {"type": "forward", "target": upstream},
            ],
        },
        {
            "priority": 7,
            "path_patterns": ["/api/deny/*"],
            "actions": [
                {
                    "type": "authenticate-oidc",
                    "authenticate_oidc": {
                        **alb["authenticate_oidc"]["entra"],
                        "on_unauthenticated_request": "deny",
                    },
                },
                {"type": "forward", "target": upstream},
            ],
        },
        {
            "priority": 10,
            "path_patterns": ["/", "/api/*"],
            "actions": [
                {"type": "authenticate-oidc", "authenticate_oidc": "entra"},
                {"type": "forward", "target": upstream},
            ],
        },
    ]
    return alb


class RunningAlb:
    def __init__(self, raw: dict):
        self.config = parse_alb_config(raw)
        self.emulator = AlbEmulator(self.config)
        self.listener, _ = start(self.emulator, "127.0.0.1", self.config.port)
        self.keys, _ = start(
            KeyEndpoint(self.emulator.key), "127.0.0.1", self.config.key_endpoint_port
        )
        self.url = f"http://127.0.0.1:{self.config.port}"
        self.key_url = f"http://127.0.0.1:{self.config.key_endpoint_port}"

    def stop(self):
        self.listener.shutdown()
        self.keys.shutdown()
        self.listener.server_close()
        self.keys.server_close()


@pytest.fixture(scope="session")
def alb_server(idp_server, alb_upstream):
    alb = RunningAlb(alb_config_for(idp_server.config, alb_upstream))
    yield alb
    alb.stop()


def sign_in_through(alb: RunningAlb, idp: IdpProcess):
    """sign_in(browser, user, path="/api/whoami") -> the echo upstream's answer after sign-in."""

    def sign_in(browser: requests.Session, user: str, path: str = "/api/whoami", **request_kwargs):
        response = browser.get(f"{alb.url}{path}", allow_redirects=False, **request_kwargs)
        assert response.status_code == 302, response.text
        assert response.headers["Location"].startswith(idp.entra_issuer)
        response = idp_follow(browser, response)
        assert response.status_code == 200 and "Sign in" in response.text, response.text
        response = idp_submit(
            browser, response, "/login", username=user, password=user_password(user)
        )
        return idp_follow(browser, response)

    return sign_in


@pytest.fixture
def alb_sign_in(alb_server, idp_server):
    return sign_in_through(alb_server, idp_server)


@pytest.fixture
def alb_isolated_stack(idp_tmp, alb_upstream):
    """start(change_config, **auth_overrides) -> (idp, alb, sign_in) of a stack of its own,
    for tests that need users or settings the shared stack doesn't have."""
    started = []

    def start_stack(change_config=None, **auth_overrides):
        config = _stack_config()
        if change_config:
            change_config(config)
        idp = IdpProcess(config, idp_tmp)
        started.append(idp)
        alb = RunningAlb(alb_config_for(config, alb_upstream, **auth_overrides))
        started.append(alb)
        return idp, alb, sign_in_through(alb, idp)

    yield start_stack
    for item in reversed(started):
        item.stop()


os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
