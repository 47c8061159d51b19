"""Review findings on the pending-flow store as the binder meets it."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.binder.helpers import ALICE_SUB, SESSION, flow_status, record_flow
from tests.binder.test_session_binding import expect_binding


def test_recording_a_used_session_again_does_not_revive_the_link(binder, store, dynamodb):
    """A consumed link stays consumed even if the same session URI is recorded again.

    Nothing else in the suite failed when the record's ``attribute_not_exists`` condition was
    removed, and without it a second record of the URI would reset it to pending: a replay.
    """
    record_flow(store)
    token = binder.signer.token(ALICE_SUB)
    expect_binding(binder, token)
    assert binder.get(token=token).status_code == 303

    with pytest.raises(ClientError) as refused:
        record_flow(store)

    assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert flow_status(dynamodb, SESSION) == "consumed"
    replay = binder.get(token=token)
    assert replay.status_code == 409
    assert len(binder.agentcore_calls) == 1


def test_user_ids_that_differ_only_in_case_or_normal_form_are_different_users(
    binder, store, dynamodb
):
    # AgentCore compares user ids as exact strings; so does the binder's check.
    record_flow(store, sub="Alice-Sub")
    for sub in ("alice-sub", "ALICE-SUB", "Alice-Sub\u0301"):
        response = binder.get(token=binder.signer.token(sub))
        assert response.status_code == 403, sub
    assert binder.agentcore_calls == []
    assert flow_status(dynamodb, SESSION) == "pending"


def test_a_subject_shaped_like_a_pointer_key_cannot_reach_another_users_flow(store):
    # The pointer key is "user#<user id>#provider#<provider>"; provider names cannot contain
    # "#", so the key is one-to-one with the pair even for a subject that imitates the format.
    store.record(
        session_uri=SESSION,
        authorization_url="https://github.com/login/oauth/authorize?client_id=x",
        user_id="entra+alice",
        provider="github",
    )

    assert store.active(user_id="entra+alice#provider#github", provider="github") is None
    assert store.active(user_id="entra+alice#provider", provider="github") is None
    assert store.active(user_id="entra+alice", provider="github").session_uri == SESSION
