"""The external authorization server: consent, redirect URI registration, refresh tokens."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]


def _admin(idp_server, client_id: str, body, token: str | None = "default"):
    if token == "default":
        token = idp_server.config["external_as"]["admin_token"]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(
        f"{idp_server.as_url}/_admin/clients/{client_id}/redirect_uris",
        data=body if isinstance(body, str) else json.dumps(body),
        headers=headers,
        timeout=5,
    )


def test_consent_screen_names_the_scopes_and_the_signed_in_user(
    extapi_as, idp_follow, idp_submit, idp_password
):
    browser = requests.Session()
    response = browser.get(
        f"{extapi_as.server.as_url}/login/oauth/authorize",
        params={
            "client_id": extapi_as.client_id,
            "redirect_uri": extapi_as.callback,
            "response_type": "code",
            "scope": "repo read:user",
            "state": "s1",
        },
        allow_redirects=False,
    )
    login = idp_follow(browser, response)
    consent = idp_follow(
        browser,
        idp_submit(browser, login, "/login", username="mallory", password=idp_password("mallory")),
    )

    assert consent.status_code == 200
    assert "Signed in as <strong>mallory</strong>" in consent.text
    assert "<code>repo</code>" in consent.text and "<code>read:user</code>" in consent.text
    assert consent.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in consent.headers["Content-Security-Policy"]


def test_cancelled_consent_sends_access_denied_to_the_callback(extapi_as):
    query = extapi_as.authorize(requests.Session(), "bob", "repo", consent=False)

    assert query["error"] == "access_denied"
    assert "code" not in query
    assert query["state"] == "state-123"


def test_code_is_bound_to_its_client_and_single_use(extapi_as):
    query = extapi_as.authorize(requests.Session(), "alice", "repo read:user")

    first = extapi_as.token(
        grant_type="authorization_code", code=query["code"], redirect_uri=extapi_as.callback
    )
    replay = extapi_as.token(
        grant_type="authorization_code", code=query["code"], redirect_uri=extapi_as.callback
    )

    assert first.status_code == 200
    assert {"access_token", "refresh_token", "expires_in", "scope"} <= set(first.json())
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"


def test_unregistered_redirect_uri_never_receives_a_code(extapi_as):
    browser = requests.Session()
    response = browser.get(
        f"{extapi_as.server.as_url}/login/oauth/authorize",
        params={
            "client_id": extapi_as.client_id,
            "redirect_uri": "http://127.0.0.1:9999/steal",
            "response_type": "code",
            "scope": "repo",
        },
        allow_redirects=False,
    )

    assert response.status_code == 400
    assert "Location" not in response.headers


def test_admin_adds_a_redirect_uri_that_then_works(idp_server, extapi_as):
    callback = (
        "http://127.0.0.1:8700/identities/oauth2/callback/11111111-2222-3333-4444-555555555555"
    )

    added = _admin(idp_server, extapi_as.client_id, {"redirect_uri": callback})
    again = _admin(idp_server, extapi_as.client_id, {"redirect_uri": callback})

    assert added.status_code == 201
    assert callback in added.json()["redirect_uris"]
    assert again.status_code == 200
    assert again.json()["redirect_uris"].count(callback) == 1
    browser = requests.Session()
    response = browser.get(
        f"{idp_server.as_url}/login/oauth/authorize",
        params={
            "client_id": extapi_as.client_id,
            "redirect_uri": callback,
            "response_type": "code",
            "scope": "repo",
        },
        allow_redirects=False,
    )
    assert response.status_code == 303
    assert "/interaction/" in response.headers["Location"]


def test_admin_refuses_without_the_token_and_bad_input_changes_nothing(idp_server, extapi_as):
    before = _admin(idp_server, extapi_as.client_id, {"redirect_uri": extapi_as.callback}).json()[
        "redirect_uris"
    ]

    assert (
        _admin(
            idp_server, extapi_as.client_id, {"redirect_uri": "http://x/"}, token=None
        ).status_code
        == 401
    )
    assert (
        _admin(
            idp_server, extapi_as.client_id, {"redirect_uri": "http://x/"}, token="wrong"
        ).status_code
        == 401
    )
    assert _admin(idp_server, extapi_as.client_id, "not json").status_code == 400
    assert _admin(idp_server, extapi_as.client_id, {"redirect_uri": "not a url"}).status_code == 400
    assert (
        _admin(idp_server, "no-such-client", {"redirect_uri": "http://127.0.0.1/x"}).status_code
        == 404
    )

    after = _admin(idp_server, extapi_as.client_id, {"redirect_uri": extapi_as.callback}).json()[
        "redirect_uris"
    ]
    assert after == before


def test_introspection_needs_the_resource_server_credentials(extapi_as, idp_server):
    tokens = extapi_as.tokens_for("alice", "repo")
    endpoint = f"{idp_server.as_url}/token/introspection"
    server = idp_server.config["external_as"]["resource_server"]

    anonymous = requests.post(endpoint, data={"token": tokens["access_token"]}, timeout=5)
    wrong = requests.post(
        endpoint,
        data={"token": tokens["access_token"]},
        auth=(server["client_id"], "wrong"),
        timeout=5,
    )
    right = requests.post(
        endpoint,
        data={"token": tokens["access_token"]},
        auth=(server["client_id"], server["client_secret"]),
        timeout=5,
    )

    assert anonymous.status_code in (400, 401)
    assert wrong.status_code == 401
    assert right.json()["active"] is True
    assert right.json()["sub"] == "alice"
    assert right.json()["scope"] == "repo"
    assert right.json()["aud"] == idp_server.config["external_as"]["resource"]


def test_refresh_token_grant_issues_a_new_access_token_without_consent(extapi_as, extapi_server):
    tokens = extapi_as.tokens_for("bob", "repo read:user")

    refreshed = extapi_as.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"])

    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["access_token"] != tokens["access_token"]
    assert (
        extapi_server.get("/user", refreshed.json()["access_token"]).json()["login"] == "bob-okafor"
    )
    # And again with whichever refresh token is current, as the AgentCore vault keeps it.
    current = refreshed.json().get("refresh_token", tokens["refresh_token"])
    again = extapi_as.token(grant_type="refresh_token", refresh_token=current)
    assert again.status_code == 200, again.text
    assert extapi_server.get("/user/repos", again.json()["access_token"]).status_code == 200


def test_refresh_token_of_another_client_is_refused(extapi_as, idp_server):
    tokens = extapi_as.tokens_for("alice", "repo")
    server = idp_server.config["external_as"]["resource_server"]

    response = requests.post(
        f"{idp_server.as_url}/login/oauth/access_token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(server["client_id"], server["client_secret"]),
        timeout=5,
    )

    assert response.status_code in (400, 401)


def test_entra_userinfo_carries_the_entra_claims(alb_server, alb_sign_in, idp_server):
    # The ALB stores the access token it got; the header the upstream receives carries it.
    browser = requests.Session()
    echo = alb_sign_in(browser, "mallory").json()
    access_token = next(v for k, v in echo["headers"] if k.lower() == "x-amzn-oidc-accesstoken")

    userinfo = requests.get(
        f"{idp_server.entra_issuer}/oidc/userinfo",
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=5,
    ).json()

    mallory = idp_server.config["users"]["mallory"]
    assert userinfo == {
        "sub": mallory["entra"]["sub"],
        "oid": mallory["entra"]["oid"],
        "tid": idp_server.config["idp"]["tenant_id"],
        "name": "Mallory Grimm",
        "preferred_username": "mallory@example.test",
        "email": "mallory@example.test",
    }


def test_idp_refuses_to_start_without_a_setting_and_names_it(idp_server, tmp_path):
    config = json.loads(json.dumps(idp_server.config))
    del config["external_as"]["admin_token"]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(config), encoding="utf-8")

    result = subprocess.run(
        ["node", "devstack/idp/server.mjs", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO,
    )

    assert result.returncode == 2
    assert "external_as.admin_token" in result.stderr
