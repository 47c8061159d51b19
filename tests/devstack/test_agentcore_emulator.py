"""Fidelity tests of the AgentCore Identity emulator, over real HTTP with unmodified boto3 clients.

Each rule test cites the AWS page the rule comes from. The external authorization server is a
small fake of our own (agentcore_fake_oauth.py) so these tests depend on nothing else of the stack.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import socket
import subprocess
import sys
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import boto3
import jwt
import pytest
import requests
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from devstack.agentcore import Clock, Emulator, create_app, load_vendor_config, serve_in_thread
from tests.devstack.agentcore_fake_oauth import FakeAuthorizationServer, Served

SESSION_BINDING_DOC = (
    "https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/"
    "oauth2-authorization-url-session-binding.html"
)
AUTHENTICATION_DOC = (
    "https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/identity-authentication.html"
)
RETURN_URL = "http://127.0.0.1:8080/oauth2/session-binding"
WORKLOAD = "blueprint-agent"
PROVIDER = "github-provider"
SCOPES = ["read:user", "repo"]
ALICE = "entra+alice-sub-0001"
MALLORY = "entra+mallory-sub-0002"
SECRET_ARN = re.compile(
    r"arn:(aws|aws-us-gov):secretsmanager:[A-Za-z0-9-]{1,64}:[0-9]{12}:secret:[a-zA-Z0-9-_/+=.@!]+"
)


@functools.cache
def _boto_session() -> boto3.Session:
    """One session for the module: its loader caches the service models between tests."""
    return boto3.Session(
        aws_access_key_id="AKIAEMULATORTEST0001",
        aws_secret_access_key="not-a-real-secret-key",
        region_name="us-east-1",
    )


class Stack:
    """Emulator + fake authorization server + boto3 clients for both planes."""

    def __init__(self, workload_token_ttl: float = 3600, auth_method="client_secret_post"):
        self.oauth = FakeAuthorizationServer(
            client_id="gh-client-id", client_secret="gh-client-secret", auth_method=auth_method
        )
        self.oauth_served = Served(self.oauth)
        self.oauth.base_url = self.oauth_served.url
        vendors = load_vendor_config(
            {
                "GithubOauth2": {
                    "authorization_endpoint": f"{self.oauth_served.url}/authorize",
                    "token_endpoint": f"{self.oauth_served.url}/token",
                    "issuer": self.oauth_served.url,
                    "token_endpoint_auth_method": auth_method,
                }
            }
        )
        self.clock = Clock()
        self.emulator = Emulator(
            vendors=vendors, clock=self.clock, workload_token_ttl=workload_token_ttl
        )
        self.server, self.thread = serve_in_thread(create_app(self.emulator))
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.emulator.public_url = self.url
        session = _boto_session()
        config = Config(retries={"mode": "standard", "max_attempts": 1})
        self.data = session.client("bedrock-agentcore", endpoint_url=self.url, config=config)
        self.control = session.client(
            "bedrock-agentcore-control", endpoint_url=self.url, config=config
        )

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
        self.oauth_served.stop()

    # -- helpers -------------------------------------------------------------------------
    def setup(self, return_urls=(RETURN_URL,)) -> dict:
        self.control.create_workload_identity(
            name=WORKLOAD, allowedResourceOauth2ReturnUrls=list(return_urls)
        )
        return self.control.create_oauth2_credential_provider(
            name=PROVIDER,
            credentialProviderVendor="GithubOauth2",
            oauth2ProviderConfigInput={
                "githubOauth2ProviderConfig": {
                    "clientId": "gh-client-id",
                    "clientSecret": "gh-client-secret",
                }
            },
        )

    def workload_token(self, user_id: str, workload: str = WORKLOAD) -> str:
        answer = self.data.get_workload_access_token_for_user_id(
            workloadName=workload, userId=user_id
        )
        return answer["workloadAccessToken"]

    def get_token(self, token: str, **extra) -> dict:
        params = {
            "workloadIdentityToken": token,
            "resourceCredentialProviderName": PROVIDER,
            "scopes": SCOPES,
            "oauth2Flow": "USER_FEDERATION",
            "resourceOauth2ReturnUrl": RETURN_URL,
        }
        params.update(extra)
        params = {k: v for k, v in params.items() if v is not None}
        answer = self.data.get_resource_oauth2_token(**params)
        answer.pop("ResponseMetadata")
        return answer

    def consent(self, authorization_url: str, user: str = "alice", deny: bool = False):
        """The browser: authorization server (consents at once), then AgentCore's callback."""
        extra = "&deny=1" if deny else ""
        at_server = requests.get(
            f"{authorization_url}&test_user={user}{extra}", allow_redirects=False, timeout=5
        )
        assert at_server.status_code == 302
        callback_url = at_server.headers["Location"]
        return requests.get(callback_url, allow_redirects=False, timeout=5), callback_url

    def consent_and_bind(self, authorization_url: str) -> str:
        at_callback, _ = self.consent(authorization_url)
        assert at_callback.status_code == 302
        query = parse_qs(urlsplit(at_callback.headers["Location"]).query)
        return query["session_id"][0]

    def complete(self, session_uri: str, user_id: str) -> None:
        self.data.complete_resource_token_auth(
            sessionUri=session_uri, userIdentifier={"userId": user_id}
        )

    def connect(self, user_id: str) -> str:
        """Run a whole flow for a user; return the access token AgentCore hands out."""
        token = self.workload_token(user_id)
        started = self.get_token(token)
        session_uri = self.consent_and_bind(started["authorizationUrl"])
        self.complete(session_uri, user_id)
        return self.get_token(token, sessionUri=started["sessionUri"])["accessToken"]


@pytest.fixture
def stack():
    running = Stack()
    yield running
    running.stop()


def error_of(excinfo) -> tuple[str, str, int]:
    error = excinfo.value.response["Error"]
    return (
        error["Code"],
        error["Message"],
        excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"],
    )


# ---------------------------------------------------------------------------- control plane


def test_workload_identity_create_get_update_list_delete_round_trip(stack):
    created = stack.control.create_workload_identity(
        name=WORKLOAD, allowedResourceOauth2ReturnUrls=[RETURN_URL]
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["workloadIdentityArn"] == (
        "arn:aws:bedrock-agentcore:us-east-1:123456789012:"
        f"workload-identity-directory/default/workload-identity/{WORKLOAD}"
    )
    got = stack.control.get_workload_identity(name=WORKLOAD)
    assert got["allowedResourceOauth2ReturnUrls"] == [RETURN_URL]
    assert got["createdTime"] == got["lastUpdatedTime"]

    other = "https://example.test/bind"
    updated = stack.control.update_workload_identity(
        name=WORKLOAD, allowedResourceOauth2ReturnUrls=[other]
    )
    assert updated["allowedResourceOauth2ReturnUrls"] == [other]  # replaced, not merged

    for name in ("wl-a", "wl-b"):
        stack.control.create_workload_identity(name=name)
    first = stack.control.list_workload_identities(maxResults=2)
    second = stack.control.list_workload_identities(maxResults=2, nextToken=first["nextToken"])
    names = [w["name"] for w in first["workloadIdentities"] + second["workloadIdentities"]]
    assert names == sorted([WORKLOAD, "wl-a", "wl-b"])
    assert "nextToken" not in second

    deleted = stack.control.delete_workload_identity(name=WORKLOAD)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as excinfo:
        stack.control.get_workload_identity(name=WORKLOAD)
    assert error_of(excinfo)[0::2] == ("ResourceNotFoundException", 404)


def test_duplicate_workload_identity_name_is_a_conflict(stack):
    stack.control.create_workload_identity(name=WORKLOAD)
    with pytest.raises(ClientError) as excinfo:
        stack.control.create_workload_identity(name=WORKLOAD)
    assert error_of(excinfo)[0::2] == ("ConflictException", 409)


def test_names_breaking_the_models_patterns_are_refused_with_a_field_list(stack):
    """botocore checks only required members and minimum lengths; patterns are the service's."""
    with pytest.raises(ClientError) as excinfo:
        stack.control.create_workload_identity(name="bad name!")
    code, message, status = error_of(excinfo)
    assert (code, status) == ("ValidationException", 400)
    assert "regular expression pattern" in message
    assert excinfo.value.response["reason"] == "FieldValidationFailed"
    assert excinfo.value.response["fieldList"][0]["name"] == "name"
    with pytest.raises(ClientError) as excinfo:
        stack.control.get_oauth2_credential_provider(name="slash/name")
    assert error_of(excinfo)[0] == "ValidationException"
    with pytest.raises(ClientError) as excinfo:
        stack.control.create_workload_identity(name="x" * 256)
    assert "length less than or equal to 255" in error_of(excinfo)[1]


def test_credential_providers_for_github_microsoft_and_custom_vendors(stack):
    github = stack.setup()
    assert github["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert re.fullmatch(
        re.escape(stack.url) + r"/identities/oauth2/callback/[0-9a-f-]{36}", github["callbackUrl"]
    )
    assert github["credentialProviderArn"].endswith(
        f":token-vault/default/oauth2credentialprovider/{PROVIDER}"
    )
    assert SECRET_ARN.fullmatch(github["clientSecretArn"]["secretArn"])
    assert "gh-client-secret" not in json.dumps(github, default=str)
    metadata = github["oauth2ProviderConfigOutput"]["githubOauth2ProviderConfig"]["oauthDiscovery"][
        "authorizationServerMetadata"
    ]
    assert metadata["authorizationEndpoint"] == f"{stack.oauth_served.url}/authorize"

    microsoft = stack.control.create_oauth2_credential_provider(
        name="entra-graph",
        credentialProviderVendor="MicrosoftOauth2",
        oauth2ProviderConfigInput={
            "microsoftOauth2ProviderConfig": {
                "clientId": "ms-client",
                "clientSecret": "ms-secret",
                "tenantId": "tenant-0001",
            }
        },
    )
    ms_meta = microsoft["oauth2ProviderConfigOutput"]["microsoftOauth2ProviderConfig"][
        "oauthDiscovery"
    ]["authorizationServerMetadata"]
    assert ms_meta["tokenEndpoint"] == (
        "https://login.microsoftonline.com/tenant-0001/oauth2/v2.0/token"
    )

    discovery_url = f"{stack.oauth_served.url}/.well-known/openid-configuration"
    custom = stack.control.create_oauth2_credential_provider(
        name="custom-as",
        credentialProviderVendor="CustomOauth2",
        oauth2ProviderConfigInput={
            "customOauth2ProviderConfig": {
                "oauthDiscovery": {"discoveryUrl": discovery_url},
                "clientId": "c",
                "clientSecret": "s",
            }
        },
    )
    assert custom["oauth2ProviderConfigOutput"]["customOauth2ProviderConfig"]["oauthDiscovery"] == {
        "discoveryUrl": discovery_url
    }

    got = stack.control.get_oauth2_credential_provider(name=PROVIDER)
    assert got["credentialProviderVendor"] == "GithubOauth2"
    assert got["callbackUrl"] == github["callbackUrl"]
    listed = stack.control.list_oauth2_credential_providers()["credentialProviders"]
    assert {p["name"] for p in listed} == {PROVIDER, "entra-graph", "custom-as"}

    updated = stack.control.update_oauth2_credential_provider(
        name=PROVIDER,
        credentialProviderVendor="GithubOauth2",
        oauth2ProviderConfigInput={
            "githubOauth2ProviderConfig": {"clientId": "gh-2", "clientSecret": "s2"}
        },
    )
    assert updated["callbackUrl"] == github["callbackUrl"]
    assert updated["oauth2ProviderConfigOutput"]["githubOauth2ProviderConfig"]["clientId"] == "gh-2"

    with pytest.raises(ClientError) as excinfo:
        stack.control.create_oauth2_credential_provider(
            name=PROVIDER,
            credentialProviderVendor="GithubOauth2",
            oauth2ProviderConfigInput={
                "githubOauth2ProviderConfig": {"clientId": "x", "clientSecret": "y"}
            },
        )
    assert error_of(excinfo)[0::2] == ("ConflictException", 409)

    assert (
        stack.control.delete_oauth2_credential_provider(name=PROVIDER)["ResponseMetadata"][
            "HTTPStatusCode"
        ]
        == 204
    )
    again = stack.control.create_oauth2_credential_provider(
        name=PROVIDER,
        credentialProviderVendor="GithubOauth2",
        oauth2ProviderConfigInput={
            "githubOauth2ProviderConfig": {"clientId": "x", "clientSecret": "y"}
        },
    )
    # The callback URL changes when a provider is recreated (AGENTCORE_NOTES: register it again).
    assert again["callbackUrl"] != github["callbackUrl"]


def test_provider_config_must_match_its_vendor(stack):
    with pytest.raises(ClientError) as excinfo:
        stack.control.create_oauth2_credential_provider(
            name="mismatch",
            credentialProviderVendor="MicrosoftOauth2",
            oauth2ProviderConfigInput={
                "githubOauth2ProviderConfig": {"clientId": "x", "clientSecret": "y"}
            },
        )
    assert error_of(excinfo)[0] == "ValidationException"
    assert stack.control.list_oauth2_credential_providers()["credentialProviders"] == []


def test_token_vault_reports_and_records_its_key(stack):
    vault = stack.control.get_token_vault()
    assert vault["tokenVaultId"] == "default"
    assert vault["kmsConfiguration"] == {"keyType": "ServiceManagedKey"}
    arn = f"arn:aws:kms:us-east-1:123456789012:key/{uuid.uuid4()}"
    stack.control.set_token_vault_cmk(
        kmsConfiguration={"keyType": "CustomerManagedKey", "kmsKeyArn": arn}
    )
    assert stack.control.get_token_vault()["kmsConfiguration"]["kmsKeyArn"] == arn
    with pytest.raises(ClientError) as excinfo:
        stack.control.set_token_vault_cmk(kmsConfiguration={"keyType": "CustomerManagedKey"})
    assert error_of(excinfo)[0] == "ValidationException"
    with pytest.raises(ClientError) as excinfo:
        stack.control.get_token_vault(tokenVaultId="other")
    assert error_of(excinfo)[0::2] == ("ResourceNotFoundException", 404)


def test_unsigned_calls_are_refused_like_aws_front_ends_do(stack):
    unsigned = boto3.client(
        "bedrock-agentcore-control",
        endpoint_url=stack.url,
        region_name="us-east-1",
        config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}),
    )
    with pytest.raises(ClientError) as excinfo:
        unsigned.create_workload_identity(name=WORKLOAD)
    assert error_of(excinfo)[0::2] == ("MissingAuthenticationTokenException", 403)

    forged = requests.post(
        f"{stack.url}/identities/CreateWorkloadIdentity",
        json={"name": WORKLOAD},
        headers={"Authorization": "Bearer something"},
        timeout=5,
    )
    assert forged.status_code == 403
    assert forged.headers["x-amzn-ErrorType"] == "IncompleteSignatureException"
    assert set(forged.json()) == {"message"}
    # Nothing was created by either call.
    assert stack.control.list_workload_identities()["workloadIdentities"] == []


def test_errors_are_rest_json_with_error_type_header(stack):
    response = requests.post(
        f"{stack.url}/identities/GetWorkloadIdentity",
        data=json.dumps({"name": "nobody-here"}),
        headers={
            "Authorization": (
                "AWS4-HMAC-SHA256 Credential=AKIAEMULATORTEST0001/20260101/us-east-1/"
                "bedrock-agentcore/aws4_request, SignedHeaders=host;x-amz-date, Signature="
                + "0"
                * 64
            )
        },
        timeout=5,
    )
    assert response.status_code == 404
    assert response.headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
    assert response.headers["Content-Type"].startswith("application/json")
    assert set(response.json()) == {"message"}


# ---------------------------------------------------------------------------- documented rules


def test_return_url_must_be_registered_on_the_workload_identity(stack):
    """The return URL must be one of the workload identity's allowedResourceOauth2ReturnUrls.

    Source:
    https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/oauth2-authorization-url-session-binding.html;
    the message is AWS's as reported in
    https://github.com/awslabs/agentcore-samples/issues/528
    """
    stack.setup(return_urls=())
    token = stack.workload_token(ALICE)
    with pytest.raises(ClientError) as excinfo:
        stack.get_token(token)
    assert error_of(excinfo) == (
        "ValidationException",
        "You must register and use at least one ResourceOauth2ReturnUrl on your workload "
        "identity to use this flow",
        400,
    )
    stack.control.update_workload_identity(
        name=WORKLOAD, allowedResourceOauth2ReturnUrls=[RETURN_URL]
    )
    with pytest.raises(ClientError) as excinfo:
        stack.get_token(token, resourceOauth2ReturnUrl="https://attacker.test/steal")
    assert error_of(excinfo)[0] == "ValidationException"
    assert stack.emulator.stats["flows_started"] == 0


def test_return_url_must_be_passed_on_every_call_including_polls(stack):
    """Every GetResourceOauth2Token call of a flow carries the return URL, polls too.

    Source:
    https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/oauth2-authorization-url-session-binding.html;
    message as reported in
    https://github.com/enechange/collmbo/pull/742
    """
    stack.setup()
    token = stack.workload_token(ALICE)
    started = stack.get_token(token)
    assert started["sessionStatus"] == "IN_PROGRESS"
    with pytest.raises(ClientError) as excinfo:
        stack.get_token(token, sessionUri=started["sessionUri"], resourceOauth2ReturnUrl=None)
    assert error_of(excinfo) == (
        "ValidationException",
        "You must provide a ResourceOauth2ReturnUrl to proceed with this flow",
        400,
    )
    poll = stack.get_token(token, sessionUri=started["sessionUri"])
    assert poll["sessionStatus"] == "IN_PROGRESS"


def test_authorization_url_targets_the_provider_with_pkce_and_the_callback(stack):
    """The authorization URL sends the user to the provider, which returns to AgentCore's callback.

    Source:
    https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/oauth2-authorization-url-session-binding.html
    (steps 2 and 3) and the provider's callbackUrl.
    """
    provider = stack.setup()
    started = stack.get_token(stack.workload_token(ALICE))
    url = urlsplit(started["authorizationUrl"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{stack.oauth_served.url}/authorize"
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query["client_id"] == "gh-client-id"
    assert query["redirect_uri"] == provider["callbackUrl"]
    assert query["scope"] == " ".join(SCOPES)
    assert query["code_challenge_method"] == "S256"
    assert len(query["state"]) >= 32
    assert re.fullmatch(
        r"urn:ietf:params:oauth:request_uri:[a-zA-Z0-9-._~]+", started["sessionUri"]
    )


def test_resources_and_custom_parameters_reach_the_authorization_request(stack):
    """`resources` become RFC 8707 resource indicators; custom parameters never override.

    Source: the resources and customParameters members of
    https://docs.aws.amazon.com/bedrock-agentcore/latest/APIReference/API_GetResourceOauth2Token.html
    """
    stack.setup()
    started = stack.get_token(
        stack.workload_token(ALICE),
        resources=["http://127.0.0.1:8703"],
        customParameters={"prompt": "consent", "client_id": "someone-else"},
    )
    query = parse_qs(urlsplit(started["authorizationUrl"]).query)
    assert query["resource"] == ["http://127.0.0.1:8703"]
    assert query["prompt"] == ["consent"]
    assert query["client_id"] == ["gh-client-id"]


def test_user_federation_flow_delivers_the_token_only_after_binding(stack):
    """Consent, callback, redirect with session_id, CompleteResourceTokenAuth, then the token.

    Source:
    https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/oauth2-authorization-url-session-binding.html:
    after consent AgentCore redirects the browser to the return URL;
    the application "calls CompleteResourceTokenAuth so that AgentCore Identity can fetch and
    store the access token". The code is therefore exchanged at completion, not at the callback.
    """
    stack.setup()
    token = stack.workload_token(ALICE)
    started = stack.get_token(token)
    assert stack.get_token(token, sessionUri=started["sessionUri"])["sessionStatus"] == (
        "IN_PROGRESS"
    )
    at_callback, _ = stack.consent(started["authorizationUrl"])
    assert at_callback.status_code == 302
    target = urlsplit(at_callback.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == RETURN_URL
    assert parse_qs(target.query) == {"session_id": [started["sessionUri"]]}

    # Consent alone stores nothing: still in progress, and no code exchange happened.
    poll = stack.get_token(token, sessionUri=started["sessionUri"])
    assert poll["sessionStatus"] == "IN_PROGRESS" and "accessToken" not in poll
    assert stack.oauth.grants["authorization_code"] == 0

    stack.complete(started["sessionUri"], ALICE)
    assert stack.oauth.grants["authorization_code"] == 1
    delivered = stack.get_token(token, sessionUri=started["sessionUri"])["accessToken"]
    assert stack.oauth.issued[delivered] == "alice"
    # Later calls are served from the vault, without a new flow or a new grant.
    assert stack.get_token(stack.workload_token(ALICE))["accessToken"] == delivered
    assert stack.oauth.grants["authorization_code"] == 1
    assert stack.emulator.stats["flows_started"] == 1


def test_binding_with_another_user_id_is_refused_and_stores_nothing(stack):
    """CompleteResourceTokenAuth accepts only the exact user id that minted the flow's token.

    Source:
    https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/oauth2-authorization-url-session-binding.html
    and
    https://docs.aws.amazon.com/bedrock-agentcore/latest/APIReference/API_CompleteResourceTokenAuth.html
    ("The OAuth2.0 token or user ID that was used to generate the workload access token used for
    initiating the user authorization flow"); AccessDenied "Invalid or expired session" as in
    https://github.com/aws/bedrock-agentcore-sdk-typescript/issues/37
    """
    stack.setup()
    mallory_token = stack.workload_token(MALLORY)
    started = stack.get_token(mallory_token)
    session_uri = stack.consent_and_bind(started["authorizationUrl"])  # alice's browser consents

    for other in (ALICE, MALLORY.upper(), MALLORY + " ", "entra+mallory"):
        with pytest.raises(ClientError) as excinfo:
            stack.complete(session_uri, other)
        assert error_of(excinfo) == ("AccessDeniedException", "Invalid or expired session", 403)
    assert stack.oauth.grants["authorization_code"] == 0
    assert stack.get_token(mallory_token, sessionUri=session_uri)["sessionStatus"] == "IN_PROGRESS"
    assert stack.emulator.vault_summary() == []


def test_binding_before_consent_or_twice_is_refused(stack):
    """A session binds once, and only after the user consented.

    Source:
    https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/oauth2-authorization-url-session-binding.html
    (step 3: the binding follows the redirect after consent).
    """
    stack.setup()
    started = stack.get_token(stack.workload_token(ALICE))
    with pytest.raises(ClientError) as excinfo:
        stack.complete(started["sessionUri"], ALICE)
    assert error_of(excinfo)[0] == "AccessDeniedException"
    stack.consent_and_bind(started["authorizationUrl"])
    stack.complete(started["sessionUri"], ALICE)
    with pytest.raises(ClientError) as excinfo:
        stack.complete(started["sessionUri"], ALICE)
    assert error_of(excinfo)[0] == "AccessDeniedException"
    assert stack.oauth.grants["authorization_code"] == 1


def test_unreachable_provider_at_binding_is_a_retryable_server_error(stack):
    """A token endpoint that cannot be reached spends nothing: 500, and the session waits.

    The error code is the emulator's choice (InternalServerException, which botocore retries);
    the binding itself follows
    https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/oauth2-authorization-url-session-binding.html
    """
    stack.setup()
    token = stack.workload_token(ALICE)
    started = stack.get_token(token)
    session_uri = stack.consent_and_bind(started["authorizationUrl"])
    stack.oauth_served.stop()
    for _ in range(2):
        with pytest.raises(ClientError) as excinfo:
            stack.complete(session_uri, ALICE)
        assert error_of(excinfo)[0::2] == ("InternalServerException", 500)
    assert stack.get_token(token, sessionUri=session_uri)["sessionStatus"] == "IN_PROGRESS"


def test_callback_cannot_be_replayed(stack):
    """The provider's redirect to the callback is used once. Source: https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/oauth2-authorization-url-session-binding.html."""
    stack.setup()
    started = stack.get_token(stack.workload_token(ALICE))
    first, callback_url = stack.consent(started["authorizationUrl"])
    assert first.status_code == 302
    replay = requests.get(callback_url, allow_redirects=False, timeout=5)
    assert replay.status_code == 400
    assert "Location" not in replay.headers


def test_session_expires_after_ten_minutes(stack):
    """An authorization URL and its session are valid for 10 minutes.

    Source:
    https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/oauth2-authorization-url-session-binding.html
    """
    stack.setup()
    token = stack.workload_token(ALICE)
    late_consent = stack.get_token(token)
    late_binding = stack.get_token(token)
    session_uri = stack.consent_and_bind(late_binding["authorizationUrl"])
    stack.clock.advance(601)

    at_callback, _ = stack.consent(late_consent["authorizationUrl"])
    assert at_callback.status_code == 400 and "Location" not in at_callback.headers
    with pytest.raises(ClientError) as excinfo:
        stack.complete(session_uri, ALICE)
    assert error_of(excinfo) == ("AccessDeniedException", "Invalid or expired session", 403)
    fresh = stack.workload_token(ALICE)
    poll = stack.get_token(fresh, sessionUri=late_consent["sessionUri"])
    assert poll == {"sessionUri": late_consent["sessionUri"], "sessionStatus": "FAILED"}
    assert stack.oauth.grants["authorization_code"] == 0


def test_session_still_binds_just_before_ten_minutes(stack):
    """Counterpart of the expiry rule: 9 minutes 59 seconds is in time. Source: https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/oauth2-authorization-url-session-binding.html"""
    stack.setup()
    started = stack.get_token(stack.workload_token(ALICE))
    session_uri = stack.consent_and_bind(started["authorizationUrl"])
    stack.clock.advance(599)
    stack.complete(session_uri, ALICE)
    assert stack.oauth.grants["authorization_code"] == 1


def test_tokens_are_kept_per_workload_user_provider_and_scopes(stack):
    """The vault keys tokens by workload identity, user, credential provider and scopes.

    Source:
    https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/identity-authentication.html
    """
    stack.setup()
    stack.control.create_workload_identity(
        name="other-agent", allowedResourceOauth2ReturnUrls=[RETURN_URL]
    )
    stack.control.create_oauth2_credential_provider(
        name="other-github",
        credentialProviderVendor="GithubOauth2",
        oauth2ProviderConfigInput={
            "githubOauth2ProviderConfig": {"clientId": "gh-client-id", "clientSecret": "x"}
        },
    )
    alice_token = stack.connect(ALICE)
    token = stack.workload_token(ALICE)

    assert stack.get_token(token, scopes=list(reversed(SCOPES)))["accessToken"] == alice_token
    assert "authorizationUrl" in stack.get_token(token, scopes=["repo"])
    assert "authorizationUrl" in stack.get_token(stack.workload_token(MALLORY))
    assert "authorizationUrl" in stack.get_token(stack.workload_token(ALICE, "other-agent"))
    assert "authorizationUrl" in stack.get_token(
        token, resourceCredentialProviderName="other-github"
    )


def test_expired_access_token_is_renewed_with_the_refresh_token_without_consent(stack):
    """An expired access token is refreshed with the stored refresh token; no new consent.

    Source:
    https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/identity-authentication.html
    """
    stack.setup()
    first = stack.connect(ALICE)
    flows = stack.emulator.stats["flows_started"]

    expired = requests.post(f"{stack.url}/_emulator/vault/expire-access-tokens", json={}, timeout=5)
    assert expired.json() == {"expired": 1}
    renewed = stack.get_token(stack.workload_token(ALICE))["accessToken"]
    assert renewed != first and stack.oauth.issued[renewed] == "alice"
    assert stack.oauth.grants["refresh_token"] == 1
    assert stack.emulator.stats["flows_started"] == flows

    # The same through the provider's own expires_in and the emulator's clock.
    requests.post(f"{stack.url}/_emulator/clock/advance", json={"seconds": 3601}, timeout=5)
    again = stack.get_token(stack.workload_token(ALICE))["accessToken"]
    assert again not in (first, renewed)
    assert stack.oauth.grants["refresh_token"] == 2
    assert stack.emulator.stats["flows_started"] == flows


def test_refused_refresh_token_falls_back_to_consent(stack):
    """When the provider refuses the refresh token the user must consent again.

    Source:
    https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/identity-authentication.html
    """
    stack.setup()
    stack.connect(ALICE)
    stack.oauth.revoke_refresh_tokens()
    stack.emulator.expire_access_tokens()
    answer = stack.get_token(stack.workload_token(ALICE))
    assert "authorizationUrl" in answer and "accessToken" not in answer
    assert stack.emulator.vault_summary() == []


def test_force_authentication_drops_stored_tokens_and_starts_over(stack):
    """forceAuthentication=true clears what is stored and starts a full flow.

    Source:
    https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/identity-authentication.html
    and the forceAuthentication member of
    https://docs.aws.amazon.com/bedrock-agentcore/latest/APIReference/API_GetResourceOauth2Token.html
    """
    stack.setup()
    stack.connect(ALICE)
    token = stack.workload_token(ALICE)
    forced = stack.get_token(token, forceAuthentication=True)
    assert forced["sessionStatus"] == "IN_PROGRESS" and "accessToken" not in forced
    # The stored token is gone: without force, the user still has to consent.
    assert "authorizationUrl" in stack.get_token(token)
    assert stack.emulator.vault_summary() == []


def test_force_authentication_on_a_poll_abandons_the_flow_being_polled(stack):
    """forceAuthentication belongs on the first call of a flow, never on polls.

    Source:
    https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/identity-authentication.html:
    a forced call starts a new flow regardless of any session, so
    a poll that sets it gets a new session and never the first flow's token.
    """
    stack.setup()
    token = stack.workload_token(ALICE)
    started = stack.get_token(token)
    session_uri = stack.consent_and_bind(started["authorizationUrl"])
    stack.complete(session_uri, ALICE)
    forced_poll = stack.get_token(token, sessionUri=started["sessionUri"], forceAuthentication=True)
    assert forced_poll["sessionUri"] != started["sessionUri"]
    assert "accessToken" not in forced_poll


def test_denied_consent_fails_the_session(stack):
    """A flow the user refuses ends FAILED. Source: https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/oauth2-authorization-url-session-binding.html."""
    stack.setup()
    token = stack.workload_token(ALICE)
    started = stack.get_token(token)
    at_callback, _ = stack.consent(started["authorizationUrl"], deny=True)
    assert at_callback.status_code == 400 and "Location" not in at_callback.headers
    assert stack.get_token(token, sessionUri=started["sessionUri"])["sessionStatus"] == "FAILED"


def test_polling_another_users_session_is_refused(stack):
    """A session belongs to the user whose workload token started it. Source: https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/oauth2-authorization-url-session-binding.html"""
    stack.setup()
    started = stack.get_token(stack.workload_token(ALICE))
    with pytest.raises(ClientError) as excinfo:
        stack.get_token(stack.workload_token(MALLORY), sessionUri=started["sessionUri"])
    assert error_of(excinfo)[0::2] == ("AccessDeniedException", 403)


def test_workload_access_token_expires_after_its_configured_lifetime():
    """Workload access tokens are opaque and short-lived; an expired one is refused.

    Source: https://docs.aws.amazon.com/bedrock-agentcore/latest/APIReference/
    API_GetWorkloadAccessTokenForUserId.html (the token carries no expiry; the emulator's
    lifetime is configurable, default one hour). The error code for it is the emulator's choice:
    AccessDeniedException.
    """
    short = Stack(workload_token_ttl=60)
    try:
        short.setup()
        token = short.workload_token(ALICE)
        assert "authorizationUrl" in short.get_token(token)
        short.clock.advance(61)
        with pytest.raises(ClientError) as excinfo:
            short.get_token(token)
        assert error_of(excinfo)[0::2] == ("AccessDeniedException", 403)
        with pytest.raises(ClientError) as excinfo:
            short.get_token("not-a-token-the-emulator-minted")
        assert error_of(excinfo)[0] == "AccessDeniedException"
    finally:
        short.stop()


def test_m2m_flow_uses_client_credentials_and_caches_the_token(stack):
    """M2M needs no user: the client credentials grant, cached until it expires.

    Source: https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/identity-authentication.html
    """
    stack.setup()
    token = stack.data.get_workload_access_token(workloadName=WORKLOAD)["workloadAccessToken"]
    first = stack.get_token(token, oauth2Flow="M2M", resourceOauth2ReturnUrl=None)["accessToken"]
    assert stack.oauth.issued[first] == "client:gh-client-id"
    again = stack.get_token(token, oauth2Flow="M2M", resourceOauth2ReturnUrl=None)["accessToken"]
    assert again == first and stack.oauth.grants["client_credentials"] == 1
    # A token minted without a user cannot start a user's flow.
    with pytest.raises(ClientError) as excinfo:
        stack.get_token(token)
    assert error_of(excinfo)[0] == "ValidationException"


def test_workload_token_for_unknown_workload_is_not_found(stack):
    with pytest.raises(ClientError) as excinfo:
        stack.workload_token(ALICE, workload="no-such-agent")
    assert error_of(excinfo)[0::2] == ("ResourceNotFoundException", 404)


def test_jwt_minted_flow_binds_only_with_the_same_user_token(stack):
    """With GetWorkloadAccessTokenForJWT, binding needs the original user token.

    Source:
    https://docs.aws.amazon.com/bedrock-agentcore/latest/APIReference/API_CompleteResourceTokenAuth.html
    and
    https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/oauth2-authorization-url-session-binding.html.
    The emulator checks the JWT's shape, iss, sub and exp, not its
    signature.
    """
    stack.setup()
    now = int(time.time())
    key = "k" * 32
    user_jwt = jwt.encode(
        {"iss": "https://idp.test", "sub": "alice", "exp": now + 600}, key, algorithm="HS256"
    )
    token = stack.data.get_workload_access_token_for_jwt(workloadName=WORKLOAD, userToken=user_jwt)[
        "workloadAccessToken"
    ]
    started = stack.get_token(token)
    session_uri = stack.consent_and_bind(started["authorizationUrl"])
    with pytest.raises(ClientError):
        stack.complete(session_uri, "alice")
    other_jwt = jwt.encode(
        {"iss": "https://idp.test", "sub": "alice", "exp": now + 601}, key, algorithm="HS256"
    )
    with pytest.raises(ClientError):
        stack.data.complete_resource_token_auth(
            sessionUri=session_uri, userIdentifier={"userToken": other_jwt}
        )
    stack.data.complete_resource_token_auth(
        sessionUri=session_uri, userIdentifier={"userToken": user_jwt}
    )
    assert "accessToken" in stack.get_token(token, sessionUri=started["sessionUri"])

    expired_jwt = jwt.encode(
        {"iss": "https://idp.test", "sub": "alice", "exp": now - 10}, key, algorithm="HS256"
    )
    with pytest.raises(ClientError) as excinfo:
        stack.data.get_workload_access_token_for_jwt(workloadName=WORKLOAD, userToken=expired_jwt)
    assert error_of(excinfo)[0::2] == ("UnauthorizedException", 401)


def test_custom_provider_with_discovery_and_client_secret_basic():
    """CustomOauth2 reads its endpoints from the discovery document and authenticates as it says.

    Source: the oauthDiscovery member of CreateOauth2CredentialProvider in botocore's model,
    https://docs.aws.amazon.com/bedrock-agentcore-control/latest/APIReference/API_Oauth2Discovery.html
    """
    basic = Stack(auth_method="client_secret_basic")
    try:
        basic.control.create_workload_identity(
            name=WORKLOAD, allowedResourceOauth2ReturnUrls=[RETURN_URL]
        )
        basic.control.create_oauth2_credential_provider(
            name=PROVIDER,
            credentialProviderVendor="CustomOauth2",
            oauth2ProviderConfigInput={
                "customOauth2ProviderConfig": {
                    "oauthDiscovery": {
                        "discoveryUrl": f"{basic.oauth_served.url}/.well-known/openid-configuration"
                    },
                    "clientId": "gh-client-id",
                    "clientSecret": "gh-client-secret",
                }
            },
        )
        access = basic.connect(ALICE)
        assert basic.oauth.issued[access] == "alice"
        assert basic.oauth.refused["invalid_client"] == 0
    finally:
        basic.stop()


def test_no_token_code_or_secret_reaches_the_log(stack, caplog):
    """Secrets stay in memory: the log has paths, operations and outcomes only."""
    caplog.set_level(logging.DEBUG)
    stack.setup()
    token = stack.workload_token(ALICE)
    started = stack.get_token(token)
    at_callback, callback_url = stack.consent(started["authorizationUrl"])
    session_uri = parse_qs(urlsplit(at_callback.headers["Location"]).query)["session_id"][0]
    stack.complete(session_uri, ALICE)
    access = stack.get_token(token, sessionUri=session_uri)["accessToken"]
    code = parse_qs(urlsplit(callback_url).query)["code"][0]
    emulator_log = "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith("devstack.agentcore")
    )
    assert "GetResourceOauth2Token" in emulator_log
    for secret in (token, access, code, "gh-client-secret", session_uri, ALICE):
        assert secret not in emulator_log


def test_admin_endpoints_report_without_token_values(stack):
    """The /_emulator/ endpoints exist only here, not on AWS; they never show token values."""
    stack.setup()
    access = stack.connect(ALICE)
    vault = requests.get(f"{stack.url}/_emulator/vault", timeout=5).json()["entries"]
    assert vault == [
        {
            "workloadName": WORKLOAD,
            "user": f"user:{ALICE}",
            "provider": PROVIDER,
            "scopes": sorted(SCOPES),
            "accessTokenExpired": False,
            "hasRefreshToken": True,
        }
    ]
    stats = requests.get(f"{stack.url}/_emulator/stats", timeout=5).json()
    assert stats["code_exchanges"] == 1 and stats["calls"]["CompleteResourceTokenAuth"] == {"ok": 1}
    assert access not in json.dumps(stats) + json.dumps(vault)
    bad = requests.post(f"{stack.url}/_emulator/clock/advance", json={"seconds": "x"}, timeout=5)
    assert bad.status_code == 400
    assert requests.get(f"{stack.url}/_emulator/health", timeout=5).json() == {"status": "ok"}


# ---------------------------------------------------------------------------- entry point


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_command_line_serves_until_terminated(tmp_path):
    config = tmp_path / "vendors.json"
    config.write_text(
        json.dumps(
            {
                "GithubOauth2": {
                    "authorization_endpoint": "http://127.0.0.1:9002/auth",
                    "token_endpoint": "http://127.0.0.1:9002/token",
                }
            }
        )
    )
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devstack.agentcore",
            "--port",
            str(port),
            "--vendor-config",
            config,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                health = requests.get(f"http://127.0.0.1:{port}/_emulator/health", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "emulator did not start"
                time.sleep(0.05)
        assert health.json() == {"status": "ok"}
        process.terminate()
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)


def test_command_line_rejects_a_bad_vendor_config(tmp_path):
    config = tmp_path / "vendors.json"
    config.write_text(json.dumps({"GithubOauth2": {"authorization_endpoint": "ftp://x"}}))
    result = subprocess.run(
        [sys.executable, "-m", "devstack.agentcore", "--port", "0", "--vendor-config", config],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 2
    assert "GithubOauth2" in result.stderr and "authorization_endpoint" in result.stderr
