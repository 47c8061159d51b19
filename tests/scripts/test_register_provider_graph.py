"""The callback URL registered in an Entra app through a recording stand-in for Microsoft Graph.

The stand-in is a werkzeug app on 127.0.0.1: a client-credentials token endpoint and the two
application calls the script makes. It records every request, so the tests assert the PATCH
body (existing redirect URIs kept) and that a second run sends none.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from scripts import register_provider as rp
from tests.scripts.helpers import (
    BINDING_URL,
    CALLBACK,
    PROVIDER,
    REGION,
    WORKLOAD,
    StubbedAws,
    serve,
)

TENANT = "0a1b2c3d-0000-4000-8000-00000000abcd"
EXTERNAL_APP = "11111111-2222-4333-8444-555555555555"
SIGNIN_APP = "66666666-7777-4888-9999-aaaaaaaaaaaa"
MS_CLIENT_ID = "9e8d7c6b-0000-4000-8000-000000000001"
GRAPH_TOKEN = "graph-token-for-tests"
REDIRECT_URI = "https://agents.example.com/oauth2/idpresponse"
KEPT = ["https://jwt.ms", "https://old-stack.example.com/oauth2/callback"]


@dataclass
class GraphStandIn:
    apps: dict[str, list[str]]
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    fail_with: int | None = None

    @property
    def patches(self) -> list[tuple[str, Any]]:
        return [(path, body) for method, path, body in self.requests if method == "PATCH"]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.handle(Request(environ))(environ, start_response)

    def handle(self, request: Request) -> Response:
        body: Any = None
        if request.method == "PATCH":
            body = request.get_json()
        elif request.method == "POST":
            body = dict(request.form)
        self.requests.append((request.method, request.path, body))
        if request.method == "POST" and request.path == f"/{TENANT}/oauth2/v2.0/token":
            if body.get("grant_type") != "client_credentials":
                return Response(status=400)
            return _json({"access_token": GRAPH_TOKEN, "token_type": "Bearer", "expires_in": 60})
        if request.headers.get("Authorization") != f"Bearer {GRAPH_TOKEN}":
            return _json({"error": {"code": "InvalidAuthenticationToken"}}, 401)
        if self.fail_with:
            headers = {"Retry-After": "0"} if self.fail_with == 429 else {}
            return _json({"error": {"code": "Denied"}}, self.fail_with, headers)
        app_id = request.path.rsplit("/", 1)[-1]
        if app_id not in self.apps:
            return _json({"error": {"code": "Request_ResourceNotFound"}}, 404)
        if request.method == "GET":
            return _json({"id": app_id, "web": {"redirectUris": self.apps[app_id]}})
        if request.method == "PATCH":
            self.apps[app_id] = list(body["web"]["redirectUris"])
            return Response(status=204)
        return Response(status=405)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(data), status=status, mimetype="application/json", headers=headers)


@pytest.fixture
def graph() -> Iterator[tuple[GraphStandIn, str]]:
    stand_in = GraphStandIn(apps={EXTERNAL_APP: list(KEPT), SIGNIN_APP: []})
    with serve(stand_in) as url:
        yield stand_in, url


def graph_env() -> dict[str, str]:
    return {
        "GRAPH_TENANT_ID": TENANT,
        "GRAPH_CLIENT_ID": "33333333-0000-4000-8000-000000000000",
        "GRAPH_CLIENT_SECRET": "graph-app-fake-secret",
    }


def ms_args(url: str, *extra: str) -> list[str]:
    return [
        "--region", REGION,
        "--workload-name", WORKLOAD,
        "--session-binding-url", BINDING_URL,
        "--provider-name", PROVIDER,
        "--vendor", "MicrosoftOauth2",
        "--client-id", MS_CLIENT_ID,
        "--tenant-id", TENANT,
        "--entra-app-object-id", EXTERNAL_APP,
        "--graph-url", url,
        "--entra-authority", url,
        *extra,
    ]  # fmt: skip


def plan_microsoft_provider(aws: StubbedAws) -> None:
    aws.workload([BINDING_URL])
    aws.provider(
        vendor="MicrosoftOauth2",
        client_id=MS_CLIENT_ID,
        issuer=f"https://login.microsoftonline.com/{TENANT}/v2.0",
    )


def test_callback_url_is_added_to_the_web_redirect_uris_keeping_the_others(graph, capsys):
    stand_in, url = graph
    with StubbedAws() as aws:
        plan_microsoft_provider(aws)
        assert rp.main(ms_args(url), clients_factory=aws.factory, env=graph_env()) == 0

    assert stand_in.patches == [
        (f"/v1.0/applications/{EXTERNAL_APP}", {"web": {"redirectUris": [*KEPT, CALLBACK]}})
    ]
    token_calls = [b for m, p, b in stand_in.requests if m == "POST"]
    assert token_calls[0]["scope"] == f"{url}/.default"
    out = capsys.readouterr().out
    assert f"callback URL at the external app [Entra app {EXTERNAL_APP}]: updated" in out
    assert "graph-app-fake-secret" not in out


def test_second_run_sends_no_patch(graph, capsys):
    stand_in, url = graph
    stand_in.apps[EXTERNAL_APP] = [*KEPT, CALLBACK]
    with StubbedAws() as aws:
        plan_microsoft_provider(aws)
        assert rp.main(ms_args(url), clients_factory=aws.factory, env=graph_env()) == 0
    assert stand_in.patches == []
    assert f"[Entra app {EXTERNAL_APP}]: unchanged" in capsys.readouterr().out


def test_dry_run_reads_the_app_but_sends_no_patch(graph, capsys):
    stand_in, url = graph
    with StubbedAws() as aws:
        plan_microsoft_provider(aws)
        code = rp.main(ms_args(url, "--dry-run"), clients_factory=aws.factory, env=graph_env())
    assert code == 0
    assert [m for m, _, _ in stand_in.requests] == ["POST", "GET"]
    assert f"[Entra app {EXTERNAL_APP}]: would update" in capsys.readouterr().out


def test_signin_app_gets_the_alb_redirect_uri(graph):
    stand_in, url = graph
    with StubbedAws() as aws:
        plan_microsoft_provider(aws)
        args = ms_args(
            url, "--signin-app-object-id", SIGNIN_APP, "--entra-redirect-uri", REDIRECT_URI
        )
        assert rp.main(args, clients_factory=aws.factory, env=graph_env()) == 0
    assert (f"/v1.0/applications/{SIGNIN_APP}", {"web": {"redirectUris": [REDIRECT_URI]}}) in (
        stand_in.patches
    )


def test_graph_refusal_is_one_line_and_exit_1(graph, capsys):
    stand_in, url = graph
    stand_in.fail_with = 403
    with StubbedAws() as aws:
        plan_microsoft_provider(aws)
        assert rp.main(ms_args(url), clients_factory=aws.factory, env=graph_env()) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"register_provider: GraphError: Graph GET /v1.0/applications/{EXTERNAL_APP}?$select=web"
        " answered 403 (Denied)"
    ]
    assert stand_in.patches == []


def test_graph_throttling_is_retried_a_bounded_number_of_times(graph, capsys, monkeypatch):
    monkeypatch.setattr(rp, "GRAPH_BACKOFF_FACTOR", 0)  # count the attempts, skip the waits
    stand_in, url = graph
    stand_in.fail_with = 429
    with StubbedAws() as aws:
        plan_microsoft_provider(aws)
        assert rp.main(ms_args(url), clients_factory=aws.factory, env=graph_env()) == 1
    gets = [p for m, p, _ in stand_in.requests if m == "GET"]
    assert len(gets) == 1 + rp.GRAPH_RETRIES
    assert "answered 429" in capsys.readouterr().err


def test_without_graph_credentials_the_flag_is_a_usage_error(graph, capsys):
    _, url = graph
    with StubbedAws() as aws:
        assert rp.main(ms_args(url), clients_factory=aws.factory, env={}) == 2
        assert aws.calls == []
    assert "--entra-app-object-id needs Graph credentials" in capsys.readouterr().err


def test_without_the_flag_the_script_prints_where_to_register(capsys):
    with StubbedAws() as aws:
        plan_microsoft_provider(aws)
        args = ms_args("https://graph.microsoft.com")
        i = args.index("--entra-app-object-id")
        del args[i : i + 2]
        assert rp.main(args, clients_factory=aws.factory, env={}) == 0
    out = capsys.readouterr().out
    assert f"Authentication > Web > add redirect URI {CALLBACK}" in out


def test_a_ready_made_access_token_skips_the_token_endpoint(graph):
    stand_in, url = graph
    with StubbedAws() as aws:
        plan_microsoft_provider(aws)
        env = {"GRAPH_ACCESS_TOKEN": GRAPH_TOKEN}
        assert rp.main(ms_args(url), clients_factory=aws.factory, env=env) == 0
    assert [m for m, _, _ in stand_in.requests] == ["GET", "PATCH"]


def test_tenant_change_is_detected_from_the_issuer(graph, capsys, monkeypatch):
    monkeypatch.setenv("MS_CLIENT_SECRET", "fake-ms-secret")
    stand_in, url = graph
    stand_in.apps[EXTERNAL_APP] = [CALLBACK]
    with StubbedAws() as aws:
        aws.workload([BINDING_URL])
        aws.provider(
            vendor="MicrosoftOauth2",
            client_id=MS_CLIENT_ID,
            issuer="https://login.microsoftonline.com/another-tenant/v2.0",
        )
        args = ms_args(url, "--dry-run", "--client-secret-env", "MS_CLIENT_SECRET")
        code = rp.main(args, clients_factory=aws.factory, env=graph_env())
    assert code == 0
    assert "would update - changed: tenant id" in capsys.readouterr().out


def test_microsoft_update_without_the_tenant_is_refused_so_it_is_not_lost(capsys, monkeypatch):
    monkeypatch.setenv("MS_CLIENT_SECRET", "fake-ms-secret")
    with StubbedAws() as aws:
        aws.workload([BINDING_URL])
        aws.provider(
            vendor="MicrosoftOauth2",
            client_id="old-client-id",
            issuer=f"https://login.microsoftonline.com/{TENANT}/v2.0",
        )
        args = ms_args("https://graph.microsoft.com", "--client-secret-env", "MS_CLIENT_SECRET")
        i = args.index("--tenant-id")
        del args[i : i + 2]
        i = args.index("--entra-app-object-id")
        del args[i : i + 2]
        assert rp.main(args, clients_factory=aws.factory, env={}) == 2
    assert f"credential provider {PROVIDER!r} needs an update: give --tenant-id" in (
        capsys.readouterr().err
    )
    assert "UpdateOauth2CredentialProvider" not in aws.calls
