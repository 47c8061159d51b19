"""Review findings on pending flows as the agent drives them."""

from __future__ import annotations

from tests.agent.test_chat_flow import (
    AUTH_URL_2,
    SESSION_1,
    SESSION_2,
    chat,
    expect_new_flow,
    expect_resource,
    expect_workload_token,
    pending_pointer,
    resource_params,
)


def test_failed_session_is_not_polled_again_when_the_new_flow_could_not_start(
    client, signer, stub, dynamodb, table
):
    """The existing FAILED test passes without the forget (the new flow overwrites the pointer);
    this one shows why it matters: if starting the new flow fails, the next turn must not poll
    the dead session again."""
    expect_workload_token(stub)
    expect_new_flow(stub)
    expect_resource(stub, {"sessionStatus": "FAILED"}, sessionUri=SESSION_1)
    stub.add_client_error(
        "get_resource_oauth2_token", "ValidationException", "no", 400, resource_params()
    )
    expect_new_flow(stub, SESSION_2, AUTH_URL_2)

    chat(client, signer, "list my repos")
    failed = chat(client, signer, "list my repos")
    assert failed.status_code == 503
    assert pending_pointer(dynamodb, table) is None

    again = chat(client, signer, "list my repos")

    assert again.get_json()["authorization"]["url"] == AUTH_URL_2
