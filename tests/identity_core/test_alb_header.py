"""The ALB header verifier against tokens shaped exactly like the ALB's, good and forged."""

from __future__ import annotations

import base64
import json

import jwt
import pytest
from identity_core.alb import (
    AlbHeaderVerifier,
    InvalidIdentity,
    KeyEndpointUnavailable,
    PublicKeyCache,
)
from identity_core.identity import derive_user_id

from tests.support.alb_tokens import (
    ALB_ARN,
    CLIENT_ID,
    ISSUER,
    OTHER_ALB_ARN,
    AlbSigner,
    b64_padded,
    key_endpoint,
)


@pytest.fixture
def signer():
    return AlbSigner()


@pytest.fixture
def endpoint(signer):
    with key_endpoint(signer) as ep:
        yield ep


@pytest.fixture
def verifier(endpoint):
    return AlbHeaderVerifier(
        alb_arn=ALB_ARN, client_id=CLIENT_ID, issuer=ISSUER, keys=PublicKeyCache(endpoint.url)
    )


def test_alb_shaped_token_with_padding_and_non_ascii_name_verifies(signer, verifier):
    token = signer.token("alice-sub-0001", claims={"name": "Ålice Müller-Łukasiewicz"})
    assert "=" in token, "the fixture must exercise padded segments"

    identity = verifier.verify(token)

    assert identity.sub == "alice-sub-0001"
    assert identity.display_name == "Ålice Müller-Łukasiewicz"
    assert derive_user_id(identity, "entra+") == "entra+alice-sub-0001"


def test_key_is_fetched_once_per_kid(signer, verifier, endpoint):
    for _ in range(3):
        verifier.verify(signer.token())
    assert endpoint.requests == [f"/{signer.kid}"]


def _alg_none(signer: AlbSigner) -> str:
    head, body, _sig = signer.token().split(".")
    header = json.loads(base64.urlsafe_b64decode(head))
    header["alg"] = "none"
    return f"{b64_padded(json.dumps(header).encode())}.{body}."


def _hs256_with_public_key(signer: AlbSigner) -> str:
    # Algorithm confusion: an HMAC keyed with the (public) PEM, headers otherwise perfect.
    header = {"kid": signer.kid, "signer": ALB_ARN, "client": CLIENT_ID, "iss": ISSUER}
    return jwt.api_jws.PyJWS().encode(
        json.dumps({"sub": "alice", "exp": 2**31, "iss": ISSUER}).encode(),
        "not-the-alb-key-but-a-guessable-secret-of-32-bytes!",
        algorithm="HS256",
        headers=header,
    )


def _tampered_payload(signer: AlbSigner) -> str:
    head, _body, sig = signer.token("mallory-sub").split(".")
    body = b64_padded(json.dumps({"sub": "alice-sub-0001", "exp": 2**31, "iss": ISSUER}).encode())
    return f"{head}.{body}.{sig}"


def _swap_signature_char(token: str, char: str) -> str:
    return token[:-6] + char + token[-5:]


FORGED = {
    "other_signer": lambda s: s.token(signer=OTHER_ALB_ARN),
    "other_client": lambda s: s.token(client="another-app"),
    "other_issuer_in_header": lambda s: s.token(issuer="https://evil.example/v2.0"),
    "expired": lambda s: s.token(expires_in=-120),
    "alg_none": _alg_none,
    "alg_hs256": _hs256_with_public_key,
    "signed_over_unpadded_segments": lambda s: s.token(sign_unpadded=True),
    "reencoded_without_padding": lambda s: s.token(padded=False),
    "tampered_payload": _tampered_payload,
    "kid_is_a_path": lambda s: s.token(header={"kid": "../../etc/passwd"}),
    "kid_is_a_url": lambda s: s.token(header={"kid": "https://evil.example/key"}),
    "kid_has_a_query": lambda s: s.token(header={"kid": "abc?x=1"}),
    "unknown_kid": lambda s: s.token(header={"kid": "0000-unknown"}),
    "oversize": lambda s: s.token(claims={"pad": "x" * 20_000}),
    "standard_base64_alphabet": lambda s: _swap_signature_char(s.token(), "+"),
    "short_signature": lambda s: s.token().rsplit(".", 1)[0] + "." + b64_padded(b"\x01" * 32),
    "payload_without_exp": lambda s: s.token(claims={"exp": None}),
    "payload_exp_is_text": lambda s: s.token(claims={"exp": "2999-01-01"}),
    "payload_from_another_issuer": lambda s: s.token(claims={"iss": "https://evil.example/v2.0"}),
    "payload_without_sub": lambda s: s.token(claims={"sub": ""}),
    "not_a_jwt": lambda s: "plainly-not-a-token",
    "empty": lambda s: "",
}


@pytest.mark.parametrize("make", FORGED.values(), ids=FORGED.keys())
def test_forged_or_foreign_header_is_rejected(make, signer, verifier):
    with pytest.raises(InvalidIdentity):
        verifier.verify(make(signer))


@pytest.mark.parametrize("kid", ["../../etc/passwd", "https://evil.example/key", "abc?x=1"])
def test_malformed_kid_never_reaches_the_key_endpoint(kid, signer, verifier, endpoint):
    with pytest.raises(InvalidIdentity):
        verifier.verify(signer.token(header={"kid": kid}))
    assert endpoint.requests == []


def test_other_signer_is_rejected_before_any_key_fetch(signer, verifier, endpoint):
    with pytest.raises(InvalidIdentity, match="signer"):
        verifier.verify(signer.token(signer=OTHER_ALB_ARN))
    assert endpoint.requests == []


def test_missing_header_is_rejected():
    v = AlbHeaderVerifier(
        alb_arn=ALB_ARN,
        client_id=CLIENT_ID,
        issuer=ISSUER,
        keys=PublicKeyCache("http://127.0.0.1:9"),
    )
    with pytest.raises(InvalidIdentity, match="missing"):
        v.verify(None)


def test_unreachable_key_endpoint_is_unavailable_not_unauthenticated(signer):
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    v = AlbHeaderVerifier(
        alb_arn=ALB_ARN,
        client_id=CLIENT_ID,
        issuer=ISSUER,
        keys=PublicKeyCache("http://127.0.0.1:9"),
    )
    with pytest.raises(KeyEndpointUnavailable):
        v.verify(signer.token())


def test_key_cache_is_bounded(endpoint):
    signers = [AlbSigner() for _ in range(5)]
    for s in signers:
        endpoint.add(s)
    keys = PublicKeyCache(endpoint.url, max_entries=2)
    v = AlbHeaderVerifier(alb_arn=ALB_ARN, client_id=CLIENT_ID, issuer=ISSUER, keys=keys)
    for s in signers:
        v.verify(s.token())
    assert len(keys._keys) == 2


def test_user_id_longer_than_agentcore_allows_is_refused(signer, verifier):
    identity = verifier.verify(signer.token("s" * 130))
    with pytest.raises(InvalidIdentity):
        derive_user_id(identity, "entra+")


def test_pyjwt_full_decode_agrees_on_an_alb_token(signer, verifier):
    """The fast path must accept exactly what the library accepts for a genuine ALB token."""
    token = signer.token("alice-sub-0001")
    by_library = jwt.decode(
        token,
        signer.key.public_key(),
        algorithms=["ES256"],
        issuer=ISSUER,
        options={"verify_aud": False},
    )
    assert verifier.verify(token).claims == by_library
