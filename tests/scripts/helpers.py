"""Helpers for the registration script's tests: stubbed AWS clients and loopback servers."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.config import Config
from botocore.stub import Stubber
from werkzeug.serving import make_server

from scripts import register_provider as rp

REGION = "eu-west-1"
ACCOUNT = "111122223333"
WORKLOAD = "agents-workload"
PROVIDER = "github"
BINDING_URL = "https://agents.example.com/oauth2/session-binding"
CALLBACK = (
    "https://bedrock-agentcore.eu-west-1.amazonaws.com/identities/oauth2/callback/"
    "3f1c6a52-6c0e-4a8e-9d7e-1b2c3d4e5f60"
)
CLIENT_ID = "Iv1.0123456789abcdef"
# A fake value shaped like a secret; the tests look for it in everything the script prints.
CLIENT_SECRET = "fake-client-secret-7f3a9c"
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


@contextmanager
def serve(app: Callable[..., Any]) -> Iterator[str]:
    """A WSGI app on 127.0.0.1 on a free port, stopped when the block ends."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


def make_client(service: str, endpoint_url: str | None = None, **config: Any) -> Any:
    return boto3.client(
        service,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        endpoint_url=endpoint_url,
        config=Config(**config) if config else None,
    )


class StubbedAws:
    """Both clients the script uses, each behind a Stubber that fails on any unplanned call."""

    def __init__(self) -> None:
        self.control = make_client("bedrock-agentcore-control")
        self.secrets = make_client("secretsmanager")
        self.control_stub = Stubber(self.control)
        self.secrets_stub = Stubber(self.secrets)
        self.factory_calls = 0
        self.calls: list[str] = []
        for client in (self.control, self.secrets):
            client.meta.events.register("before-call.*.*", self._record)

    def _record(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)

    def factory(self, region: str) -> rp.Clients:
        assert region == REGION
        self.factory_calls += 1
        return rp.Clients(control=self.control, secrets=self.secrets)

    def __enter__(self) -> StubbedAws:
        self.control_stub.activate()
        self.secrets_stub.activate()
        return self

    def __exit__(self, *exc: object) -> None:
        self.control_stub.deactivate()
        self.secrets_stub.deactivate()

    def assert_all_used(self) -> None:
        self.control_stub.assert_no_pending_responses()
        self.secrets_stub.assert_no_pending_responses()

    # Canned answers -------------------------------------------------------------------------

    def workload(self, urls: list[str] | None) -> None:
        self.control_stub.add_response(
            "get_workload_identity",
            workload_response(urls),
            {"name": WORKLOAD},
        )

    def workload_missing(self) -> None:
        self.control_stub.add_client_error(
            "get_workload_identity",
            "ResourceNotFoundException",
            "Workload identity not found",
            404,
            expected_params={"name": WORKLOAD},
        )

    def provider(self, **kw: Any) -> None:
        self.control_stub.add_response(
            "get_oauth2_credential_provider",
            provider_response(**kw),
            {"name": PROVIDER},
        )

    def provider_missing(self) -> None:
        self.control_stub.add_client_error(
            "get_oauth2_credential_provider",
            "ResourceNotFoundException",
            "Credential provider not found",
            404,
            expected_params={"name": PROVIDER},
        )


def workload_response(urls: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": WORKLOAD,
        "workloadIdentityArn": (
            f"arn:aws:bedrock-agentcore:{REGION}:{ACCOUNT}:workload-identity-directory/"
            f"default/workload-identity/{WORKLOAD}"
        ),
        "createdTime": NOW,
        "lastUpdatedTime": NOW,
    }
    if urls is not None:
        out["allowedResourceOauth2ReturnUrls"] = urls
    return out


def provider_response(
    *,
    client_id: str = CLIENT_ID,
    vendor: str = "GithubOauth2",
    status: str = "READY",
    source: str = "MANAGED",
    secret_arn: str | None = None,
    json_key: str | None = None,
    callback: str = CALLBACK,
    issuer: str = "https://github.com",
) -> dict[str, Any]:
    key = rp.vendor_config_keys()[vendor]
    out: dict[str, Any] = {
        "clientSecretArn": {
            "secretArn": secret_arn
            or f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:bedrock-agentcore-identity!x"
        },
        "clientSecretSource": source,
        "name": PROVIDER,
        "credentialProviderArn": (
            f"arn:aws:acps:{REGION}:{ACCOUNT}:token-vault/default/oauth2credentialprovider/"
            f"{PROVIDER}"
        ),
        "credentialProviderVendor": vendor,
        "callbackUrl": callback,
        "oauth2ProviderConfigOutput": {
            key: {
                "oauthDiscovery": {
                    "authorizationServerMetadata": {
                        "issuer": issuer,
                        "authorizationEndpoint": f"{issuer}/login/oauth/authorize",
                        "tokenEndpoint": f"{issuer}/login/oauth/access_token",
                    }
                },
                "clientId": client_id,
            }
        },
        "createdTime": NOW,
        "lastUpdatedTime": NOW,
        "status": status,
    }
    if json_key:
        out["clientSecretJsonKey"] = json_key
    return out


BASE_ARGS = [
    "--region",
    REGION,
    "--workload-name",
    WORKLOAD,
    "--session-binding-url",
    BINDING_URL,
    "--provider-name",
    PROVIDER,
    "--vendor",
    "GithubOauth2",
    "--client-id",
    CLIENT_ID,
]
