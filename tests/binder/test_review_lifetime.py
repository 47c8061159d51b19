"""Review: a link's lifetime is AgentCore's ten minutes, pinned as a number.

The existing expiry test computes its clock from SESSION_LIFETIME_SECONDS, so it would pass
with any lifetime at all; these use the figure AgentCore documents.
"""

from __future__ import annotations

import time

from identity_core.pending import PendingFlowStore

from tests.binder.helpers import ALICE_SUB, SESSION, TABLE, record_flow
from tests.binder.test_session_binding import expect_binding

AGENTCORE_SESSION_SECONDS = 600


def test_link_recorded_ten_minutes_and_a_second_ago_is_expired(binder, dynamodb):
    record_flow(PendingFlowStore(dynamodb, TABLE, clock=lambda: time.time() - 601))

    response = binder.get()

    assert response.status_code == 410
    assert binder.agentcore_calls == []


def test_link_recorded_nine_minutes_ago_still_binds(binder, dynamodb):
    record_flow(PendingFlowStore(dynamodb, TABLE, clock=lambda: time.time() - 540))
    token = binder.signer.token(ALICE_SUB)
    expect_binding(binder, token)

    assert binder.get(token=token).status_code == 303


def test_the_recorded_expiry_is_exactly_agentcores_session_lifetime(store, dynamodb):
    before = int(time.time())
    record_flow(store)
    item = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"session#{SESSION}"}})["Item"]
    created = int(item["created_at"]["N"])
    assert before <= created <= before + 2
    assert int(item["expires_at"]["N"]) - created == AGENTCORE_SESSION_SECONDS
