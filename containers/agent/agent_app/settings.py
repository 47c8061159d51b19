"""The agent's settings: the shared core ones plus what the agentic workload needs.

Read once in ``create_app``; a missing or malformed value raises ``SettingsError`` naming the
variable, so gunicorn refuses to start rather than failing on the first user.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from identity_core.settings import CoreSettings, Env, SettingsError, check_url

_WORKLOAD_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
_PROVIDER_NAME = re.compile(r"[A-Za-z0-9_-]{1,128}")
_SCOPE = re.compile(r"[\x21-\x7e]{1,256}")
_MODEL_ID = re.compile(r"[A-Za-z0-9_.:/-]{1,2048}")
MODEL_PROVIDERS = ("bedrock", "local-rules")
# The vendors botocore's bedrock-agentcore-control model knows, as AgentCore spells them.
VENDORS = (
    "GoogleOauth2", "GithubOauth2", "SlackOauth2", "SalesforceOauth2", "MicrosoftOauth2",
    "CustomOauth2", "AtlassianOauth2", "LinkedinOauth2", "XOauth2", "OktaOauth2",
    "OneLoginOauth2", "PingOneOauth2", "FacebookOauth2", "YandexOauth2", "RedditOauth2",
    "ZoomOauth2", "TwitchOauth2", "SpotifyOauth2", "DropboxOauth2", "NotionOauth2",
    "HubspotOauth2", "CyberArkOauth2", "FusionAuthOauth2", "Auth0Oauth2", "CognitoOauth2",
)  # fmt: skip
# Microsoft only issues a refresh token when asked for one; without it AgentCore cannot renew
# the user's token and every hour would need a new consent.
_REFRESH_SCOPE_VENDORS = {"MicrosoftOauth2": "offline_access"}


@dataclass(frozen=True)
class AgentSettings:
    core: CoreSettings
    workload_name: str
    provider_name: str
    provider_vendor: str
    scopes: tuple[str, ...]
    session_binding_url: str
    external_api_base_url: str
    model_provider: str
    model_id: str | None
    workload_token_ttl_seconds: int

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> AgentSettings:
        core = CoreSettings.from_env(environ)
        env = Env(environ)
        vendor = env.require("CREDENTIAL_PROVIDER_VENDOR")
        if vendor not in VENDORS:
            raise SettingsError(
                f"CREDENTIAL_PROVIDER_VENDOR must be an AgentCore vendor such as GithubOauth2 "
                f"or MicrosoftOauth2: {vendor!r}"
            )
        model_provider = env.require("MODEL_PROVIDER")
        if model_provider not in MODEL_PROVIDERS:
            raise SettingsError(
                f"MODEL_PROVIDER must be one of {', '.join(MODEL_PROVIDERS)}: {model_provider!r}"
            )
        model_id = None
        if model_provider == "bedrock":
            model_id = env.matching("MODEL_ID", _MODEL_ID, "must be a Bedrock model id")
        return cls(
            core=core,
            workload_name=env.matching(
                "WORKLOAD_NAME", _WORKLOAD_NAME, "must be 3-255 letters, digits, _ . or -"
            ),
            provider_name=env.matching(
                "CREDENTIAL_PROVIDER_NAME",
                _PROVIDER_NAME,
                "must be 1-128 letters, digits, _ or -",
            ),
            provider_vendor=vendor,
            scopes=_scopes(env.require("CREDENTIAL_PROVIDER_SCOPES"), vendor),
            session_binding_url=env.parsed("SESSION_BINDING_URL", _check_return_url),
            external_api_base_url=env.parsed(
                "EXTERNAL_API_BASE_URL",
                lambda v, n: check_url(v, n).rstrip("/"),
                default="https://api.github.com",
            ),
            model_provider=model_provider,
            model_id=model_id,
            # AgentCore returns no expiry with the workload token; a few minutes keeps well
            # inside its lifetime while saving one AWS call on almost every turn.
            workload_token_ttl_seconds=env.integer(
                "WORKLOAD_TOKEN_TTL_SECONDS", 300, minimum=1, maximum=900
            ),
        )


def _scopes(raw: str, vendor: str) -> tuple[str, ...]:
    scopes = [s for s in re.split(r"[\s,]+", raw) if s]
    for scope in scopes:
        if not _SCOPE.fullmatch(scope):
            raise SettingsError(f"CREDENTIAL_PROVIDER_SCOPES has a malformed scope: {scope!r}")
    extra = _REFRESH_SCOPE_VENDORS.get(vendor)
    if extra and extra not in scopes:
        scopes.append(extra)
    if not scopes:
        raise SettingsError("CREDENTIAL_PROVIDER_SCOPES is required but not set")
    return tuple(dict.fromkeys(scopes))


def _check_return_url(value: str, name: str) -> str:
    # AgentCore compares the return URL with the workload's allowed list character for
    # character, so it is sent exactly as configured (no trailing-slash normalising).
    check_url(value, name)
    if len(value) > 2048:
        raise SettingsError(f"{name} must be at most 2048 characters")
    return value
