"""Tokens made the way the ALB makes ``x-amzn-oidc-data``, and a key endpoint that serves them.

Built with ``cryptography`` rather than a JWT library on purpose: libraries strip the ``=``
padding that the ALB keeps, and the point of these tokens is to look exactly like the ALB's.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

REGION = "eu-west-1"
ALB_ARN = (
    "arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/app/agents/0123456789abcdef"
)
OTHER_ALB_ARN = (
    "arn:aws:elasticloadbalancing:eu-west-1:444455556666:loadbalancer/app/evil/fedcba9876543210"
)
CLIENT_ID = "00000000-aaaa-bbbb-cccc-000000000001"
ISSUER = "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0"


def b64_padded(data: bytes) -> str:
    """base64url with ``=`` padding kept, as the ALB encodes every segment."""
    return base64.urlsafe_b64encode(data).decode()


def b64_unpadded(data: bytes) -> str:
    return b64_padded(data).rstrip("=")


@dataclass
class AlbSigner:
    """Signs ALB-shaped tokens with one P-256 key under one ``kid``."""

    kid: str = field(default_factory=lambda: str(uuid.uuid4()))
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    @property
    def public_pem(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign_raw(self, signing_input: bytes) -> bytes:
        """ES256 as JOSE wants it: r and s, 32 bytes each, not DER."""
        r, s = decode_dss_signature(self.key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def token(
        self,
        sub: str = "alice-sub-0001",
        *,
        claims: dict[str, Any] | None = None,
        header: dict[str, Any] | None = None,
        signer: str = ALB_ARN,
        client: str = CLIENT_ID,
        issuer: str = ISSUER,
        expires_in: int = 120,
        padded: bool = True,
        sign_unpadded: bool = False,
    ) -> str:
        exp = int(time.time()) + expires_in
        head = {
            "typ": "JWT",
            "kid": self.kid,
            "alg": "ES256",
            "iss": issuer,
            "client": client,
            "signer": signer,
            "exp": exp,
        }
        head.update(header or {})
        body = {
            "sub": sub,
            "name": "Alice Müller",
            "email": "alice@example.test",
            "exp": exp,
            "iss": issuer,
        }
        body.update(claims or {})
        raw_head = json.dumps(head, separators=(",", ":"), ensure_ascii=False).encode()
        raw_body = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        sign_enc = b64_unpadded if sign_unpadded else b64_padded
        signature = self.sign_raw(f"{sign_enc(raw_head)}.{sign_enc(raw_body)}".encode())
        enc = b64_padded if padded else b64_unpadded
        return f"{enc(raw_head)}.{enc(raw_body)}.{enc(signature)}"


class KeyEndpoint:
    """A local stand-in for ``https://public-keys.auth.elb.<region>.amazonaws.com``."""

    def __init__(self) -> None:
        self.keys: dict[str, bytes] = {}
        self.requests: list[str] = []
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def add(self, signer: AlbSigner) -> None:
        self.keys[signer.kid] = signer.public_pem

    @Request.application
    def _app(self, request: Request) -> Response:
        self.requests.append(request.path)
        pem = self.keys.get(request.path.lstrip("/"))
        if pem is None:
            return Response("not found", status=404)
        return Response(pem, content_type="application/x-pem-file")

    def start(self) -> KeyEndpoint:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def key_endpoint(*signers: AlbSigner) -> Iterator[KeyEndpoint]:
    endpoint = KeyEndpoint().start()
    for signer in signers:
        endpoint.add(signer)
    try:
        yield endpoint
    finally:
        endpoint.stop()


def core_environ(key_endpoint_url: str, **overrides: str) -> dict[str, str]:
    """The settings both services need, pointing at a local key endpoint."""
    environ = {
        "AWS_REGION": REGION,
        "ALB_ARN": ALB_ARN,
        "ALB_PUBLIC_KEY_ENDPOINT": key_endpoint_url,
        "OIDC_ISSUER": ISSUER,
        "OIDC_CLIENT_ID": CLIENT_ID,
        "USER_ID_PREFIX": "entra+",
        "PENDING_FLOW_TABLE": "pending-flows",
        "LOG_LEVEL": "INFO",
    }
    environ.update(overrides)
    return environ
