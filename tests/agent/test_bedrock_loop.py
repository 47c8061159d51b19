"""The Bedrock Converse loop against Stubber: toolUse, then toolResult, then the answer."""

from __future__ import annotations

from typing import Any

import pytest
from agent_app.model import SYSTEM_PROMPT
from botocore.stub import ANY, Stubber

from tests.agent.conftest import EXTERNAL_TOKEN, fake_session
from tests.agent.test_chat_flow import (
    AUTH_URL_1,
    expect_new_flow,
    expect_resource,
    expect_workload_token,
)

MODEL_ID = "anthropic.claude-3-5-haiku-20241022-v1:0"
USAGE = {
    "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15},
    "metrics": {"latencyMs": 12},
}


@pytest.fixture
def bedrock():
    client = fake_session().client("bedrock-runtime")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def bedrock_client(make_app, bedrock):
    app = make_app(env={"MODEL_PROVIDER": "bedrock", "MODEL_ID": MODEL_ID}, bedrock=bedrock[0])
    return app.test_client()


def converse_params(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "modelId": MODEL_ID,
        "system": [{"text": SYSTEM_PROMPT}],
        "messages": messages,
        "toolConfig": ANY,
        "inferenceConfig": {"maxTokens": 1024},
    }


def tool_use(name: str) -> dict[str, Any]:
    return {
        "output": {
            "message": {
                "role": "assistant",
                "content": [
                    {"text": "Let me look."},
                    {"toolUse": {"toolUseId": "tool-1", "name": name, "input": {}}},
                ],
            }
        },
        "stopReason": "tool_use",
        **USAGE,
    }


def final(text: str) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        **USAGE,
    }


def test_tool_use_result_and_final_answer(bedrock_client, bedrock, signer, stub):
    _, model = bedrock
    history = [
        {"role": "assistant", "text": "Hello!"},  # dropped: Converse starts with the user
        {"role": "user", "text": "hi"},
        {"role": "assistant", "text": "How can I help?"},
    ]
    asked = [
        {"role": "user", "content": [{"text": "hi"}]},
        {"role": "assistant", "content": [{"text": "How can I help?"}]},
        {"role": "user", "content": [{"text": "what are my repos?"}]},
    ]
    used = tool_use("github_repositories")
    model.add_response("converse", used, converse_params(asked))
    expect_workload_token(stub)
    expect_resource(stub, {"accessToken": EXTERNAL_TOKEN})
    tool_result = {
        "toolResult": {
            "toolUseId": "tool-1",
            "content": [
                {
                    "json": {
                        "repositories": [
                            {"full_name": "alice/notes", "private": True,
                             "description": "notes", "html_url": None},
                            {"full_name": "alice/site", "private": False,
                             "description": None, "html_url": None},
                        ]
                    }
                }
            ],
            "status": "success",
        }
    }  # fmt: skip
    model.add_response(
        "converse",
        final("You have alice/notes and alice/site."),
        converse_params(
            [
                *asked,
                {"role": "assistant", "content": used["output"]["message"]["content"]},
                {"role": "user", "content": [tool_result]},
            ]
        ),
    )

    response = bedrock_client.post(
        "/api/chat",
        json={"message": "what are my repos?", "history": history},
        headers={"x-amzn-oidc-data": signer.token()},
    )

    assert response.get_json() == {"reply": "You have alice/notes and alice/site."}


def test_consent_needed_ends_the_turn_without_showing_the_link_to_the_model(
    bedrock_client, bedrock, signer, stub
):
    _, model = bedrock
    model.add_response(
        "converse",
        tool_use("github_profile"),
        converse_params([{"role": "user", "content": [{"text": "who am i on github"}]}]),
    )
    expect_workload_token(stub)
    expect_new_flow(stub)

    response = bedrock_client.post(
        "/api/chat",
        json={"message": "who am i on github"},
        headers={"x-amzn-oidc-data": signer.token()},
    )

    body = response.get_json()
    assert body["authorization"]["url"] == AUTH_URL_1
    assert AUTH_URL_1 not in body["reply"]  # and no second converse call was made


def test_bedrock_failure_is_503(bedrock_client, bedrock, signer):
    _, model = bedrock
    model.add_client_error("converse", "ThrottlingException", "slow down", 429)

    response = bedrock_client.post(
        "/api/chat", json={"message": "hi"}, headers={"x-amzn-oidc-data": signer.token()}
    )

    assert response.status_code == 503
    assert "slow down" not in response.get_data(as_text=True)
