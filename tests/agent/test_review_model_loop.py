"""Review: the Bedrock loop's bounds and what its tool results may carry."""

from __future__ import annotations

import json

import pytest
from botocore.stub import Stubber

from tests.agent.conftest import EXTERNAL_TOKEN, fake_session
from tests.agent.test_bedrock_loop import MODEL_ID, final, tool_use
from tests.agent.test_chat_flow import expect_resource, expect_workload_token


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


def test_a_model_that_only_ever_calls_tools_is_stopped_after_five_calls(
    bedrock_client, bedrock, signer, stub, github
):
    # Each round answers with another tool use; the turn must end, not loop until the ALB or
    # gunicorn gives up. Stubber fails the test on a sixth converse call (none queued).
    _, model = bedrock
    expect_workload_token(stub)
    for _ in range(5):
        model.add_response("converse", tool_use("github_profile"))
        expect_resource(stub, {"accessToken": EXTERNAL_TOKEN})

    response = bedrock_client.post(
        "/api/chat", json={"message": "who am i"}, headers={"x-amzn-oidc-data": signer.token()}
    )

    assert response.status_code == 200
    assert response.get_json() == {"reply": "I could not finish this request. Please try again."}
    assert len(github.requests) == 5


def test_tokens_refused_twice_reach_neither_the_model_nor_the_page(
    bedrock_client, bedrock, signer, stub, github
):
    """Both the stored and the freshly forced token get 401: the model hears a plain error."""
    client, model = bedrock
    github.accounts.clear()
    renewed = "ext-token-alice-renewed-review"
    expect_workload_token(stub)
    expect_resource(stub, {"accessToken": EXTERNAL_TOKEN})
    expect_resource(stub, {"accessToken": renewed}, forceAuthentication=True)
    model.add_response("converse", tool_use("github_profile"))
    model.add_response("converse", final("No access."))
    sent_to_model: list[str] = []
    client.meta.events.register(
        "provide-client-params.bedrock-runtime.Converse",
        lambda params, **_: sent_to_model.append(json.dumps(params["messages"])),
    )

    response = bedrock_client.post(
        "/api/chat", json={"message": "who am i"}, headers={"x-amzn-oidc-data": signer.token()}
    )

    assert response.get_json() == {"reply": "No access."}
    assert len(sent_to_model) == 2
    assert "GitHub refused the user's token" in sent_to_model[1]
    for token in (EXTERNAL_TOKEN, renewed):
        assert token not in sent_to_model[1]
        assert token not in response.get_data(as_text=True)
