"""Review findings on the pending-flow store's objects."""

from __future__ import annotations

from identity_core.pending import PendingFlow

SESSION = "urn:ietf:params:oauth:request_uri:review-0001"
URL = "https://github.example/login/oauth/authorize?request_uri=review-0001"


def test_pending_flow_prints_without_its_session_uri_or_consent_link():
    # botocore's model marks authorizationUrl sensitive, and audit events carry only a hash of
    # the session URI: a log line or traceback that prints the object must do no more.
    flow = PendingFlow(session_uri=SESSION, authorization_url=URL, expires_at=1_900_000_000)

    printed = repr(flow) + str(flow)

    assert SESSION not in printed and "review-0001" not in printed
    assert "1900000000" in printed
