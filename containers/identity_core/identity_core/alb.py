"""Verification of the ``x-amzn-oidc-data`` header that the ALB adds after OIDC sign-in.

The header is the only source of identity. It is a JWT the ALB signs with ES256, with two
quirks that trip general-purpose code: its segments are base64url *with* ``=`` padding, and the
signature covers those padded bytes exactly as sent. So the signature is checked over the
received ``header.payload`` bytes, never over a re-encoding, and segments are decoded strictly
(URL-safe alphabet, padding required, anything else refused).

PyJWT's ES256 implementation does the cryptography (raw ``r||s`` to DER, curve and length
checks). Its ``jwt.decode`` is not used: it validates each segment's alphabet in a Python loop,
which made verification cost two to four times the signature check itself, on every request.
The claim checks it would do are few and explicit here instead, along with those specific to
ALBs:

- ``alg`` must be ES256 (no ``none``, no HMAC with a public key as the secret);
- ``kid`` must look like a key id before it becomes part of a URL (no path, host or query);
- ``signer`` must be *our* ALB: the key endpoint serves every ALB in the region, so a token
  minted by someone else's load balancer verifies just as well (the "ALBeast" advisory);
- ``client`` and ``iss`` must be our OIDC client and issuer, and ``exp`` not passed.

ALB tokens carry no ``iat`` or ``aud``, so neither is required.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import requests
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt.algorithms import get_default_algorithms

if TYPE_CHECKING:
    from .settings import CoreSettings

log = logging.getLogger(__name__)

HEADER_NAME = "x-amzn-oidc-data"
# The ALB refuses claims over 11 KB; anything much larger than that did not come from it.
MAX_HEADER_BYTES = 16 * 1024
EXP_LEEWAY_SECONDS = 30
# ALB key ids are UUID-like; anything else (a path, a URL, a query) never reaches the network.
_KID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


class InvalidIdentity(Exception):
    """The header is missing, malformed, forged, expired or from another ALB or client.

    ``reason`` is for the audit log only; callers answer 401 without it.
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class KeyEndpointUnavailable(Exception):
    """The ALB public key endpoint could not be reached: callers answer 503, not 401."""


@dataclass(frozen=True)
class Identity:
    """A verified sign-in. ``claims`` are the IdP's user info claims as the ALB relayed them."""

    sub: str
    claims: dict[str, Any] = field(repr=False)
    expires_at: int

    @property
    def display_name(self) -> str:
        return str(self.claims.get("name") or self.claims.get("preferred_username") or self.sub)


class PublicKeyCache:
    """ALB public keys by ``kid``, fetched once each and kept in a bounded LRU.

    ALB keys rotate rarely and a key id never changes meaning, so entries need no expiry;
    the bound stops a stream of made-up key ids from growing memory. Concurrent first requests
    for one ``kid`` may fetch it more than once, which is harmless.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        max_entries: int = 32,
        timeout: tuple[float, float] = (1.0, 2.0),
        session: requests.Session | None = None,
    ):
        self._endpoint = endpoint.rstrip("/")
        self._max_entries = max_entries
        self._timeout = timeout
        self._session = session or requests.Session()
        self._keys: OrderedDict[str, ec.EllipticCurvePublicKey] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, kid: str) -> ec.EllipticCurvePublicKey:
        with self._lock:
            key = self._keys.get(kid)
            if key is not None:
                self._keys.move_to_end(kid)
                return key
        key = self._fetch(kid)
        with self._lock:
            self._keys[kid] = key
            self._keys.move_to_end(kid)
            while len(self._keys) > self._max_entries:
                self._keys.popitem(last=False)
        return key

    def _fetch(self, kid: str) -> ec.EllipticCurvePublicKey:
        url = f"{self._endpoint}/{kid}"
        try:
            response = self._session.get(url, timeout=self._timeout, allow_redirects=False)
        except requests.RequestException as exc:
            log.warning("ALB public key endpoint unreachable: %s", type(exc).__name__)
            raise KeyEndpointUnavailable from exc
        if response.status_code >= 500:
            log.warning("ALB public key endpoint answered %s", response.status_code)
            raise KeyEndpointUnavailable
        if response.status_code != 200:
            # An unknown kid: the endpoint answers 403/404 for keys it never issued.
            raise InvalidIdentity("unknown key id")
        try:
            key = load_pem_public_key(response.content)
        except ValueError:
            raise InvalidIdentity("key endpoint returned no PEM key") from None
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            raise InvalidIdentity("key is not a P-256 key")
        return key


class AlbHeaderVerifier:
    """Verifies ``x-amzn-oidc-data`` for one ALB, OIDC client and issuer."""

    def __init__(
        self,
        *,
        alb_arn: str,
        client_id: str,
        issuer: str,
        keys: PublicKeyCache,
    ):
        self._alb_arn = alb_arn
        self._client_id = client_id
        self._issuer = issuer
        self._keys = keys

    @classmethod
    def from_settings(cls, core: CoreSettings) -> AlbHeaderVerifier:
        """The verifier for this deployment's ALB, OIDC client and issuer."""
        return cls(
            alb_arn=core.alb_arn,
            client_id=core.oidc_client_id,
            issuer=core.oidc_issuer,
            keys=PublicKeyCache(core.alb_key_endpoint),
        )

    def verify(self, header_value: str | None) -> Identity:
        if not header_value:
            raise InvalidIdentity("header missing")
        if len(header_value) > MAX_HEADER_BYTES:
            raise InvalidIdentity("header too large")
        # base64url is ASCII; gunicorn passes other bytes on as latin-1 characters. Refused here
        # once, so that no later step (the signing input is encoded as ASCII) can fail with a 500.
        if not header_value.isascii():
            raise InvalidIdentity("non-ASCII characters in header")
        segments = header_value.split(".")
        if len(segments) != 3:
            raise InvalidIdentity("not a signed JWT")
        header = _json_segment(segments[0], "header")

        # Algorithm confusion: only the ALB's algorithm, never none or HS256.
        if header.get("alg") != "ES256":
            raise InvalidIdentity("unexpected alg")
        # The kid becomes part of a URL: it must not be able to change the path or the host.
        kid = header.get("kid")
        if not isinstance(kid, str) or not _KID.fullmatch(kid):
            raise InvalidIdentity("malformed kid")
        # Any ALB in the region can mint a validly signed token; only ours may vouch for users.
        if header.get("signer") != self._alb_arn:
            raise InvalidIdentity("signer is not our load balancer")
        # A token issued for another OIDC client (another application behind another ALB).
        if header.get("client") != self._client_id:
            raise InvalidIdentity("token for another client")
        if header.get("iss") != self._issuer:
            raise InvalidIdentity("token from another issuer")

        key = self._keys.get(kid)
        # Over the bytes as received: re-encoding (say, without padding) would verify nothing.
        signing_input = f"{segments[0]}.{segments[1]}".encode("ascii")
        try:
            valid = _ES256.verify(signing_input, key, _b64decode(segments[2], "signature"))
        except ValueError:  # a signature that is not 64 bytes of r||s
            valid = False
        if not valid:
            raise InvalidIdentity("bad signature")

        claims = _json_segment(segments[1], "payload")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            raise InvalidIdentity("no expiry")
        if time.time() > exp + EXP_LEEWAY_SECONDS:
            raise InvalidIdentity("expired")
        if claims.get("iss") != self._issuer:
            raise InvalidIdentity("payload from another issuer")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise InvalidIdentity("no subject")
        return Identity(sub=sub, claims=claims, expires_at=int(exp))


_ES256 = get_default_algorithms()["ES256"]


def _b64decode(segment: str, what: str) -> bytes:
    """Strict base64url: the URL-safe alphabet only, with the padding the ALB always sends."""
    # b64decode(altchars=b"-_", validate=True) also takes the standard alphabet's + and /, so an
    # ALB signature re-spelled with them verified. Two substring tests cost nanoseconds; a
    # regex over the whole segment cost a sixth of the signature check.
    if "+" in segment or "/" in segment:
        raise InvalidIdentity(f"malformed {what} segment")
    try:
        return base64.b64decode(segment.encode("ascii"), altchars=b"-_", validate=True)
    except (ValueError, binascii.Error):
        raise InvalidIdentity(f"malformed {what} segment") from None


def _json_segment(segment: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(_b64decode(segment, what))
    except ValueError:  # not JSON, or not UTF-8
        raise InvalidIdentity(f"malformed {what} segment") from None
    if not isinstance(value, dict):
        raise InvalidIdentity(f"malformed {what} segment")
    return value
