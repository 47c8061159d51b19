"""Edge cases found in review: bytes the ALB never sends must be a 401, never a 500."""

from __future__ import annotations

import pytest
from identity_core.alb import AlbHeaderVerifier, InvalidIdentity, PublicKeyCache

from tests.support.alb_tokens import ALB_ARN, CLIENT_ID, ISSUER, AlbSigner, key_endpoint


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


def _with_non_ascii(token: str, segment: int) -> str:
    # gunicorn hands header bytes above 0x7f to the app as latin-1 characters, like this one.
    parts = token.split(".")
    parts[segment] += "\u00e9"
    return ".".join(parts)


@pytest.mark.parametrize("segment", [0, 1, 2], ids=["header", "payload", "signature"])
def test_non_ascii_byte_in_any_segment_is_invalid_identity(segment, signer, verifier):
    # The header segment is a copy of a genuine one (signer, client, issuer, kid all ours), so
    # the check must hold after the key fetch too, where the payload was once encoded as ASCII
    # unguarded and the request ended in a 500 with a traceback.
    with pytest.raises(InvalidIdentity):
        verifier.verify(_with_non_ascii(signer.token(), segment))


def test_genuine_token_with_non_ascii_name_still_verifies(signer, verifier):
    # Names are inside the base64 payload: the header value itself is always ASCII.
    identity = verifier.verify(signer.token(claims={"name": "Zoë Łukasiewicz"}))
    assert identity.display_name == "Zoë Łukasiewicz"
