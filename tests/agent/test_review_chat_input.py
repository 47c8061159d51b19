"""Review findings on /api/chat input: any body a client can send gets a clear 4xx."""

from __future__ import annotations

import pytest

from tests.agent.test_chat_flow import headers

# Well under the 128 KB body limit, far over the JSON parser's recursion limit.
DEEP = 20_000


@pytest.mark.parametrize(
    "body",
    [
        "[" * DEEP + "]" * DEEP,
        '{"message": "list my repos", "history": ' + "[" * DEEP + "]" * DEEP + "}",
        '{"message": ' + '{"a":' * DEEP + "1" + "}" * DEEP + "}",
    ],
    ids=["deep_array", "deep_history", "deep_message_object"],
)
def test_deeply_nested_json_is_a_400_not_a_500(body, client, signer, stub, aws_calls):
    response = client.post(
        "/api/chat", data=body, content_type="application/json", headers=headers(signer)
    )

    assert response.status_code == 400
    assert response.get_json()["error"] == "bad_request"
    assert aws_calls == []


def test_history_turn_longer_than_a_message_is_refused(client, signer, stub, aws_calls):
    history = [{"role": "user", "text": "x" * 4001}]
    response = client.post(
        "/api/chat", json={"message": "hi", "history": history}, headers=headers(signer)
    )

    assert response.status_code == 400
    assert aws_calls == []


def test_answers_forbid_content_type_sniffing(client, signer):
    # A JSON answer carrying model text must never be sniffed into HTML by a browser.
    response = client.post("/api/chat", json={"message": "hello"}, headers=headers(signer))

    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "trace",
    [
        'Root=1-6789"},"user_id":"entra+alice',
        "Root=1-67891233-abc def",
        "Root=1-" + "a" * 300,
    ],
    ids=["json_breakout", "space", "oversize"],
)
def test_malformed_trace_id_is_left_out_of_the_audit_trail(trace, client, signer, audit):
    response = client.post(
        "/api/chat",
        json={"message": "hello"},
        headers={**headers(signer), "X-Amzn-Trace-Id": trace},
    )

    assert response.status_code == 200
    assert audit and all(event["trace_id"] is None for event in audit)


def test_well_formed_trace_id_is_carried_by_every_audit_event(client, signer, audit):
    trace = "Root=1-67891233-abcdef012345678912345678;Self=1-67891233-12456789abcdef012345678"
    client.post(
        "/api/chat",
        json={"message": "hello"},
        headers={**headers(signer), "X-Amzn-Trace-Id": trace},
    )

    assert audit and all(event["trace_id"] == trace for event in audit)
