"""ALB header edge cases found in review: bytes, encodings, keys and claims the ALB never sends."""

from __future__ import annotations

import json

import pytest
from identity_core.alb import (
    AlbHeaderVerifier,
    InvalidIdentity,
    KeyEndpointUnavailable,
    PublicKeyCache,
)
from identity_core.identity import derive_user_id
from jwt.algorithms import ECAlgorithm

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


def test_header_issuer_is_checked_even_when_the_payload_names_ours(signer, verifier):
    # The existing "other issuer" cases change both places at once, so the payload check alone
    # made them pass; this one isolates the header's own ``iss``.
    token = signer.token(header={"iss": "https://idp.example.test/v2.0"})
    with pytest.raises(InvalidIdentity, match="issuer"):
        verifier.verify(token)


def test_key_endpoint_redirect_is_not_followed(signer):
    """A redirect from the key endpoint is refused; its target is never asked for a key."""
    with key_endpoint() as elsewhere, key_endpoint() as redirecting:
        elsewhere.add(signer)  # the redirect target would even serve the right key

        def redirect_app(environ, start_response):
            redirecting.requests.append(environ["PATH_INFO"])
            location = f"{elsewhere.url}{environ['PATH_INFO']}"
            start_response("302 Found", [("Location", location), ("Content-Length", "0")])
            return [b""]

        redirecting._server.app = redirect_app
        verifier = AlbHeaderVerifier(
            alb_arn=ALB_ARN,
            client_id=CLIENT_ID,
            issuer=ISSUER,
            keys=PublicKeyCache(redirecting.url),
        )
        with pytest.raises(InvalidIdentity):
            verifier.verify(signer.token())

    assert redirecting.requests == [f"/{signer.kid}"]
    assert elsewhere.requests == []


@pytest.mark.parametrize("sub", ["alice\x00", "alice\nadmin", "alice\u200b", "ali\tce"])
def test_subject_with_control_or_invisible_characters_gets_no_user_id(sub, signer, verifier):
    # The user id reaches AgentCore, the table keys and every audit line verbatim.
    identity = verifier.verify(signer.token(sub))
    with pytest.raises(InvalidIdentity):
        derive_user_id(identity, "entra+")


@pytest.mark.parametrize("status", [500, 502, 503])
def test_key_endpoint_server_error_is_unavailable_not_unauthenticated(status, signer):
    with key_endpoint() as failing:

        def error_app(environ, start_response):
            start_response(f"{status} Error", [("Content-Length", "0")])
            return [b""]

        failing._server.app = error_app
        verifier = AlbHeaderVerifier(
            alb_arn=ALB_ARN, client_id=CLIENT_ID, issuer=ISSUER, keys=PublicKeyCache(failing.url)
        )
        with pytest.raises(KeyEndpointUnavailable):
            verifier.verify(signer.token())


def test_key_on_another_curve_is_refused_even_with_a_matching_signature():
    """A P-384 key under our kid, and a token signed with it, is not an ALB token."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    other = AlbSigner(key=ec.generate_private_key(ec.SECP384R1()))

    def sign_p384(signing_input: bytes) -> bytes:
        der = other.key.sign(signing_input, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return r.to_bytes(48, "big") + s.to_bytes(48, "big")

    other.sign_raw = sign_p384  # type: ignore[method-assign]
    with key_endpoint(other) as ep:
        verifier = AlbHeaderVerifier(
            alb_arn=ALB_ARN, client_id=CLIENT_ID, issuer=ISSUER, keys=PublicKeyCache(ep.url)
        )
        with pytest.raises(InvalidIdentity):
            # Without the curve check PyJWT's ES256 accepts this (mutation-tested in review).
            verifier.verify(other.token())


def _with_url_safe_chars(signer: AlbSigner) -> str:
    for _ in range(200):
        token = signer.token()
        if any(c in token.rsplit(".", 1)[1] for c in "-_"):
            return token
    raise AssertionError("no signature with - or _ in 200 tokens")


def test_signature_in_the_standard_base64_alphabet_is_refused(signer, verifier):
    # The same signature bytes spelled with + and / instead of - and _: the existing
    # "standard_base64_alphabet" case changed the bytes too, so the signature check refused it.
    # The signature is not covered by itself, so this spelling verified: a second header
    # string for one sign-in, which nothing should accept as ALB output.
    token = _with_url_safe_chars(signer)
    head, body, sig = token.split(".")
    respelled = f"{head}.{body}.{sig.replace('-', '+').replace('_', '/')}"

    with pytest.raises(InvalidIdentity, match="malformed signature"):
        verifier.verify(respelled)
    assert verifier.verify(token).sub == "alice-sub-0001"


def test_key_carried_or_pointed_to_by_the_token_is_never_used(signer, verifier, endpoint):
    """jwk, jku and x5u name a key chosen by whoever made the token: only kid is looked up,
    and only at the configured ALB key endpoint."""
    mallory = AlbSigner(kid=signer.kid)  # our kid, Mallory's key
    with key_endpoint(mallory) as mallorys_keys:
        jwk = json.loads(ECAlgorithm.to_jwk(mallory.key.public_key()))
        token = mallory.token(
            header={"jwk": jwk, "jku": mallorys_keys.url, "x5u": f"{mallorys_keys.url}/cert"}
        )
        with pytest.raises(InvalidIdentity, match="bad signature"):
            verifier.verify(token)
        assert mallorys_keys.requests == []
    assert endpoint.requests == [f"/{signer.kid}"]
