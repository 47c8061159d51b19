"""Where each credential provider's authorization server is, and how to talk to its token endpoint.

Real AgentCore knows the endpoints of its built-in vendors (GitHub, Microsoft, Google, ...). The
emulator takes them from a vendor config instead, so the local stack can point `GithubOauth2` at
its own authorization server. Format (JSON file or dict), one entry per vendor:

    {
      "GithubOauth2": {
        "authorization_endpoint": "http://127.0.0.1:9002/auth",
        "token_endpoint": "http://127.0.0.1:9002/token",
        "issuer": "http://127.0.0.1:9002",                  (optional)
        "token_endpoint_auth_method": "client_secret_basic" (optional, default client_secret_post)
      }
    }

`{tenant}` in a MicrosoftOauth2 endpoint is replaced by the provider's `tenantId` ("common" when
unset). Vendors missing from the config fall back to their public endpoints below; the emulator
never needs them in tests. `CustomOauth2` providers carry their own `oauthDiscovery`, as in
botocore's model: inline `authorizationServerMetadata`, or a `discoveryUrl` fetched on first use.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import requests

from .model import AwsError, validation_error

AUTH_METHODS = ("client_secret_post", "client_secret_basic")
_ENDPOINT_KEYS = {
    "authorization_endpoint",
    "token_endpoint",
    "issuer",
    "token_endpoint_auth_method",
}
HTTP_TIMEOUT_SECONDS = 5

# Public endpoints of the vendors the local stack may name. GitHub documents its OAuth app
# endpoints at docs.github.com/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps;
# Microsoft's v2.0 endpoints at learn.microsoft.com/entra/identity-platform/v2-protocols.
DEFAULT_VENDOR_ENDPOINTS: dict[str, dict[str, str]] = {
    "GithubOauth2": {
        "issuer": "https://github.com",
        "authorization_endpoint": "https://github.com/login/oauth/authorize",
        "token_endpoint": "https://github.com/login/oauth/access_token",
    },
    "MicrosoftOauth2": {
        "issuer": "https://login.microsoftonline.com/{tenant}/v2.0",
        "authorization_endpoint": "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
        "token_endpoint": "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
    },
    "GoogleOauth2": {
        "issuer": "https://accounts.google.com",
        "authorization_endpoint": "https://accounts.google.com/o/oauth2/v2/auth",
        "token_endpoint": "https://oauth2.googleapis.com/token",
    },
}


class VendorConfigError(ValueError):
    """The vendor config is malformed; the message names the entry and the key."""


def load_vendor_config(source: str | Path | dict[str, Any] | None) -> dict[str, dict[str, str]]:
    """Validate a vendor config given as a dict or a JSON file path, merged over the defaults."""
    if source is None:
        raw: dict[str, Any] = {}
    elif isinstance(source, dict):
        raw = source
    else:
        try:
            raw = json.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise VendorConfigError(f"vendor config {source}: {exc}") from exc
    if not isinstance(raw, dict):
        raise VendorConfigError("vendor config must be a JSON object keyed by vendor name")
    merged = {vendor: dict(endpoints) for vendor, endpoints in DEFAULT_VENDOR_ENDPOINTS.items()}
    for vendor, entry in raw.items():
        if not isinstance(entry, dict):
            raise VendorConfigError(f"vendor config {vendor}: must be an object")
        unknown = set(entry) - _ENDPOINT_KEYS
        if unknown:
            raise VendorConfigError(f"vendor config {vendor}: unknown keys {sorted(unknown)}")
        for key in ("authorization_endpoint", "token_endpoint"):
            value = entry.get(key)
            if not isinstance(value, str) or not value.startswith(("http://", "https://")):
                raise VendorConfigError(f"vendor config {vendor}: {key} must be an http(s) URL")
        method = entry.get("token_endpoint_auth_method", "client_secret_post")
        if method not in AUTH_METHODS:
            raise VendorConfigError(
                f"vendor config {vendor}: token_endpoint_auth_method must be one of {AUTH_METHODS}"
            )
        merged[vendor] = dict(entry)
    return merged


@dataclass(frozen=True)
class Endpoints:
    authorization_endpoint: str
    token_endpoint: str
    issuer: str | None
    auth_method: str


class EndpointResolver:
    """Endpoints of a provider: from the vendor config, or from a custom provider's discovery."""

    def __init__(self, vendors: dict[str, dict[str, str]]):
        self._vendors = vendors
        self._discovered: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def builtin_metadata(self, vendor: str, tenant: str | None) -> dict[str, Any] | None:
        entry = self._vendors.get(vendor)
        if entry is None:
            return None
        fill = tenant or "common"
        metadata = {
            "issuer": entry.get("issuer", entry["authorization_endpoint"]).replace(
                "{tenant}", fill
            ),
            "authorizationEndpoint": entry["authorization_endpoint"].replace("{tenant}", fill),
            "tokenEndpoint": entry["token_endpoint"].replace("{tenant}", fill),
            "responseTypes": ["code"],
        }
        return metadata

    def resolve(self, provider) -> Endpoints:
        if provider.vendor == "CustomOauth2":
            return self._custom(provider)
        entry = self._vendors.get(provider.vendor)
        if entry is None:
            raise validation_error(
                f"The emulator has no endpoints configured for vendor {provider.vendor}"
            )
        metadata = self.builtin_metadata(provider.vendor, provider.tenant_id)
        return Endpoints(
            authorization_endpoint=metadata["authorizationEndpoint"],
            token_endpoint=metadata["tokenEndpoint"],
            issuer=metadata["issuer"],
            auth_method=entry.get("token_endpoint_auth_method", "client_secret_post"),
        )

    def _custom(self, provider) -> Endpoints:
        discovery = provider.oauth_discovery
        metadata = discovery.get("authorizationServerMetadata")
        if metadata is not None:
            methods = metadata.get("tokenEndpointAuthMethods") or []
            return Endpoints(
                authorization_endpoint=metadata["authorizationEndpoint"],
                token_endpoint=metadata["tokenEndpoint"],
                issuer=metadata.get("issuer"),
                auth_method=_pick_method(provider.client_auth_method, methods),
            )
        document = self._discover(discovery["discoveryUrl"])
        return Endpoints(
            authorization_endpoint=document["authorization_endpoint"],
            token_endpoint=document["token_endpoint"],
            issuer=document.get("issuer"),
            auth_method=_pick_method(
                provider.client_auth_method,
                document.get("token_endpoint_auth_methods_supported") or [],
            ),
        )

    def _discover(self, url: str) -> dict[str, Any]:
        with self._lock:
            cached = self._discovered.get(url)
        if cached is not None:
            return cached
        try:
            response = requests.get(url, timeout=HTTP_TIMEOUT_SECONDS)
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise validation_error("Unable to fetch the OAuth2 discovery document") from exc
        if not isinstance(document, dict) or not all(
            isinstance(document.get(k), str) for k in ("authorization_endpoint", "token_endpoint")
        ):
            raise validation_error("The OAuth2 discovery document lacks its endpoints")
        with self._lock:
            self._discovered[url] = document
        return document


def _pick_method(configured: str | None, supported: list[str]) -> str:
    if configured:
        return configured.lower()
    for method in supported:
        if method in AUTH_METHODS:
            return method
    # RFC 8414 section 2: client_secret_basic is the default when the server lists none.
    return "client_secret_basic"


class TokenEndpointError(Exception):
    """The authorization server refused a grant; `error` is its OAuth error code, if any."""

    def __init__(self, error: str | None):
        super().__init__(error or "token endpoint failure")
        self.error = error


def call_token_endpoint(
    endpoints: Endpoints, client_id: str, client_secret: str, form: dict[str, Any]
) -> dict[str, Any]:
    """POST a grant to the token endpoint with the client's credentials; return its JSON."""
    data = dict(form)
    auth = None
    if endpoints.auth_method == "client_secret_basic":
        # RFC 6749 section 2.3.1: both parts are form-urlencoded before the Basic encoding.
        auth = (quote_plus(client_id), quote_plus(client_secret))
    else:
        data["client_id"] = client_id
        data["client_secret"] = client_secret
    try:
        response = requests.post(
            endpoints.token_endpoint,
            data=data,
            auth=auth,
            # GitHub answers form-encoded unless asked for JSON.
            headers={"Accept": "application/json"},
            timeout=HTTP_TIMEOUT_SECONDS,
        )
    except requests.RequestException as exc:
        raise TokenEndpointError(None) from exc
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    if not isinstance(payload, dict):
        payload = {}
    if response.status_code != 200 or "error" in payload or not payload.get("access_token"):
        error = payload.get("error")
        raise TokenEndpointError(error if isinstance(error, str) else None)
    return payload


def token_endpoint_failure() -> AwsError:
    # AWS does not pass the provider's answer through (aws/bedrock-agentcore-sdk-python#81,
    # "We don't propagate errors from the resource credential provider"): a generic message.
    return validation_error("Error retrieving the OAuth2 token from the credential provider")


def provider_unreachable() -> AwsError:
    return AwsError("InternalServerException", "Unable to reach the credential provider", 500)
