"""devstack/alb/signing.py: tokens shaped exactly like the ALB's x-amzn-oidc-data."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from devstack.alb.signing import SigningKey, mint_oidc_data

ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/test/0123456789abcdef"
ISSUER = "http://127.0.0.1:9001/tenant/v2.0"


def _mint(key: SigningKey, claims: dict, exp: int | None = None) -> str:
    return mint_oidc_data(
        claims,
        private_key=key.private_key,
        kid=key.kid,
        signer=ARN,
        issuer=ISSUER,
        client_id="alb-client",
        expires_at=exp or int(time.time()) + 120,
    )


def _verify_raw(public_key, signing_input: bytes, signature_segment: str) -> None:
    raw = base64.urlsafe_b64decode(signature_segment)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public_key.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))


def _claims_needing_padding(key: SigningKey) -> tuple[dict, str]:
    """Claims whose payload segment carries `=` padding (its JSON length is not a multiple of 3)."""
    for filler in range(3):
        claims = {"sub": "abc", "name": "Alice Müller", "x": "y" * filler}
        token = _mint(key, claims, exp=2_000_000_000)
        if token.split(".")[1].endswith("="):
            return claims, token
    raise AssertionError("no padding found in three consecutive payload lengths")


def test_segments_keep_padding_and_the_header_names_the_alb():
    key = SigningKey()
    _, token = _claims_needing_padding(key)
    header_segment, payload_segment, signature_segment = token.split(".")

    assert payload_segment.endswith("=")
    assert signature_segment.endswith("==")
    header = json.loads(base64.urlsafe_b64decode(header_segment))
    assert header == {
        "typ": "JWT",
        "kid": key.kid,
        "alg": "ES256",
        "iss": ISSUER,
        "client": "alb-client",
        "signer": ARN,
        "exp": 2_000_000_000,
    }


def test_signature_covers_the_padded_bytes_and_fails_once_padding_is_stripped():
    key = SigningKey()
    public_key = load_pem_public_key(key.public_pem())
    _, token = _claims_needing_padding(key)
    header_segment, payload_segment, signature_segment = token.split(".")

    _verify_raw(public_key, f"{header_segment}.{payload_segment}".encode(), signature_segment)
    stripped = f"{header_segment.rstrip('=')}.{payload_segment.rstrip('=')}".encode()
    with pytest.raises(InvalidSignature):
        _verify_raw(public_key, stripped, signature_segment)


def test_pyjwt_verifies_the_token_and_reads_non_ascii_names():
    key = SigningKey()
    claims, token = _claims_needing_padding(key)

    decoded = jwt.decode(token, load_pem_public_key(key.public_pem()), algorithms=["ES256"])

    assert decoded == {**claims, "exp": 2_000_000_000, "iss": ISSUER}
    assert decoded["name"] == "Alice Müller"


def test_a_token_signed_by_another_key_does_not_verify():
    token = _mint(SigningKey(), {"sub": "abc"})

    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, load_pem_public_key(SigningKey().public_pem()), algorithms=["ES256"])


def test_signing_key_repr_hides_the_private_key():
    assert "<present>" in repr(SigningKey())
    assert "PRIVATE" not in repr(SigningKey())
