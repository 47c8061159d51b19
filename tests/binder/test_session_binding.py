"""The session binding endpoint, through HTTP, as a user or an attacker would meet it.

AgentCore is a botocore Stubber (exact parameters, and whether it was called at all) or, where
botocore's retry loop must run for real, a recording endpoint on loopback. DynamoDB is moto.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading

import pytest
from binder_app import create_app
from identity_core.pending import SESSION_LIFETIME_SECONDS, PendingFlowStore

from tests.binder.helpers import (
    ALICE_SUB,
    MALLORY_SUB,
    OTHER_SESSION,
    SESSION,
    TABLE,
    CallLog,
    flow_status,
    record_flow,
    user_id_of,
)
from tests.identity_core.test_alb_header import FORGED

AWS_DETAIL = "INTERNAL-AWS-DETAIL"


def expect_binding(binder, token: str, session_uri: str = SESSION) -> None:
    binder.stubber.add_response(
        "complete_resource_token_auth",
        {},
        expected_params={
            "sessionUri": session_uri,
            "userIdentifier": {"userId": user_id_of(token, binder.key_endpoint_url)},
        },
    )


def expect_error(binder, code: str, http_status: int) -> None:
    binder.stubber.add_client_error(
        "complete_resource_token_auth",
        service_error_code=code,
        service_message=f"Invalid or expired session {AWS_DETAIL} arn:aws:iam::111122223333:x",
        http_status_code=http_status,
    )


# --- the path a real user takes -----------------------------------------------------------


def test_signed_in_user_completes_the_binding_and_returns_to_the_agent(
    binder, store, dynamodb, audit_events
):
    record_flow(store, provider="github")
    token = binder.signer.token(ALICE_SUB, claims={"name": "Ålice Müller"})
    expect_binding(binder, token)

    response = binder.get(token=token)

    assert response.status_code == 303
    assert response.headers["Location"] == "/?connected=github"
    binder.stubber.assert_no_pending_responses()
    (_, params) = binder.agentcore_calls[0]
    assert params["userIdentifier"] == {"userId": "entra+alice-sub-0001"}
    assert flow_status(dynamodb) == "consumed"
    completed = [e for e in audit_events if e["event"] == "binding.completed"]
    assert completed == [
        {
            **completed[0],
            "user_id": "entra+alice-sub-0001",
            "provider": "github",
            "session_hash": hashlib.sha256(SESSION.encode()).hexdigest()[:16],
        }
    ]
    assert SESSION not in str(audit_events), "audit events carry a hash, never the session URI"


def test_redirect_goes_to_the_configured_path_whatever_the_request_says(make_binder, store):
    binder = make_binder(POST_BINDING_PATH="/chat")
    record_flow(store, provider="github")
    token = binder.signer.token(ALICE_SUB)
    expect_binding(binder, token)

    response = binder.get(
        token=token,
        query={
            "next": "https://evil.example/",
            "redirect_uri": "//evil.example",
            "return_url": "https://evil.example/x",
        },
        headers={"Referer": "https://evil.example/", "Host": "evil.example"},
    )

    assert response.status_code == 303
    assert response.headers["Location"] == "/chat?connected=github"


def test_provider_name_from_the_store_is_url_encoded_in_the_redirect(binder, store):
    # The provider comes from our own table; even so it cannot add parameters to the URL.
    record_flow(store, provider="git hub&next=https://evil.example")
    token = binder.signer.token(ALICE_SUB)
    expect_binding(binder, token)

    response = binder.get(token=token)

    assert response.headers["Location"] == "/?connected=git+hub%26next%3Dhttps%3A%2F%2Fevil.example"


# --- who is signed in ---------------------------------------------------------------------

BAD_HEADERS = {
    **{name: make for name, make in FORGED.items() if name != "empty"},
    "header_missing": lambda s: "",
}


@pytest.mark.parametrize("make", BAD_HEADERS.values(), ids=BAD_HEADERS.keys())
def test_bad_identity_header_is_refused_with_401_and_no_aws_call(make, binder, store):
    record_flow(store)
    binder.aws_calls.calls.clear()

    response = binder.get(token=make(binder.signer))

    assert response.status_code == 401
    assert response.get_json() == {"error": "unauthenticated", "message": "Sign-in is required."}
    assert binder.aws_calls.calls == []


def test_plaintext_identity_headers_alone_are_not_a_sign_in(binder, store):
    record_flow(store)
    binder.aws_calls.calls.clear()

    response = binder.get(
        token="",
        headers={
            "x-amzn-oidc-identity": ALICE_SUB,
            "x-amzn-oidc-accesstoken": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln",
        },
    )

    assert response.status_code == 401
    assert binder.aws_calls.calls == []


def test_user_id_comes_from_the_header_not_from_the_plaintext_identity_header(binder, store):
    # Mallory's browser, with a plaintext header claiming to be Alice: the binding is for Mallory.
    record_flow(store, sub=MALLORY_SUB)
    token = binder.signer.token(MALLORY_SUB)
    expect_binding(binder, token)

    response = binder.get(token=token, headers={"x-amzn-oidc-identity": ALICE_SUB})

    assert response.status_code == 303
    assert binder.agentcore_calls[0][1]["userIdentifier"] == {"userId": f"entra+{MALLORY_SUB}"}


def test_unreachable_key_endpoint_answers_503_without_any_aws_call(make_binder, store):
    # Port 9 on loopback: nothing listens, so the key cannot be fetched.
    binder = make_binder(ALB_PUBLIC_KEY_ENDPOINT="http://127.0.0.1:9")
    record_flow(store)
    binder.aws_calls.calls.clear()

    response = binder.get()

    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.get_json()["error"] == "unavailable"
    assert binder.aws_calls.calls == []


# --- the session id -----------------------------------------------------------------------

PREFIX = "urn:ietf:params:oauth:request_uri:"
BAD_SESSION_IDS = {
    "missing": None,
    "empty": "",
    "prefix_only": PREFIX,
    "other_urn": "urn:ietf:params:oauth:token:abc",
    "a_url": "https://evil.example/?x=" + PREFIX + "abc",
    "markup": PREFIX + "<script>alert(1)</script>",
    "slash": PREFIX + "abc/def",
    "space": PREFIX + "abc def",
    "newline": PREFIX + "abc\r\nSet-Cookie: x=1",
    "non_ascii": PREFIX + "abcé",
    "too_long": PREFIX + "a" * (1025 - len(PREFIX)),
}


@pytest.mark.parametrize("session_id", BAD_SESSION_IDS.values(), ids=BAD_SESSION_IDS.keys())
def test_malformed_session_id_gets_a_400_page_and_no_aws_call(session_id, binder, audit_events):
    response = binder.get(session_id=session_id)

    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "This link is not valid" in response.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in response.get_data(as_text=True)
    assert binder.aws_calls.calls == []
    assert audit_events[-1]["reason"] == "malformed_session_id"


def test_two_session_ids_in_one_link_are_refused(binder, store):
    record_flow(store)
    binder.aws_calls.calls.clear()

    response = binder.client.get(
        f"/oauth2/session-binding?session_id={SESSION}&session_id={OTHER_SESSION}",
        headers={"x-amzn-oidc-data": binder.signer.token(ALICE_SUB)},
    )

    assert response.status_code == 400
    assert binder.aws_calls.calls == []


def test_session_id_of_exactly_1024_characters_is_accepted_as_a_shape(binder, store):
    longest = PREFIX + "a" * (1024 - len(PREFIX))
    record_flow(store, session_uri=longest)
    token = binder.signer.token(ALICE_SUB)
    expect_binding(binder, token, session_uri=longest)

    assert binder.get(session_id=longest, token=token).status_code == 303


# --- the pending-flow record --------------------------------------------------------------


def test_link_this_application_never_issued_is_refused_before_agentcore(binder, audit_events):
    response = binder.get()

    assert response.status_code == 404
    assert "This link was not started here" in response.get_data(as_text=True)
    assert binder.aws_calls.names == ["GetItem"]
    refused = audit_events[-1]
    assert refused["event"] == "binding.refused"
    assert refused["reason"] == "unknown"
    assert refused["session_hash"] == hashlib.sha256(SESSION.encode()).hexdigest()[:16]


def test_binding_from_another_users_browser_is_refused(binder, store, dynamodb, audit_events):
    # Mallory started the flow and sends the link to Alice, hoping Alice's consent lands in
    # Mallory's vault (or the reverse). Alice is signed in in this browser.
    record_flow(store, sub=MALLORY_SUB)

    response = binder.get(token=binder.signer.token(ALICE_SUB))

    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "This link was started from another account" in page
    assert binder.agentcore_calls == []
    assert flow_status(dynamodb) == "pending", "Mallory's record is left as it was"
    assert audit_events[-1]["reason"] == "other_user"
    assert audit_events[-1]["user_id"] == "entra+alice-sub-0001"


def test_expired_link_is_refused_and_says_to_ask_the_agent_again(binder, dynamodb):
    started_long_ago = PendingFlowStore(
        dynamodb, TABLE, clock=lambda: __import__("time").time() - SESSION_LIFETIME_SECONDS - 1
    )
    record_flow(started_long_ago)

    response = binder.get()

    assert response.status_code == 410
    assert "This link has expired, ask the agent again" in response.get_data(as_text=True)
    assert binder.agentcore_calls == []


def test_replayed_link_is_refused_and_agentcore_is_called_once(binder, store, audit_events):
    record_flow(store)
    token = binder.signer.token(ALICE_SUB)
    expect_binding(binder, token)

    first = binder.get(token=token)
    second = binder.get(token=token)

    assert first.status_code == 303
    assert second.status_code == 409
    assert "This link has already been used" in second.get_data(as_text=True)
    assert len(binder.agentcore_calls) == 1
    assert audit_events[-1]["reason"] == "already_used"


def test_two_concurrent_requests_for_one_link_bind_it_once(binder, store, dynamodb):
    """Both requests read the record as pending; only the conditional write decides."""
    record_flow(store)
    token = binder.signer.token(ALICE_SUB)
    expect_binding(binder, token)

    # Hold both requests just before their UpdateItem until both have read the record, then
    # let moto apply the writes one at a time (as DynamoDB would, per item).
    both_read = threading.Barrier(2, timeout=10)
    one_write_at_a_time = threading.Lock()

    def before_update(**_):
        both_read.wait()
        one_write_at_a_time.acquire()

    def after_update(**_):
        one_write_at_a_time.release()

    statuses: list[int] = []

    def open_link() -> None:
        statuses.append(binder.get(token=token).status_code)

    events = dynamodb.meta.events
    events.register("before-call.dynamodb.UpdateItem", before_update)
    events.register("after-call.dynamodb.UpdateItem", after_update)
    try:
        threads = [threading.Thread(target=open_link) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=20)
    finally:
        events.unregister("before-call.dynamodb.UpdateItem", before_update)
        events.unregister("after-call.dynamodb.UpdateItem", after_update)

    assert sorted(statuses) == [303, 409]
    assert len(binder.agentcore_calls) == 1
    assert binder.aws_calls.names.count("GetItem") == 2


def test_store_unavailable_answers_503_without_calling_agentcore(make_binder, store):
    binder = make_binder(PENDING_FLOW_TABLE="no-such-table")
    record_flow(store)

    response = binder.get()

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "10"
    assert binder.agentcore_calls == []


# --- AgentCore's answers ------------------------------------------------------------------

AGENTCORE_REFUSALS = [
    pytest.param("AccessDeniedException", 403, 403, "This link is no longer valid", id="denied"),
    pytest.param("ValidationException", 400, 400, "This link was not accepted", id="validation"),
    pytest.param("UnauthorizedException", 401, 502, "could not be completed", id="unauthorized"),
    pytest.param("ResourceNotFoundException", 404, 502, "could not be completed", id="not_found"),
]


@pytest.mark.parametrize(("code", "aws_status", "status", "title"), AGENTCORE_REFUSALS)
def test_agentcore_refusal_becomes_a_page_without_aws_text(
    code, aws_status, status, title, binder, store, dynamodb, audit_events
):
    record_flow(store)
    expect_error(binder, code, aws_status)

    response = binder.get()

    body = response.get_data(as_text=True)
    assert response.status_code == status
    assert title in body
    assert AWS_DETAIL not in body
    assert "Invalid or expired session" not in body
    assert code not in body
    assert "Retry-After" not in response.headers
    assert flow_status(dynamodb) == "consumed", "a link AgentCore refused stays used"
    assert AWS_DETAIL not in str(audit_events)


TRANSIENT = [
    pytest.param(429, "ThrottlingException", id="throttled"),
    pytest.param(500, "InternalServerException", id="internal_error"),
    pytest.param(503, "ServiceUnavailable", id="unavailable"),
]


@pytest.mark.parametrize(("aws_status", "error_type"), TRANSIENT)
def test_transient_agentcore_failure_is_retried_a_bounded_number_of_times_then_503(
    aws_status, error_type, recording_agentcore, environ, dynamodb, store, signer
):
    recording_agentcore.answers = [(aws_status, error_type)]
    app = create_app(environ, dynamodb=dynamodb)
    record_flow(store)
    token = signer.token(ALICE_SUB)

    response = app.test_client().get(
        "/oauth2/session-binding",
        query_string={"session_id": SESSION},
        headers={"x-amzn-oidc-data": token},
    )

    body = response.get_data(as_text=True)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "10"
    assert "The connection service is busy" in body
    assert AWS_DETAIL not in body
    # botocore's standard mode, bounded at 3 attempts in identity_core.aws.
    assert len(recording_agentcore.requests) == 3
    assert all(
        r["path"] == "/identities/CompleteResourceTokenAuth" for r in recording_agentcore.requests
    )
    assert recording_agentcore.requests[0]["body"] == {
        "sessionUri": SESSION,
        "userIdentifier": {"userId": "entra+alice-sub-0001"},
    }

    # The user does what the page says: the same link works once AgentCore recovers.
    recording_agentcore.answers = []
    again = app.test_client().get(
        "/oauth2/session-binding",
        query_string={"session_id": SESSION},
        headers={"x-amzn-oidc-data": token},
    )
    assert again.status_code == 303
    assert len(recording_agentcore.requests) == 4


def test_agentcore_timeout_is_retried_a_bounded_number_of_times_then_503(
    recording_agentcore, environ, dynamodb, store, signer
):
    from identity_core import aws

    recording_agentcore.delay_seconds = 1.0
    # A short read timeout so the test takes seconds; production uses identity_core's default.
    agentcore = aws.client("bedrock-agentcore", "eu-west-1", read_timeout=0.2)
    calls = CallLog(agentcore)
    app = create_app(environ, agentcore=agentcore, dynamodb=dynamodb)
    record_flow(store)

    response = app.test_client().get(
        "/oauth2/session-binding",
        query_string={"session_id": SESSION},
        headers={"x-amzn-oidc-data": signer.token(ALICE_SUB)},
    )

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "10"
    assert calls.names == ["CompleteResourceTokenAuth"]
    assert len(recording_agentcore.requests) == 3
    assert flow_status(dynamodb) == "pending", "the link is given back for the user's retry"


# --- what every page carries --------------------------------------------------------------


def _inline_style_hash(page: str) -> str:
    style = re.search(r"<style>(.*?)</style>", page, re.S).group(1)
    return "'sha256-" + base64.b64encode(hashlib.sha256(style.encode()).digest()).decode() + "'"


@pytest.mark.parametrize("case", ["refusal", "redirect"])
def test_pages_are_not_cached_leak_no_referer_and_cannot_be_framed(case, binder, store):
    if case == "redirect":
        record_flow(store)
        token = binder.signer.token(ALICE_SUB)
        expect_binding(binder, token)
        response = binder.get(token=token)
    else:
        response = binder.get()

    headers = response.headers
    assert headers["Cache-Control"] == "no-store"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] == "DENY"
    csp = dict(d.strip().split(" ", 1) for d in headers["Content-Security-Policy"].split(";"))
    assert csp["default-src"] == "'none'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["form-action"] == "'none'"
    assert csp["base-uri"] == "'none'"
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    if case == "refusal":
        assert csp["style-src"] == _inline_style_hash(response.get_data(as_text=True))


def test_names_from_the_identity_provider_are_escaped_in_pages(binder):
    token = binder.signer.token(ALICE_SUB, claims={"name": '<img src=x onerror="alert(1)">'})

    page = binder.get(token=token).get_data(as_text=True)

    assert "<img" not in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page


def test_healthz_needs_no_sign_in_and_makes_no_aws_call(binder):
    response = binder.client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert binder.aws_calls.calls == []


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "HEAD"])
def test_binding_accepts_only_get(method, binder, store, dynamodb):
    record_flow(store)
    binder.aws_calls.calls.clear()

    response = binder.client.open(
        "/oauth2/session-binding",
        method=method,
        query_string={"session_id": SESSION},
        headers={"x-amzn-oidc-data": binder.signer.token(ALICE_SUB)},
    )

    assert response.status_code == 405
    assert binder.aws_calls.calls == []
    assert flow_status(dynamodb) == "pending", "the link is still usable"


def test_configured_binding_path_is_the_only_one_served(make_binder, store):
    binder = make_binder(SESSION_BINDING_PATH="/connect/done")
    record_flow(store)
    token = binder.signer.token(ALICE_SUB)
    expect_binding(binder, token)

    default_path = binder.get(token=token)
    configured = binder.client.get(
        "/connect/done", query_string={"session_id": SESSION}, headers={"x-amzn-oidc-data": token}
    )

    assert default_path.status_code == 404
    assert configured.status_code == 303
