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
