"""Who is asking: every kind of bad ALB header is refused before any AgentCore call."""

from __future__ import annotations

import base64
import json

import pytest

from tests.support.alb_tokens import OTHER_ALB_ARN, AlbSigner, b64_padded, b64_unpadded


def _forged(signer: AlbSigner, kind: str) -> dict[str, str]:
    good = signer.token()
    head, body, sig = good.split(".")
    if kind == "other signer":
        return {"x-amzn-oidc-data": signer.token(signer=OTHER_ALB_ARN)}
    if kind == "other client":
        return {"x-amzn-oidc-data": signer.token(client="another-client")}
    if kind == "other issuer":
        return {"x-amzn-oidc-data": signer.token(issuer="https://idp.example.test/v2.0")}
    if kind == "expired":
        return {"x-amzn-oidc-data": signer.token(expires_in=-600)}
    if kind == "alg none":
        header = json.loads(base64.urlsafe_b64decode(head))
        header["alg"] = "none"
        return {"x-amzn-oidc-data": f"{b64_padded(json.dumps(header).encode())}.{body}."}
    if kind == "alg HS256":
        return {"x-amzn-oidc-data": signer.token(header={"alg": "HS256"})}
    if kind == "signed over unpadded segments":
        return {"x-amzn-oidc-data": signer.token(sign_unpadded=True)}
    if kind == "re-encoded without padding":
        return {"x-amzn-oidc-data": signer.token(padded=False)}
    if kind == "kid is a path":
        return {"x-amzn-oidc-data": signer.token(header={"kid": "../../etc/passwd"})}
    if kind == "kid is a url":
        return {"x-amzn-oidc-data": signer.token(header={"kid": "https://evil.example/k"})}
    if kind == "kid carries a query":
        return {"x-amzn-oidc-data": signer.token(header={"kid": f"{signer.kid}?x=1"})}
    if kind == "header missing":
        return {}
    if kind == "only the plaintext identity header":
        return {"x-amzn-oidc-identity": "alice-sub-0001", "x-amzn-oidc-accesstoken": "eyJ.x.y"}
    if kind == "oversize header":
        return {"x-amzn-oidc-data": signer.token(claims={"pad": "x" * 20_000})}
    if kind == "tampered payload":
        claims = json.loads(base64.urlsafe_b64decode(body))
        claims["sub"] = "mallory-sub-0002"
        return {"x-amzn-oidc-data": f"{head}.{b64_padded(json.dumps(claims).encode())}.{sig}"}
    raise AssertionError(kind)


BAD_HEADERS = [
    "other signer",
    "other client",
    "other issuer",
    "expired",
    "alg none",
    "alg HS256",
    "signed over unpadded segments",
    "re-encoded without padding",
    "kid is a path",
    "kid is a url",
    "kid carries a query",
    "header missing",
    "only the plaintext identity header",
    "oversize header",
    "tampered payload",
]


@pytest.mark.parametrize("kind", BAD_HEADERS)
def test_bad_header_is_401_with_no_agentcore_or_table_call(
    client, signer, stub, aws_calls, dynamodb, kind
):
    table_calls = []
    dynamodb.meta.events.register(
        "provide-client-params", lambda params, model, **_: table_calls.append(model.name)
    )
    try:
        response = client.post(
            "/api/chat", json={"message": "list my repos"}, headers=_forged(signer, kind)
        )
    finally:
        dynamodb.meta.events.unregister("provide-client-params")

    assert response.status_code == 401
    assert response.get_json() == {"error": "unauthenticated", "message": "Sign-in is required."}
    assert aws_calls == []
    assert table_calls == []


def test_padded_sanity_check_of_the_fixture(signer):
    # The forged cases above mean something only if the good token is ALB-shaped.
    assert "=" in signer.token()
    assert b64_unpadded(b"ab") != b64_padded(b"ab")


def test_chat_page_requires_a_verified_header(client, signer):
    assert client.get("/").status_code == 401
    page = client.get("/", headers={"x-amzn-oidc-data": signer.token()})
    assert page.status_code == 200
    assert "Alice Müller" in page.get_data(as_text=True)


def test_unreachable_key_endpoint_is_503_not_401(make_app, signer, stub, aws_calls):
    app = make_app(env={"ALB_PUBLIC_KEY_ENDPOINT": "http://127.0.0.1:9"})

    response = app.test_client().post(
        "/api/chat", json={"message": "hi"}, headers={"x-amzn-oidc-data": signer.token()}
    )

    assert response.status_code == 503
    assert "Retry-After" in response.headers
    assert aws_calls == []


def test_same_header_gives_the_same_user_id_in_agent_and_binder(
    client, signer, stub, environ, dynamodb
):
    """AgentCore binds only for the user id that minted the workload token: one string."""
    from binder_app import create_app as create_binder
    from botocore.stub import Stubber

    from tests.agent.conftest import fake_session

    sub = "Zoë-sub-0003"
    session = "urn:ietf:params:oauth:request_uri:cross-service-0003"
    expected = "entra+Zoë-sub-0003"
    stub.add_response(
        "get_workload_access_token_for_user_id",
        {"workloadAccessToken": "wat-1"},
        {"workloadName": environ["WORKLOAD_NAME"], "userId": expected},
    )
    stub.add_response(
        "get_resource_oauth2_token",
        {"authorizationUrl": "https://github.example/authorize", "sessionUri": session},
    )
    binder_agentcore = fake_session().client("bedrock-agentcore")
    binder = create_binder(environ, agentcore=binder_agentcore, dynamodb=dynamodb)

    agent_answer = client.post(
        "/api/chat", json={"message": "who am i"}, headers={"x-amzn-oidc-data": signer.token(sub)}
    )
    with Stubber(binder_agentcore) as binder_stub:
        binder_stub.add_response(
            "complete_resource_token_auth",
            {},
            {"sessionUri": session, "userIdentifier": {"userId": expected}},
        )
        bound = binder.test_client().get(
            "/oauth2/session-binding",
            query_string={"session_id": session},
            headers={"x-amzn-oidc-data": signer.token(sub)},
        )
        binder_stub.assert_no_pending_responses()

    assert "authorization" in agent_answer.get_json()
    assert bound.status_code == 303
