"""Review findings on the agent's identity guard, through the HTTP API."""

from __future__ import annotations


def test_non_ascii_byte_in_the_payload_segment_is_401_with_no_aws_call(
    client, signer, stub, aws_calls
):
    head, body, sig = signer.token().split(".")
    forged = f"{head}.{body}\u00e9.{sig}"  # what gunicorn passes on for a raw 0xe9 byte

    response = client.post(
        "/api/chat", json={"message": "list my repos"}, headers={"x-amzn-oidc-data": forged}
    )

    assert response.status_code == 401
    assert response.get_json() == {"error": "unauthenticated", "message": "Sign-in is required."}
    assert aws_calls == []
