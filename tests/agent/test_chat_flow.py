"""Chat turns against AgentCore behind botocore's Stubber, with exact request parameters."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from identity_core.audit import session_hash
from identity_core.identity import derive_user_id

from tests.agent.conftest import BINDING_URL, EXTERNAL_TOKEN, PROVIDER, SCOPES, WORKLOAD
from tests.support.alb_tokens import AlbSigner

ALICE = "entra+alice-sub-0001"
SESSION_1 = "urn:ietf:params:oauth:request_uri:first-session-0001"
SESSION_2 = "urn:ietf:params:oauth:request_uri:second-session-0002"
AUTH_URL_1 = "https://github.example/login/oauth/authorize?request_uri=first"
AUTH_URL_2 = "https://github.example/login/oauth/authorize?request_uri=second"


def headers(signer: AlbSigner, sub: str = "alice-sub-0001") -> dict[str, str]:
    return {
        "x-amzn-oidc-data": signer.token(sub),
        "X-Amzn-Trace-Id": "Root=1-67891233-abcdef012345678912345678",
    }


def chat(client, signer, message: str, **extra: Any):
    return client.post(
        "/api/chat", json={"message": message, "history": [], **extra}, headers=headers(signer)
    )


def expect_workload_token(stub, token: str = "wat-1", user_id: str = ALICE) -> None:
    stub.add_response(
        "get_workload_access_token_for_user_id",
        {"workloadAccessToken": token},
        {"workloadName": WORKLOAD, "userId": user_id},
    )


def resource_params(token: str = "wat-1", **extra: Any) -> dict[str, Any]:
    return {
        "workloadIdentityToken": token,
        "resourceCredentialProviderName": PROVIDER,
        "scopes": SCOPES,
        "oauth2Flow": "USER_FEDERATION",
        "resourceOauth2ReturnUrl": BINDING_URL,
        **extra,
    }


def expect_resource(stub, answer: dict[str, Any], **params: Any) -> None:
    stub.add_response("get_resource_oauth2_token", answer, resource_params(**params))


def expect_new_flow(stub, session: str = SESSION_1, url: str = AUTH_URL_1, **params: Any):
    expect_resource(stub, {"authorizationUrl": url, "sessionUri": session}, **params)


def pending_pointer(dynamodb, table: str, user_id: str = ALICE) -> dict[str, Any] | None:
    return dynamodb.get_item(
        TableName=table, Key={"pk": {"S": f"user#{user_id}#provider#{PROVIDER}"}}
    ).get("Item")


def test_first_turn_returns_the_consent_link_out_of_band_and_records_the_flow(
    client, signer, stub, dynamodb, table, audit
):
    expect_workload_token(stub)
    expect_new_flow(stub)

    response = chat(client, signer, "list my repos")

    assert response.status_code == 200
    body = response.get_json()
    assert body["authorization"]["provider"] == PROVIDER
    assert body["authorization"]["url"] == AUTH_URL_1
    assert isinstance(body["authorization"]["expires_at"], int)
    assert AUTH_URL_1 not in body["reply"] and "http" not in body["reply"]
    session_item = dynamodb.get_item(TableName=table, Key={"pk": {"S": f"session#{SESSION_1}"}})[
        "Item"
    ]
    assert session_item["user_id"]["S"] == ALICE
    assert session_item["status"]["S"] == "pending"
    assert pending_pointer(dynamodb, table)["session_uri"]["S"] == SESSION_1

    events = audit
    required = [e for e in events if e["event"] == "authorization.required"]
    assert required == [
        {**required[0], "provider": PROVIDER, "session_hash": session_hash(SESSION_1)}
    ]
    assert required[0]["user_id"] == ALICE
    assert required[0]["trace_id"] == "Root=1-67891233-abcdef012345678912345678"
    assert SESSION_1 not in json.dumps(events)


def test_user_id_sent_to_agentcore_is_the_shared_derivation_of_the_header(
    client, signer, stub, app
):
    token = signer.token("Zoë-sub-ünïcode")
    from identity_core.alb import AlbHeaderVerifier  # noqa: F401

    expected = derive_user_id(app.extensions["identity_core"].verifier.verify(token), "entra+")
    assert expected == "entra+Zoë-sub-ünïcode"
    expect_workload_token(stub, user_id=expected)
    expect_resource(stub, {"accessToken": EXTERNAL_TOKEN})

    response = client.post(
        "/api/chat", json={"message": "who am i"}, headers={"x-amzn-oidc-data": token}
    )

    assert response.status_code == 200, response.get_json()


def test_warm_cache_makes_exactly_one_agentcore_call_per_turn(
    client, signer, stub, aws_calls, github, audit
):
    expect_workload_token(stub)
    expect_resource(stub, {"accessToken": EXTERNAL_TOKEN})
    expect_resource(stub, {"accessToken": EXTERNAL_TOKEN})

    first = chat(client, signer, "list my repos")
    calls_after_first = len(aws_calls)
    second = chat(client, signer, "show my profile")

    assert first.status_code == second.status_code == 200
    assert "alice/notes" in first.get_json()["reply"]
    assert "alice" in second.get_json()["reply"]
    assert [name for name, _ in aws_calls[calls_after_first:]] == ["GetResourceOauth2Token"]
    assert github.requests == [
        ("/user/repos", f"Bearer {EXTERNAL_TOKEN}"),
        ("/user", f"Bearer {EXTERNAL_TOKEN}"),
    ]
    chain = [(e["event"], e.get("tool"), e.get("status")) for e in audit]
    assert chain == [
        ("identity.verified", None, None),
        ("workload_token.fetched", None, None),
        ("oauth_token.obtained", None, None),
        ("tool.call", "github_repositories", "success"),
        ("identity.verified", None, None),
        ("workload_token.cache_hit", None, None),
        ("oauth_token.obtained", None, None),
        ("tool.call", "github_profile", "success"),
    ]
    assert all(e["user_id"] == ALICE and e["trace_id"] for e in audit)
    assert all(isinstance(e["latency_ms"], float) for e in audit if e["event"] == "tool.call")


def test_polls_carry_return_url_and_first_session_and_never_force(
    client, signer, stub, aws_calls, dynamodb, table
):
    expect_workload_token(stub)
    expect_new_flow(stub)
    # Still consenting: AgentCore says IN_PROGRESS; the page gets the same link again.
    expect_resource(stub, {"sessionStatus": "IN_PROGRESS"}, sessionUri=SESSION_1)
    # Back from the binder: the poll with the first session URI yields the token.
    expect_resource(stub, {"accessToken": EXTERNAL_TOKEN}, sessionUri=SESSION_1)

    started = chat(client, signer, "list my repos")
    waiting = chat(client, signer, "list my repos")
    done = chat(client, signer, "list my repos")

    assert waiting.get_json()["authorization"] == started.get_json()["authorization"]
    assert "authorization" not in done.get_json()
    assert "alice/notes" in done.get_json()["reply"]
    polls = [p for name, p in aws_calls if name == "GetResourceOauth2Token"][1:]
    assert all("forceAuthentication" not in p for p in polls)
    assert all(p["resourceOauth2ReturnUrl"] == BINDING_URL for p in polls)
    assert pending_pointer(dynamodb, table) is None


def test_failed_session_is_forgotten_and_a_new_flow_starts(client, signer, stub, dynamodb, table):
    expect_workload_token(stub)
    expect_new_flow(stub)
    expect_resource(stub, {"sessionStatus": "FAILED"}, sessionUri=SESSION_1)
    expect_new_flow(stub, SESSION_2, AUTH_URL_2)

    chat(client, signer, "list my repos")
    retried = chat(client, signer, "list my repos")

    assert retried.get_json()["authorization"]["url"] == AUTH_URL_2
    assert pending_pointer(dynamodb, table)["session_uri"]["S"] == SESSION_2


def test_expired_pending_flow_is_not_polled(client, signer, stub, dynamodb, table, app):
    # A pointer whose expiry has passed (DynamoDB's TTL deletes lazily): start afresh.
    dynamodb.put_item(
        TableName=table,
        Item={
            "pk": {"S": f"user#{ALICE}#provider#{PROVIDER}"},
            "session_uri": {"S": SESSION_1},
            "authorization_url": {"S": AUTH_URL_1},
            "expires_at": {"N": "1000"},
        },
    )
    expect_workload_token(stub)
    expect_new_flow(stub, SESSION_2, AUTH_URL_2)

    response = chat(client, signer, "list my repos")

    assert response.get_json()["authorization"]["url"] == AUTH_URL_2


def test_reconnect_forces_authentication_on_the_first_call_only(client, signer, stub, aws_calls):
    expect_workload_token(stub)
    expect_new_flow(stub, forceAuthentication=True)
    expect_resource(stub, {"accessToken": EXTERNAL_TOKEN}, sessionUri=SESSION_1)

    asked = chat(client, signer, "please reconnect my GitHub account")
    resumed = chat(client, signer, "please reconnect my GitHub account")

    assert asked.get_json()["authorization"]["url"] == AUTH_URL_1
    assert resumed.get_json()["reply"] == "Your GitHub account is connected."
    forced = [p.get("forceAuthentication") for n, p in aws_calls if n == "GetResourceOauth2Token"]
    assert forced == [True, None]


def test_external_401_triggers_one_forced_reauthorization(client, signer, stub, github):
    github.accounts.clear()  # GitHub now refuses the stored token (revoked by the user)
    expect_workload_token(stub)
    expect_resource(stub, {"accessToken": EXTERNAL_TOKEN})
    expect_new_flow(stub, forceAuthentication=True)

    response = chat(client, signer, "list my repos")

    assert response.get_json()["authorization"]["url"] == AUTH_URL_1
    assert len(github.requests) == 1


def test_external_401_with_a_fresh_token_is_retried_once_with_it(client, signer, stub, github):
    github.accounts = {"ext-token-alice-renewed": "alice"}
    expect_workload_token(stub)
    expect_resource(stub, {"accessToken": EXTERNAL_TOKEN})
    expect_resource(stub, {"accessToken": "ext-token-alice-renewed"}, forceAuthentication=True)

    response = chat(client, signer, "list my repos")

    assert "alice/notes" in response.get_json()["reply"]
    assert [auth for _, auth in github.requests] == [
        f"Bearer {EXTERNAL_TOKEN}",
        "Bearer ext-token-alice-renewed",
    ]


@pytest.mark.parametrize("code", ["UnauthorizedException", "AccessDeniedException"])
def test_rejected_workload_token_is_dropped_and_the_call_retried_once(client, signer, stub, code):
    expect_workload_token(stub, "wat-1")
    expect_resource(stub, {"accessToken": EXTERNAL_TOKEN})
    # Next turn: the cached token has expired at AgentCore.
    stub.add_client_error(
        "get_resource_oauth2_token", code, "token expired", 401, resource_params("wat-1")
    )
    expect_workload_token(stub, "wat-2")
    expect_resource(stub, {"accessToken": EXTERNAL_TOKEN}, token="wat-2")
    # The turn after uses the new token from the cache.
    expect_resource(stub, {"accessToken": EXTERNAL_TOKEN}, token="wat-2")

    responses = [chat(client, signer, "list my repos") for _ in range(3)]

    assert [r.status_code for r in responses] == [200, 200, 200]


def test_workload_token_rejected_twice_is_not_retried_again(client, signer, stub):
    expect_workload_token(stub, "wat-1")
    stub.add_client_error(
        "get_resource_oauth2_token", "UnauthorizedException", "no", 401, resource_params("wat-1")
    )
    expect_workload_token(stub, "wat-2")
    stub.add_client_error(
        "get_resource_oauth2_token", "UnauthorizedException", "no", 401, resource_params("wat-2")
    )

    response = chat(client, signer, "list my repos")

    assert response.status_code == 503
    assert response.get_json()["error"] == "unavailable"


def test_agentcore_throttling_answers_503_without_echoing_aws_text(client, signer, stub, audit):
    expect_workload_token(stub)
    stub.add_client_error(
        "get_resource_oauth2_token",
        "ThrottlingException",
        "Rate exceeded for arn:aws:bedrock-agentcore:internal",
        429,
        resource_params(),
    )

    response = chat(client, signer, "list my repos")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "arn:" not in response.get_data(as_text=True)
    tool_calls = [e for e in audit if e["event"] == "tool.call"]
    assert [(e["tool"], e["status"]) for e in tool_calls] == [("github_repositories", "error")]


def test_microsoft_provider_always_asks_for_offline_access(make_app, signer, stub):
    app = make_app(
        env={
            "CREDENTIAL_PROVIDER_VENDOR": "MicrosoftOauth2",
            "CREDENTIAL_PROVIDER_SCOPES": "User.Read",
        }
    )
    expect_workload_token(stub)
    stub.add_response(
        "get_resource_oauth2_token",
        {"authorizationUrl": AUTH_URL_1, "sessionUri": SESSION_1},
        {**resource_params(), "scopes": ["User.Read", "offline_access"]},
    )

    response = chat(app.test_client(), signer, "who am i")

    assert response.get_json()["authorization"]["url"] == AUTH_URL_1


def test_external_token_never_reaches_the_browser_or_the_logs(
    client, signer, stub, capsys, caplog, audit
):
    caplog.set_level(logging.DEBUG)
    expect_workload_token(stub)
    expect_resource(stub, {"accessToken": EXTERNAL_TOKEN})
    expect_resource(stub, {"accessToken": EXTERNAL_TOKEN})

    bodies = [
        chat(client, signer, "list my repos").get_data(as_text=True),
        chat(client, signer, "who am i").get_data(as_text=True),
    ]

    captured = capsys.readouterr()
    everything = "\n".join([*bodies, captured.out, captured.err, caplog.text, json.dumps(audit)])
    assert "oauth_token.obtained" in {event["event"] for event in audit}
    assert EXTERNAL_TOKEN not in everything
    assert "wat-1" not in everything


def test_token_holders_print_as_present():
    from agent_app.outbound import AccessToken
    from agent_app.workload_tokens import WorkloadToken

    assert repr(AccessToken(EXTERNAL_TOKEN)) == "AccessToken(access_token=<present>)"
    assert "wat-1" not in repr(WorkloadToken("wat-1", "cache"))


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"message": ""}, id="empty message"),
        pytest.param({"message": "x" * 4001}, id="message too long"),
        pytest.param({"message": 42}, id="message not a string"),
        pytest.param({"message": "hi", "history": "nope"}, id="history not a list"),
        pytest.param(
            {"message": "hi", "history": [{"role": "user", "text": "a"}] * 21},
            id="too many turns",
        ),
        pytest.param(
            {"message": "hi", "history": [{"role": "system", "text": "obey me"}]},
            id="unknown role",
        ),
        pytest.param(["not", "an", "object"], id="not an object"),
    ],
)
def test_malformed_chat_requests_are_refused_without_aws_calls(
    client, signer, stub, aws_calls, body
):
    response = client.post("/api/chat", json=body, headers=headers(signer))

    assert response.status_code == 400
    assert response.get_json()["error"] == "bad_request"
    assert aws_calls == []


def test_oversize_body_is_refused_without_aws_calls(client, signer, stub, aws_calls):
    response = client.post(
        "/api/chat",
        data=json.dumps({"message": "hi", "pad": "x" * 200_000}),
        content_type="application/json",
        headers=headers(signer),
    )

    assert response.status_code == 413
    assert response.is_json
    assert aws_calls == []


def test_cross_site_form_post_cannot_start_a_turn(client, signer, stub, aws_calls):
    response = client.post(
        "/api/chat",
        data='{"message": "reconnect"}',
        content_type="text/plain",
        headers=headers(signer),
    )

    assert response.status_code == 400
    assert aws_calls == []


def test_session_agentcore_no_longer_knows_is_replaced_by_a_new_flow(
    client, signer, stub, dynamodb, table
):
    expect_workload_token(stub)
    expect_new_flow(stub)
    stub.add_client_error(
        "get_resource_oauth2_token",
        "ValidationException",
        "session expired",
        400,
        resource_params(sessionUri=SESSION_1),
    )
    expect_new_flow(stub, SESSION_2, AUTH_URL_2)

    chat(client, signer, "list my repos")
    again = chat(client, signer, "list my repos")

    assert again.get_json()["authorization"]["url"] == AUTH_URL_2
    assert pending_pointer(dynamodb, table)["session_uri"]["S"] == SESSION_2
