"""The GitHub-compatible external API, reached with tokens from the external AS."""

from __future__ import annotations

import time

import requests


def test_alice_consents_and_the_api_returns_her_profile_and_repos_not_mallorys(
    extapi_as, extapi_server
):
    tokens = extapi_as.tokens_for("alice", "repo read:user")

    user = extapi_server.get("/user", tokens["access_token"])
    repos = extapi_server.get("/user/repos", tokens["access_token"])

    assert user.status_code == 200
    assert user.json()["login"] == "alice-mueller"
    assert user.json()["name"] == "Alice Müller"
    assert repos.status_code == 200
    names = {r["full_name"] for r in repos.json()}
    assert names == {"alice-mueller/garden-planner", "alice-mueller/tax-notes"}
    assert all({"id", "name", "private", "html_url", "owner"} <= set(r) for r in repos.json())


def test_mallorys_token_sees_mallorys_data(extapi_as, extapi_server):
    tokens = extapi_as.tokens_for("mallory", "repo read:user")

    repos = extapi_server.get("/user/repos", tokens["access_token"]).json()

    assert [r["full_name"] for r in repos] == ["mallory-grimm/phishing-kit"]


def test_token_without_the_repo_scope_cannot_list_repositories(extapi_as, extapi_server):
    tokens = extapi_as.tokens_for("alice", "read:user")

    response = extapi_server.get("/user/repos", tokens["access_token"])

    assert response.status_code == 403
    assert response.headers["X-Accepted-OAuth-Scopes"] == "repo"
    assert "repo" not in response.headers["X-OAuth-Scopes"].split(", ")
    assert extapi_server.get("/user", tokens["access_token"]).status_code == 200


def test_missing_or_unknown_token_gets_401_with_github_error(extapi_server):
    missing = extapi_server.get("/user", None)
    unknown = extapi_server.get("/user", "gho_not_a_token_the_as_issued")

    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert unknown.status_code == 401
    assert unknown.json()["message"] == "Bad credentials"
    assert 'error="invalid_token"' in unknown.headers["WWW-Authenticate"]


def test_someone_elses_private_repository_is_not_found(extapi_as, extapi_server):
    tokens = extapi_as.tokens_for("mallory", "repo read:user")

    theirs = extapi_server.get("/repos/alice-mueller/tax-notes", tokens["access_token"])
    public = extapi_server.get("/repos/alice-mueller/garden-planner", tokens["access_token"])
    own = extapi_server.get("/repos/mallory-grimm/phishing-kit", tokens["access_token"])

    assert theirs.status_code == 404
    assert public.status_code == 200 and public.json()["private"] is False
    assert own.status_code == 200 and own.json()["private"] is True


def test_revoked_token_is_refused_at_once(extapi_as, extapi_server, idp_server):
    tokens = extapi_as.tokens_for("alice", "repo read:user")
    assert extapi_server.get("/user", tokens["access_token"]).status_code == 200

    revoked = requests.post(
        f"{idp_server.as_url}/token/revocation",
        data={
            "token": tokens["access_token"],
            "client_id": extapi_as.client_id,
            "client_secret": extapi_as.client_secret,
        },
        timeout=5,
    )

    assert revoked.status_code == 200
    assert extapi_server.get("/user", tokens["access_token"]).status_code == 401


def test_expired_token_gets_401_and_the_refresh_token_gets_a_working_one(extapi_short_ttl):
    auth_server, api = extapi_short_ttl
    tokens = auth_server.tokens_for("alice", "repo read:user")
    assert tokens["expires_in"] <= 2
    assert api.get("/user", tokens["access_token"]).status_code == 200

    time.sleep(2.5)
    expired = api.get("/user", tokens["access_token"])
    assert expired.status_code == 401
    assert expired.json()["message"] == "Bad credentials"

    refreshed = auth_server.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    assert set(refreshed.json()["scope"].split()) == {"repo", "read:user"}
    assert api.get("/user/repos", refreshed.json()["access_token"]).status_code == 200


def test_entry_point_serves_the_api_and_stops_cleanly(idp_server, tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    from tests.devstack.conftest import _free_port, _wait_for_port

    config = json.loads(json.dumps(idp_server.config))
    config["external_api"]["port"] = _free_port()
    path = tmp_path / "stack.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack.external_api", "--config", str(path)],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for_port(config["external_api"]["port"], process)
        response = requests.get(
            f"http://127.0.0.1:{config['external_api']['port']}/user", timeout=5
        )
        assert response.status_code == 401
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert process.returncode == 0, output
