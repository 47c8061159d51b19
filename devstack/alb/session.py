"""The ALB's session cookies: one encrypted blob split across `<name>-0`, `<name>-1`, ...

The ALB keeps the whole session (user claims and access token) in the browser, encrypted with a
key only it holds, and splits it into shards because a browser keeps at most ~4 KB per cookie
(up to 4 shards, 16 KB). The emulator does the same with AES-GCM under a key drawn at start, so a
restart signs everybody out, and any change to a shard makes the session unreadable.
"""

from __future__ import annotations

import base64
import json
import os
import time
from http.cookies import SimpleCookie

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SHARD_CHARS = 4000
MAX_SHARDS = 4
NONCE_COOKIE = "AWSELBAuthNonce"


class SessionTooLarge(ValueError):
    """The session does not fit in MAX_SHARDS cookies."""


class CookieBox:
    """Seals and opens cookie values; the cookie's name is bound in as associated data so a
    value cannot be moved from one cookie to another."""

    def __init__(self, key: bytes | None = None):
        self._aead = AESGCM(key or AESGCM.generate_key(bit_length=256))

    def __repr__(self) -> str:
        return "CookieBox(key=<present>)"

    def seal(self, name: str, value: dict) -> str:
        nonce = os.urandom(12)
        plaintext = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        sealed = nonce + self._aead.encrypt(nonce, plaintext, name.encode("ascii"))
        return base64.urlsafe_b64encode(sealed).decode("ascii").rstrip("=")

    def open(self, name: str, token: str) -> dict | None:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            plaintext = self._aead.decrypt(raw[:12], raw[12:], name.encode("ascii"))
            value = json.loads(plaintext)
        except (ValueError, InvalidTag):
            return None
        if not isinstance(value, dict) or not isinstance(value.get("exp"), int):
            return None
        if value["exp"] <= int(time.time()):
            return None
        return value


def read_session(box: CookieBox, cookies: dict[str, str], name: str) -> dict | None:
    shards = []
    for index in range(MAX_SHARDS):
        shard = cookies.get(f"{name}-{index}")
        if shard is None:
            break
        shards.append(shard)
    if not shards:
        return None
    return box.open(name, "".join(shards))


def _set_cookie(name: str, value: str, *, max_age: int, secure: bool) -> str:
    cookie = SimpleCookie()
    cookie[name] = value
    morsel = cookie[name]
    morsel["path"] = "/"
    morsel["httponly"] = True
    morsel["max-age"] = max_age
    if max_age == 0:
        morsel["expires"] = "Thu, 01 Jan 1970 00:00:00 GMT"
    if secure:
        morsel["secure"] = True
    return morsel.OutputString()


def session_set_cookies(
    box: CookieBox, name: str, session: dict, *, max_age: int, secure: bool
) -> list[str]:
    """Set-Cookie values for the session, plus expiry of every shard it no longer uses."""
    token = box.seal(name, session)
    shards = [token[i : i + SHARD_CHARS] for i in range(0, len(token), SHARD_CHARS)]
    if len(shards) > MAX_SHARDS:
        raise SessionTooLarge(f"session needs {len(shards)} cookies, at most {MAX_SHARDS}")
    headers = [
        _set_cookie(f"{name}-{i}", shard, max_age=max_age, secure=secure)
        for i, shard in enumerate(shards)
    ]
    headers += [
        _set_cookie(f"{name}-{i}", "", max_age=0, secure=secure)
        for i in range(len(shards), MAX_SHARDS)
    ]
    return headers


def expire_cookies(names: list[str], *, secure: bool) -> list[str]:
    return [_set_cookie(name, "", max_age=0, secure=secure) for name in names]


def nonce_set_cookie(box: CookieBox, pending: dict, *, max_age: int, secure: bool) -> str:
    return _set_cookie(
        NONCE_COOKIE, box.seal(NONCE_COOKIE, pending), max_age=max_age, secure=secure
    )
