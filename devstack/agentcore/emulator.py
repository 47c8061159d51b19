"""The AgentCore Identity emulator's state and operations, independent of HTTP.

Everything lives in memory: workload identities, credential providers (client secrets included),
workload access tokens, authorization sessions and the token vault. Nothing is written to disk
and nothing secret is logged; objects holding secrets keep them out of their repr.

Rules AWS documents, each enforced where its comment cites the page:
- SESSION_BINDING: docs.aws.amazon.com/bedrock-agentcore/latest/devguide/
  oauth2-authorization-url-session-binding.html
- AUTHENTICATION: docs.aws.amazon.com/bedrock-agentcore/latest/devguide/identity-authentication.html
- API_GET_TOKEN: docs.aws.amazon.com/bedrock-agentcore/latest/APIReference/
  API_GetResourceOauth2Token.html
- API_COMPLETE: docs.aws.amazon.com/bedrock-agentcore/latest/APIReference/
  API_CompleteResourceTokenAuth.html

Where AWS's behaviour is not documented the emulator makes a choice and says so at that line.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt

from .model import AwsError, access_denied, conflict, not_found, validation_error
from .vendors import (
    EndpointResolver,
    TokenEndpointError,
    call_token_endpoint,
    provider_unreachable,
    token_endpoint_failure,
)

SESSION_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
# SESSION_BINDING: "the authorization URL and session URI ... are valid for 10 minutes".
SESSION_TTL_SECONDS = 600
DEFAULT_WORKLOAD_TOKEN_TTL_SECONDS = 3600
INVALID_SESSION = "Invalid or expired session"
# Undocumented: AWS's answer to an unknown or expired workload access token. The emulator uses
# AccessDeniedException (403) for it everywhere and keeps UnauthorizedException (401), which
# botocore's model describes as "the JWT bearer token is invalid", for a bad user JWT.
INVALID_WORKLOAD_TOKEN = "The workload access token is invalid or has expired"

# Vendor -> the member of Oauth2ProviderConfigInput/Output that carries its settings.
CONFIG_MEMBERS = {
    "GithubOauth2": "githubOauth2ProviderConfig",
    "MicrosoftOauth2": "microsoftOauth2ProviderConfig",
    "GoogleOauth2": "googleOauth2ProviderConfig",
    "SlackOauth2": "slackOauth2ProviderConfig",
    "SalesforceOauth2": "salesforceOauth2ProviderConfig",
    "AtlassianOauth2": "atlassianOauth2ProviderConfig",
    "LinkedinOauth2": "linkedinOauth2ProviderConfig",
    "CustomOauth2": "customOauth2ProviderConfig",
}


class Clock:
    """Wall-clock time plus an offset that tests and the demo move forward."""

    def __init__(self, source: Callable[[], float] = time.time):
        self._source = source
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._source() + self._offset

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._offset += seconds
        return self.now()


@dataclass
class WorkloadIdentity:
    name: str
    arn: str
    return_urls: list[str]
    created: float
    updated: float

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "workloadIdentityArn": self.arn,
            "allowedResourceOauth2ReturnUrls": list(self.return_urls),
            "createdTime": self.created,
            "lastUpdatedTime": self.updated,
        }


@dataclass
class Provider:
    name: str
    vendor: str
    arn: str
    secret_arn: str
    callback_url: str
    client_id: str
    client_secret: str = field(repr=False)
    tenant_id: str | None
    oauth_discovery: dict[str, Any]
    client_auth_method: str | None
    created: float
    updated: float


@dataclass
class WorkloadToken:
    workload: str
    user_key: str | None
    user_id: str | None
    user_token: str | None = field(repr=False)
    expires_at: float


@dataclass(frozen=True)
class VaultKey:
    # AUTHENTICATION: tokens are stored per workload identity, user, credential provider and
    # scopes; scopes are compared as a set (sorted), since their order carries no meaning.
    workload: str
    user_key: str
    provider: str
    scopes: tuple[str, ...]


@dataclass
class VaultEntry:
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: float | None
    resources: tuple[str, ...] = ()


@dataclass
class Session:
    uri: str
    key: VaultKey
    user_id: str | None
    user_token: str | None = field(repr=False)
    return_url: str
    custom_state: str | None = field(repr=False)
    state: str = field(repr=False)
    code_verifier: str = field(repr=False)
    authorization_url: str = field(repr=False)
    created_at: float
    expires_at: float
    status: str = "IN_PROGRESS"  # IN_PROGRESS, CODE_RECEIVED, EXCHANGING, COMPLETED, FAILED
    code: str | None = field(default=None, repr=False)
    resources: tuple[str, ...] = ()


@dataclass
class CallbackResult:
    """What the browser gets from the OAuth2 callback: a redirect, or a page with a status."""

    status: int
    location: str | None = None
    message: str | None = None


def _pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _append_query(url: str, params: dict[str, Any]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params, doseq=True)


def _resource_param(resources: tuple[str, ...]) -> dict[str, list[str]]:
    return {"resource": list(resources)} if resources else {}


def _same(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return False
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


class Emulator:
    """AgentCore Identity's control and data planes over in-memory state."""

    def __init__(
        self,
        *,
        vendors: dict[str, dict[str, str]],
        region: str = "us-east-1",
        account_id: str = "123456789012",
        public_url: str | None = None,
        clock: Clock | None = None,
        workload_token_ttl: float = DEFAULT_WORKLOAD_TOKEN_TTL_SECONDS,
        session_ttl: float = SESSION_TTL_SECONDS,
    ):
        if workload_token_ttl <= 0:
            raise ValueError("workload_token_ttl must be positive")
        self.region = region
        self.account_id = account_id
        self.public_url = public_url.rstrip("/") if public_url else None
        self.clock = clock or Clock()
        self.workload_token_ttl = workload_token_ttl
        self.session_ttl = session_ttl
        self.resolver = EndpointResolver(vendors)
        self.stats: Counter[str] = Counter(
            dict.fromkeys(
                ("flows_started", "code_exchanges", "refreshes", "refresh_refused", "vault_hits"), 0
            )
        )
        self._lock = threading.RLock()
        self._key_locks: dict[VaultKey, threading.Lock] = {}
        self._workloads: dict[str, WorkloadIdentity] = {}
        self._providers: dict[str, Provider] = {}
        self._tokens: dict[str, WorkloadToken] = {}
        self._vault: dict[VaultKey, VaultEntry] = {}
        self._sessions: dict[str, Session] = {}
        self._sessions_by_state: dict[str, Session] = {}
        self._vault_kms: dict[str, Any] = {"keyType": "ServiceManagedKey"}
        self._vault_modified = self.clock.now()

    # ------------------------------------------------------------------ control plane

    def _workload_arn(self, name: str) -> str:
        return (
            f"arn:aws:bedrock-agentcore:{self.region}:{self.account_id}:"
            f"workload-identity-directory/default/workload-identity/{name}"
        )

    def CreateWorkloadIdentity(self, params: dict[str, Any], base_url: str) -> dict[str, Any]:
        name = params["name"]
        now = self.clock.now()
        with self._lock:
            if name in self._workloads:
                raise conflict(f"Workload identity {name} already exists")
            identity = WorkloadIdentity(
                name=name,
                arn=self._workload_arn(name),
                return_urls=list(params.get("allowedResourceOauth2ReturnUrls") or []),
                created=now,
                updated=now,
            )
            self._workloads[name] = identity
        described = identity.describe()
        return {
            k: described[k]
            for k in ("name", "workloadIdentityArn", "allowedResourceOauth2ReturnUrls")
        }

    def GetWorkloadIdentity(self, params: dict[str, Any], base_url: str) -> dict[str, Any]:
        with self._lock:
            return self._workload(params["name"]).describe()

    def UpdateWorkloadIdentity(self, params: dict[str, Any], base_url: str) -> dict[str, Any]:
        with self._lock:
            identity = self._workload(params["name"])
            # The API reference: "This list replaces the existing list."
            identity.return_urls = list(params.get("allowedResourceOauth2ReturnUrls") or [])
            identity.updated = self.clock.now()
            return identity.describe()

    def DeleteWorkloadIdentity(self, params: dict[str, Any], base_url: str) -> dict[str, Any]:
        name = params["name"]
        with self._lock:
            self._workload(name)
            del self._workloads[name]
            # Tokens and flows of a deleted identity must not outlive it.
            self._tokens = {t: v for t, v in self._tokens.items() if v.workload != name}
            self._vault = {k: v for k, v in self._vault.items() if k.workload != name}
            for session in list(self._sessions.values()):
                if session.key.workload == name:
                    self._drop_session(session)
        return {}

    def ListWorkloadIdentities(self, params: dict[str, Any], base_url: str) -> dict[str, Any]:
        with self._lock:
            names = sorted(self._workloads)
            page, next_token = _paginate(names, params)
            items = [{"name": n, "workloadIdentityArn": self._workloads[n].arn} for n in page]
        result: dict[str, Any] = {"workloadIdentities": items}
        if next_token:
            result["nextToken"] = next_token
        return result

    def _workload(self, name: str) -> WorkloadIdentity:
        identity = self._workloads.get(name)
        if identity is None:
            raise not_found(f"Workload identity {name} not found")
        return identity

    def CreateOauth2CredentialProvider(
        self, params: dict[str, Any], base_url: str
    ) -> dict[str, Any]:
        name = params["name"]
        now = self.clock.now()
        fields = self._provider_fields(params)
        with self._lock:
            if name in self._providers:
                raise conflict(f"Credential provider {name} already exists")
            base = self.public_url or base_url.rstrip("/")
            provider = Provider(
                name=name,
                vendor=params["credentialProviderVendor"],
                arn=(
                    f"arn:aws:bedrock-agentcore:{self.region}:{self.account_id}:"
                    f"token-vault/default/oauth2credentialprovider/{name}"
                ),
                secret_arn=(
                    f"arn:aws:secretsmanager:{self.region}:{self.account_id}:secret:"
                    f"bedrock-agentcore-identity!default/oauth2/{name}-{secrets.token_hex(3)}"
                ),
                # The callback URL is one per provider and changes if it is recreated.
                callback_url=f"{base}/identities/oauth2/callback/{uuid.uuid4()}",
                created=now,
                updated=now,
                **fields,
            )
            self._providers[name] = provider
        described = self._describe_provider(provider)
        described.pop("credentialProviderVendor")
        described.pop("createdTime")
        described.pop("lastUpdatedTime")
        return described

    def GetOauth2CredentialProvider(self, params: dict[str, Any], base_url: str) -> dict[str, Any]:
        with self._lock:
            return self._describe_provider(self._provider(params["name"]))

    def UpdateOauth2CredentialProvider(
        self, params: dict[str, Any], base_url: str
    ) -> dict[str, Any]:
        fields = self._provider_fields(params)
        with self._lock:
            provider = self._provider(params["name"])
            provider.vendor = params["credentialProviderVendor"]
            for key, value in fields.items():
                setattr(provider, key, value)
            provider.updated = self.clock.now()
            return self._describe_provider(provider)

    def DeleteOauth2CredentialProvider(
        self, params: dict[str, Any], base_url: str
    ) -> dict[str, Any]:
        name = params["name"]
        with self._lock:
            self._provider(name)
            del self._providers[name]
            self._vault = {k: v for k, v in self._vault.items() if k.provider != name}
            for session in list(self._sessions.values()):
                if session.key.provider == name:
                    self._drop_session(session)
        return {}

    def ListOauth2CredentialProviders(
        self, params: dict[str, Any], base_url: str
    ) -> dict[str, Any]:
        with self._lock:
            page, next_token = _paginate(sorted(self._providers), params)
            items = [
                {
                    "name": p.name,
                    "credentialProviderVendor": p.vendor,
                    "credentialProviderArn": p.arn,
                    "createdTime": p.created,
                    "lastUpdatedTime": p.updated,
                }
                for p in (self._providers[n] for n in page)
            ]
        result: dict[str, Any] = {"credentialProviders": items}
        if next_token:
            result["nextToken"] = next_token
        return result

    def _provider(self, name: str) -> Provider:
        provider = self._providers.get(name)
        if provider is None:
            raise not_found(f"Credential provider {name} not found")
        return provider

    def _provider_fields(self, params: dict[str, Any]) -> dict[str, Any]:
        vendor = params["credentialProviderVendor"]
        member = CONFIG_MEMBERS.get(vendor)
        if member is None:
            raise validation_error(
                f"Credential provider vendor {vendor} is not supported by the emulator"
            )
        config_input = params["oauth2ProviderConfigInput"]
        given = [k for k, v in config_input.items() if v is not None]
        if given != [member]:
            raise validation_error(
                f"oauth2ProviderConfigInput must contain exactly {member} for vendor {vendor}"
            )
        config = config_input[member]
        if config.get("clientSecretConfig") or config.get("clientSecretSource") == "EXTERNAL":
            raise validation_error(
                "The emulator supports only managed client secrets (clientSecret)"
            )
        client_id, client_secret = config.get("clientId"), config.get("clientSecret")
        if not client_id or not client_secret:
            raise validation_error("clientId and clientSecret are required")
        discovery: dict[str, Any] = {}
        auth_method = None
        if vendor == "CustomOauth2":
            discovery = config["oauthDiscovery"]
            if bool(discovery.get("discoveryUrl")) == bool(
                discovery.get("authorizationServerMetadata")
            ):
                raise validation_error(
                    "oauthDiscovery must contain exactly one of discoveryUrl and "
                    "authorizationServerMetadata"
                )
            method = config.get("clientAuthenticationMethod")
            if method not in (None, "CLIENT_SECRET_BASIC", "CLIENT_SECRET_POST"):
                raise validation_error(
                    f"clientAuthenticationMethod {method} is not supported by the emulator"
                )
            auth_method = method.lower() if method else None
        elif self.resolver.builtin_metadata(vendor, None) is None:
            raise validation_error(f"The emulator has no endpoints configured for vendor {vendor}")
        return {
            "client_id": client_id,
            "client_secret": client_secret,
            "tenant_id": config.get("tenantId"),
            "oauth_discovery": discovery,
            "client_auth_method": auth_method,
        }

    def _describe_provider(self, provider: Provider) -> dict[str, Any]:
        member = CONFIG_MEMBERS[provider.vendor]
        if provider.vendor == "CustomOauth2":
            discovery = provider.oauth_discovery
        else:
            discovery = {
                "authorizationServerMetadata": self.resolver.builtin_metadata(
                    provider.vendor, provider.tenant_id
                )
            }
        output: dict[str, Any] = {"oauthDiscovery": discovery, "clientId": provider.client_id}
        if provider.client_auth_method:
            output["clientAuthenticationMethod"] = provider.client_auth_method.upper()
        return {
            "clientSecretArn": {"secretArn": provider.secret_arn},
            "name": provider.name,
            "credentialProviderVendor": provider.vendor,
            "credentialProviderArn": provider.arn,
            "callbackUrl": provider.callback_url,
            "oauth2ProviderConfigOutput": {member: output},
            "createdTime": provider.created,
            "lastUpdatedTime": provider.updated,
            "status": "READY",
        }

    def GetTokenVault(self, params: dict[str, Any], base_url: str) -> dict[str, Any]:
        self._token_vault_id(params)
        with self._lock:
            return {
                "tokenVaultId": "default",
                "kmsConfiguration": dict(self._vault_kms),
                "lastModifiedDate": self._vault_modified,
            }

    def SetTokenVaultCMK(self, params: dict[str, Any], base_url: str) -> dict[str, Any]:
        self._token_vault_id(params)
        kms = params["kmsConfiguration"]
        if kms["keyType"] == "CustomerManagedKey" and not kms.get("kmsKeyArn"):
            raise validation_error("kmsKeyArn is required when keyType is CustomerManagedKey")
        if kms["keyType"] == "ServiceManagedKey" and kms.get("kmsKeyArn"):
            raise validation_error("kmsKeyArn must not be set when keyType is ServiceManagedKey")
        with self._lock:
            # The emulator encrypts nothing: the key is recorded and reported back only.
            self._vault_kms = {k: v for k, v in kms.items() if v is not None}
            self._vault_modified = self.clock.now()
        return self.GetTokenVault(params, base_url)

    @staticmethod
    def _token_vault_id(params: dict[str, Any]) -> None:
        vault_id = params.get("tokenVaultId", "default")
        if vault_id != "default":
            raise not_found(f"Token vault {vault_id} not found")

    # ------------------------------------------------------------------ workload tokens

    def _mint(
        self, workload: str, user_key: str | None, user_id: str | None, user_token: str | None
    ):
        now = self.clock.now()
        with self._lock:
            self._workload(workload)
            # Drop expired tokens as new ones are minted, so memory stays bounded by live tokens.
            self._tokens = {t: v for t, v in self._tokens.items() if v.expires_at > now}
            token = secrets.token_urlsafe(48)
            self._tokens[token] = WorkloadToken(
                workload=workload,
                user_key=user_key,
                user_id=user_id,
                user_token=user_token,
                expires_at=now + self.workload_token_ttl,
            )
        return {"workloadAccessToken": token}

    def GetWorkloadAccessToken(self, params: dict[str, Any], base_url: str) -> dict[str, Any]:
        return self._mint(params["workloadName"], None, None, None)

    def GetWorkloadAccessTokenForUserId(
        self, params: dict[str, Any], base_url: str
    ) -> dict[str, Any]:
        user_id = params["userId"]
        return self._mint(params["workloadName"], f"user:{user_id}", user_id, None)

    def GetWorkloadAccessTokenForJWT(self, params: dict[str, Any], base_url: str) -> dict[str, Any]:
        user_token = params["userToken"]
        # Lenient by design: the emulator has no inbound authorizer configuration to verify the
        # signature against, so it checks only that the token is a JWT with string `iss` and `sub`
        # and, when it has `exp`, that it has not passed on the emulator's clock.
        try:
            claims = jwt.decode(
                user_token,
                options={"verify_signature": False, "verify_exp": False, "verify_aud": False},
            )
        except jwt.PyJWTError as exc:
            raise AwsError(
                "UnauthorizedException", "The user token is not a valid JWT", 401
            ) from exc
        issuer, subject, expiry = claims.get("iss"), claims.get("sub"), claims.get("exp")
        if not isinstance(issuer, str) or not isinstance(subject, str):
            raise AwsError("UnauthorizedException", "The user token lacks iss or sub", 401)
        if isinstance(expiry, (int, float)) and expiry <= self.clock.now():
            raise AwsError("UnauthorizedException", "The user token has expired", 401)
        return self._mint(params["workloadName"], f"jwt:{issuer}|{subject}", None, user_token)

    def _workload_token(self, token: str) -> WorkloadToken:
        with self._lock:
            record = self._tokens.get(token)
            if record is None or record.expires_at <= self.clock.now():
                raise access_denied(INVALID_WORKLOAD_TOKEN)
            if record.workload not in self._workloads:
                raise access_denied(INVALID_WORKLOAD_TOKEN)
            return record

    # ------------------------------------------------------------------ outbound tokens

    def GetResourceOauth2Token(self, params: dict[str, Any], base_url: str) -> dict[str, Any]:
        record = self._workload_token(params["workloadIdentityToken"])
        with self._lock:
            provider = self._provider(params["resourceCredentialProviderName"])
            identity = self._workload(record.workload)
        scopes = tuple(sorted(set(params["scopes"])))
        flow = params["oauth2Flow"]
        if flow == "M2M":
            return self._m2m_token(record, provider, scopes)
        if flow != "USER_FEDERATION":
            raise validation_error(f"oauth2Flow {flow} is not supported by the emulator")
        if record.user_key is None:
            raise validation_error(
                "USER_FEDERATION needs a workload access token minted for a user "
                "(GetWorkloadAccessTokenForUserId or GetWorkloadAccessTokenForJWT)"
            )
        return_url = params.get("resourceOauth2ReturnUrl")
        self._check_return_url(identity, return_url)
        key = VaultKey(record.workload, record.user_key, provider.name, scopes)
        session_uri = params.get("sessionUri")

        if params.get("forceAuthentication"):
            # AUTHENTICATION: forceAuthentication drops what the vault holds and starts a new
            # three-legged flow "regardless of any existing session" (API_GET_TOKEN). On a poll
            # this abandons the flow being polled, which is why callers send it only on the
            # first call of a flow.
            with self._lock:
                self._vault.pop(key, None)
            return self._start_flow(record, provider, key, return_url, params)

        session = self._session_for_poll(session_uri, key) if session_uri else None
        access_token = self._stored_access_token(key, provider)
        if access_token is not None:
            self.stats["vault_hits"] += 1
            return {"accessToken": access_token}
        if session is not None:
            with self._lock:
                if session.status in ("IN_PROGRESS", "CODE_RECEIVED", "EXCHANGING") and (
                    session.expires_at <= self.clock.now()
                ):
                    # SESSION_BINDING: the session is valid for 10 minutes.
                    session.status = "FAILED"
                if session.status in ("FAILED", "COMPLETED"):
                    # COMPLETED without a vault entry: the token was dropped since (a failed
                    # refresh, forceAuthentication); this flow cannot deliver it any more.
                    return {"sessionUri": session.uri, "sessionStatus": "FAILED"}
                return {
                    "authorizationUrl": session.authorization_url,
                    "sessionUri": session.uri,
                    "sessionStatus": "IN_PROGRESS",
                }
        return self._start_flow(record, provider, key, return_url, params)

    @staticmethod
    def _check_return_url(identity: WorkloadIdentity, return_url: str | None) -> None:
        # SESSION_BINDING: the return URL must be registered on the workload identity
        # (allowedResourceOauth2ReturnUrls) and passed with every GetResourceOauth2Token call of
        # the flow, polls included. The first two messages are AWS's own, as reported in
        # github.com/awslabs/agentcore-samples/issues/528 and github.com/enechange/collmbo/pull/742;
        # the third is the emulator's wording.
        if not identity.return_urls:
            raise validation_error(
                "You must register and use at least one ResourceOauth2ReturnUrl on your "
                "workload identity to use this flow"
            )
        if not return_url:
            raise validation_error(
                "You must provide a ResourceOauth2ReturnUrl to proceed with this flow"
            )
        if return_url not in identity.return_urls:
            raise validation_error(
                "The ResourceOauth2ReturnUrl is not registered on the workload identity",
                [{"name": "resourceOauth2ReturnUrl", "message": "Not an allowed return URL"}],
            )

    def _session_for_poll(self, session_uri: str, key: VaultKey) -> Session:
        with self._lock:
            session = self._sessions.get(session_uri)
            # A flow belongs to the workload, user, provider and scopes that started it.
            if session is None or session.key != key:
                raise access_denied(INVALID_SESSION)
            return session

    def _key_lock(self, key: VaultKey) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def _stored_access_token(self, key: VaultKey, provider: Provider) -> str | None:
        """The vault's access token for the key, renewed with its refresh token if expired."""
        # One refresh per key at a time: authorization servers that rotate refresh tokens
        # would reject the second of two concurrent refreshes and cost the user a consent.
        with self._key_lock(key):
            with self._lock:
                entry = self._vault.get(key)
            if entry is None:
                return None
            if entry.expires_at is None or entry.expires_at > self.clock.now():
                return entry.access_token
            if not entry.refresh_token:
                with self._lock:
                    self._vault.pop(key, None)
                return None
            # AUTHENTICATION: an expired access token is renewed with the stored refresh token,
            # without asking the user again.
            endpoints = self.resolver.resolve(provider)
            try:
                payload = call_token_endpoint(
                    endpoints,
                    provider.client_id,
                    provider.client_secret,
                    {
                        "grant_type": "refresh_token",
                        "refresh_token": entry.refresh_token,
                        **_resource_param(entry.resources),
                    },
                )
            except TokenEndpointError as exc:
                if exc.error is None:
                    # Unreachable or garbled answer: keep the tokens, the caller may retry.
                    raise provider_unreachable() from exc
                # The server refused the refresh token (revoked, expired): consent is needed.
                with self._lock:
                    self._vault.pop(key, None)
                self.stats["refresh_refused"] += 1
                return None
            renewed = self._vault_entry(
                payload, fallback_refresh=entry.refresh_token, resources=entry.resources
            )
            with self._lock:
                self._vault[key] = renewed
            self.stats["refreshes"] += 1
            return renewed.access_token

    def _vault_entry(
        self, payload: dict[str, Any], fallback_refresh: str | None, resources: tuple[str, ...] = ()
    ) -> VaultEntry:
        expires_in = payload.get("expires_in")
        expires_at = None
        if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool):
            expires_at = self.clock.now() + float(expires_in)
        refresh = payload.get("refresh_token")
        return VaultEntry(
            access_token=payload["access_token"],
            refresh_token=refresh if isinstance(refresh, str) else fallback_refresh,
            expires_at=expires_at,
            resources=resources,
        )

    def _start_flow(self, record, provider, key, return_url, params) -> dict[str, Any]:
        endpoints = self.resolver.resolve(provider)
        now = self.clock.now()
        verifier = secrets.token_urlsafe(64)
        state = secrets.token_urlsafe(32)
        query = {
            "response_type": "code",
            "client_id": provider.client_id,
            "redirect_uri": provider.callback_url,
            "scope": " ".join(params["scopes"]),
            "state": state,
            "code_challenge": _pkce_challenge(verifier),
            "code_challenge_method": "S256",
        }
        # API_GET_TOKEN: custom parameters are added to the authorization request and "will
        # not override" the standard ones.
        for name, value in (params.get("customParameters") or {}).items():
            query.setdefault(name, value)
        # API_GET_TOKEN: `resources` name the target resources (RFC 8707 `resource` indicators),
        # sent with the authorization request and the token requests. `audiences` has no
        # documented mapping for the authorization code grant and is ignored here.
        resources = tuple(params.get("resources") or ())
        query.update(_resource_param(resources))
        session = Session(
            uri=SESSION_URI_PREFIX + secrets.token_urlsafe(32),
            key=key,
            user_id=record.user_id,
            user_token=record.user_token,
            return_url=return_url,
            custom_state=params.get("customState"),
            state=state,
            code_verifier=verifier,
            authorization_url=_append_query(endpoints.authorization_endpoint, query),
            created_at=now,
            # SESSION_BINDING: the authorization URL and its session last 10 minutes.
            expires_at=now + self.session_ttl,
            resources=resources,
        )
        with self._lock:
            # Forget sessions well past their expiry so memory stays bounded.
            for old in list(self._sessions.values()):
                if old.expires_at + 3600 < now:
                    self._drop_session(old)
            self._sessions[session.uri] = session
            self._sessions_by_state[state] = session
        self.stats["flows_started"] += 1
        return {
            "authorizationUrl": session.authorization_url,
            "sessionUri": session.uri,
            "sessionStatus": "IN_PROGRESS",
        }

    def _drop_session(self, session: Session) -> None:
        self._sessions.pop(session.uri, None)
        self._sessions_by_state.pop(session.state, None)

    def _m2m_token(self, record: WorkloadToken, provider: Provider, scopes) -> dict[str, Any]:
        key = VaultKey(record.workload, "m2m", provider.name, scopes)
        with self._lock:
            entry = self._vault.get(key)
        if entry is not None and (entry.expires_at is None or entry.expires_at > self.clock.now()):
            return {"accessToken": entry.access_token}
        form = {"grant_type": "client_credentials"}
        if scopes:
            form["scope"] = " ".join(scopes)
        try:
            payload = call_token_endpoint(
                self.resolver.resolve(provider), provider.client_id, provider.client_secret, form
            )
        except TokenEndpointError as exc:
            raise token_endpoint_failure() from exc
        entry = self._vault_entry(payload, fallback_refresh=None)
        with self._lock:
            self._vault[key] = entry
        return {"accessToken": entry.access_token}

    # ------------------------------------------------------------------ callback and binding

    def oauth2_callback(self, callback_id: str, args: dict[str, str]) -> CallbackResult:
        """The provider redirects the browser here after consent (or refusal)."""
        with self._lock:
            provider = next(
                (
                    p
                    for p in self._providers.values()
                    if p.callback_url.rsplit("/", 1)[-1] == callback_id
                ),
                None,
            )
            if provider is None:
                return CallbackResult(404, message="Unknown callback.")
            session = self._sessions_by_state.get(args.get("state") or "")
            if session is None or session.key.provider != provider.name:
                return CallbackResult(400, message="Unknown or expired authorization request.")
            if session.expires_at <= self.clock.now():
                # SESSION_BINDING: 10 minutes from the authorization URL to the binding.
                session.status = "FAILED"
                return CallbackResult(400, message="This authorization request has expired.")
            if session.status != "IN_PROGRESS":
                return CallbackResult(400, message="This authorization request was already used.")
            code = args.get("code")
            if args.get("error") or not code:
                session.status = "FAILED"
                return CallbackResult(400, message="The authorization server did not grant access.")
            # API_COMPLETE / SESSION_BINDING: the code is kept until the application's session
            # binding endpoint confirms the user with CompleteResourceTokenAuth, "so that AgentCore
            # Identity can fetch and store the access token": the exchange happens then, not here.
            session.code = code
            session.status = "CODE_RECEIVED"
            redirect = {"session_id": session.uri}
            if session.custom_state:
                # Undocumented how customState travels back; a `state` parameter is an inference.
                redirect["state"] = session.custom_state
            # SESSION_BINDING: the browser goes to the return URL with the session URI.
            return CallbackResult(302, location=_append_query(session.return_url, redirect))

    def CompleteResourceTokenAuth(self, params: dict[str, Any], base_url: str) -> dict[str, Any]:
        identifier = params["userIdentifier"]
        user_id, user_token = identifier.get("userId"), identifier.get("userToken")
        if (user_id is None) == (user_token is None):
            raise validation_error(
                "userIdentifier must contain exactly one of userId and userToken"
            )
        with self._lock:
            session = self._sessions.get(params["sessionUri"])
            if session is None or session.expires_at <= self.clock.now():
                # SESSION_BINDING: the session is valid for 10 minutes.
                raise access_denied(INVALID_SESSION)
            # API_COMPLETE: the user identifier must be the user ID (or user token) "that was
            # used to generate the workload access token used for initiating the user
            # authorization flow", exactly; anything else is refused with AccessDenied
            # (github.com/aws/bedrock-agentcore-sdk-typescript/issues/37). A mismatch leaves the
            # session as it was: stopping a swapped browser is the binding endpoint's job.
            same_user = (
                _same(session.user_id, user_id)
                if user_id is not None
                else _same(session.user_token, user_token)
            )
            if not same_user or session.status != "CODE_RECEIVED":
                raise access_denied(INVALID_SESSION)
            session.status = "EXCHANGING"
            code, session.code = session.code, None
            provider = self._providers.get(session.key.provider)
        if provider is None:
            raise access_denied(INVALID_SESSION)
        try:
            payload = call_token_endpoint(
                self.resolver.resolve(provider),
                provider.client_id,
                provider.client_secret,
                {
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": provider.callback_url,
                    "code_verifier": session.code_verifier,
                    **_resource_param(session.resources),
                },
            )
        except TokenEndpointError as exc:
            with self._lock:
                if exc.error is None:
                    # Provider unreachable or its answer garbled: the code may still be good,
                    # so the session waits for a retry of this call (a 500, which botocore's
                    # retry modes retry).
                    session.code, session.status = code, "CODE_RECEIVED"
                else:
                    session.status = "FAILED"
            if exc.error is None:
                raise provider_unreachable() from exc
            raise token_endpoint_failure() from exc
        except AwsError:
            # The discovery document could not be read: nothing was spent, retry is possible.
            with self._lock:
                session.code, session.status = code, "CODE_RECEIVED"
            raise
        entry = self._vault_entry(payload, fallback_refresh=None, resources=session.resources)
        with self._lock:
            self._vault[session.key] = entry
            session.status = "COMPLETED"
        self.stats["code_exchanges"] += 1
        return {}

    # ------------------------------------------------------------------ emulator-only admin

    def expire_access_tokens(self, user_id: str | None = None, provider: str | None = None) -> int:
        """Mark stored access tokens expired (refresh tokens stay): the demo's step 4."""
        now = self.clock.now()
        count = 0
        with self._lock:
            for key, entry in self._vault.items():
                if user_id is not None and key.user_key != f"user:{user_id}":
                    continue
                if provider is not None and key.provider != provider:
                    continue
                entry.expires_at = now - 1
                count += 1
        return count

    def vault_summary(self) -> list[dict[str, Any]]:
        """What the vault holds, without a single token value."""
        now = self.clock.now()
        with self._lock:
            return [
                {
                    "workloadName": key.workload,
                    "user": key.user_key,
                    "provider": key.provider,
                    "scopes": list(key.scopes),
                    "accessTokenExpired": entry.expires_at is not None and entry.expires_at <= now,
                    "hasRefreshToken": entry.refresh_token is not None,
                }
                for key, entry in self._vault.items()
            ]


def _paginate(names: list[str], params: dict[str, Any]) -> tuple[list[str], str | None]:
    size = params.get("maxResults") or 10
    token = params.get("nextToken")
    start = 0
    if token is not None:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode())
        except (ValueError, UnicodeDecodeError) as exc:
            raise validation_error("Invalid nextToken") from exc
        if not 0 <= start <= len(names):
            raise validation_error("Invalid nextToken")
    end = start + size
    next_token = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(names) else None
    return names[start:end], next_token
