"""The `x-amzn-oidc-data` header, minted the way an Application Load Balancer mints it.

What the ALB does that JWT libraries don't, and that verifiers must cope with:

- each segment is base64url *with* its `=` padding;
- the header carries `signer` (the ALB's ARN), `client` and `iss` besides `typ`, `kid`, `alg`
  and `exp`; the payload is the IdP's user info claims plus `exp` and `iss`, no `iat` or `aud`;
- the ES256 signature is the raw 64-byte r||s pair over the padded `header.payload` bytes.

JWT libraries strip the padding when they encode, so this is built with `cryptography` alone.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

P256_COORDINATE_BYTES = 32


def b64url_padded(data: bytes) -> str:
    """base64url with `=` padding kept, as the ALB writes every segment."""
    return base64.urlsafe_b64encode(data).decode("ascii")


def _json_bytes(value: dict) -> bytes:
    # Raw UTF-8 rather than \\u escapes: display names like "Alice Müller" then reach the
    # verifier as multi-byte characters, the case that breaks naive decoders.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def es256_raw_signature(private_key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """ECDSA P-256/SHA-256 as JWS wants it: r||s, 32 bytes each, not DER."""
    der = private_key.sign(data, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return r.to_bytes(P256_COORDINATE_BYTES, "big") + s.to_bytes(P256_COORDINATE_BYTES, "big")


def mint_oidc_data(
    claims: dict,
    *,
    private_key: ec.EllipticCurvePrivateKey,
    kid: str,
    signer: str,
    issuer: str,
    client_id: str,
    expires_at: int,
) -> str:
    """Return an ALB-shaped `x-amzn-oidc-data` value for these user info claims."""
    header = {
        "typ": "JWT",
        "kid": kid,
        "alg": "ES256",
        "iss": issuer,
        "client": client_id,
        "signer": signer,
        "exp": expires_at,
    }
    payload = {**claims, "exp": expires_at, "iss": issuer}
    signing_input = f"{b64url_padded(_json_bytes(header))}.{b64url_padded(_json_bytes(payload))}"
    signature = es256_raw_signature(private_key, signing_input.encode("ascii"))
    return f"{signing_input}.{b64url_padded(signature)}"


@dataclass
class SigningKey:
    """One P-256 key pair and the `kid` under which the key endpoint serves its public half."""

    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    # Real ALB key ids are UUIDs; the containers check the shape before using one in a URL.
    kid: str = field(default_factory=lambda: str(uuid.uuid4()))

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid!r}, private_key=<present>)"
