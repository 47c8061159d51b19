"""register_provider.py end to end against the local stack's AgentCore emulator and moto.

The emulator (devstack.agentcore) serves both AgentCore planes over real HTTP; moto's server
holds the client secret in Secrets Manager. The script is run as the deploy job runs it, with
its own boto3 clients found through AWS_ENDPOINT_URL_* and nothing injected. A recording
middleware in front of the emulator lists every operation that reached it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from devstack.agentcore import Emulator, create_app, load_vendor_config
from scripts import register_provider as rp
from tests.scripts.helpers import serve

REGION = "eu-west-1"
WORKLOAD = "agents-workload"
PROVIDER = "github"
CLIENT_ID = "Iv1.local0123456789"
# A throwaway value shaped like a secret, so the tests can look for it in the output.
CLIENT_SECRET = "local-fake-secret-5b1e"
OTHER_URLS = ["http://localhost:3000/back", "https://staging.example.com/oauth2/session-binding"]
BINDING_URL = "http://127.0.0.1:8080/oauth2/session-binding"
WRITES = {
    "CreateWorkloadIdentity",
    "UpdateWorkloadIdentity",
    "CreateOauth2CredentialProvider",
    "UpdateOauth2CredentialProvider",
}


@dataclass
class Stack:
    agentcore_url: str
    secret_arn: str
    operations: list[str]

    def control(self) -> Any:
        return boto3.client(
            "bedrock-agentcore-control", region_name=REGION, endpoint_url=self.agentcore_url
        )


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLELOCAL001")  # the emulator checks its shape
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    emulator = Emulator(vendors=load_vendor_config(None), region=REGION)
    app = create_app(emulator)
    operations: list[str] = []

    def recording(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/identities/"):
            operations.append(path.rsplit("/", 1)[-1])
        return app(environ, start_response)

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    try:
        host, port = moto.get_host_and_port()
        moto_url = f"http://{host}:{port}"
        with serve(recording) as agentcore_url:
            monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_AGENTCORE_CONTROL", agentcore_url)
            monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto_url)
            secrets = boto3.client("secretsmanager", region_name=REGION, endpoint_url=moto_url)
            arn = secrets.create_secret(
                # moto keeps its state per process: a fresh name per test.
                Name=f"github-oauth-client-{uuid.uuid4().hex[:8]}",
                SecretString=json.dumps({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}),
            )["ARN"]
            yield Stack(agentcore_url, arn, operations)
    finally:
        moto.stop()


def script_args(stack: Stack, *extra: str) -> list[str]:
    return [
        "--region", REGION,
        "--workload-name", WORKLOAD,
        "--session-binding-url", BINDING_URL,
        "--provider-name", PROVIDER,
        "--vendor", "GithubOauth2",
        "--client-id", CLIENT_ID,
        "--client-secret-arn", stack.secret_arn,
        "--client-secret-json-key", "client_secret",
        "--json",
        *extra,
    ]  # fmt: skip


def statuses(output: str) -> list[tuple[str, str]]:
    return [(s["step"], s["status"]) for s in json.loads(output)["steps"]]


def test_first_run_registers_second_run_changes_nothing(stack, capsys):
    stack.control().create_workload_identity(
        name=WORKLOAD, allowedResourceOauth2ReturnUrls=OTHER_URLS
    )
    stack.operations.clear()

    assert rp.main(script_args(stack)) == 0
    first = capsys.readouterr().out
    assert statuses(first) == [
        ("workload identity", "updated"),
        ("credential provider", "created"),
        ("callback URL at the external app", "manual"),
    ]
    callback = json.loads(first)["callback_url"]
    assert callback.startswith(f"{stack.agentcore_url}/identities/oauth2/callback/")
    assert CLIENT_SECRET not in first

    # The other return URLs survive, the binding URL is added once.
    allowed = stack.control().get_workload_identity(name=WORKLOAD)[
        "allowedResourceOauth2ReturnUrls"
    ]
    assert allowed == [*OTHER_URLS, BINDING_URL]
    # The provider holds the secret read from Secrets Manager (the emulator keeps it; AWS would
    # not show it either, so the proof is that the provider was created with this client id).
    provider = stack.control().get_oauth2_credential_provider(name=PROVIDER)
    assert provider["oauth2ProviderConfigOutput"]["githubOauth2ProviderConfig"]["clientId"] == (
        CLIENT_ID
    )

    stack.operations.clear()
    assert rp.main(script_args(stack)) == 0
    second = capsys.readouterr().out
    assert statuses(second) == [
        ("workload identity", "unchanged"),
        ("credential provider", "unchanged"),
        ("callback URL at the external app", "manual"),
    ]
    assert json.loads(second)["callback_url"] == callback
    assert stack.operations == ["GetWorkloadIdentity", "GetOauth2CredentialProvider"]


def test_changed_client_id_is_updated_in_place_and_keeps_the_callback_url(stack, capsys):
    assert rp.main(script_args(stack)) == 0
    callback = json.loads(capsys.readouterr().out)["callback_url"]

    args = script_args(stack)
    args[args.index("--client-id") + 1] = "Iv1.rotated-app"
    assert rp.main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert statuses(json.dumps(result))[1] == ("credential provider", "updated")
    assert result["steps"][1]["changes"] == ["client id"]
    assert result["callback_url"] == callback


def test_dry_run_on_an_empty_emulator_writes_nothing(stack, capsys):
    assert rp.main(script_args(stack, "--dry-run")) == 0
    assert statuses(capsys.readouterr().out)[:2] == [
        ("workload identity", "would create"),
        ("credential provider", "would create"),
    ]
    assert not WRITES & set(stack.operations)
    with pytest.raises(stack.control().exceptions.ResourceNotFoundException):
        stack.control().get_workload_identity(name=WORKLOAD)


def test_plain_text_output_of_a_first_and_second_run(stack, capsys):
    """The human output, as the closing note shows it."""
    args = [a for a in script_args(stack) if a != "--json"]
    assert rp.main(args) == 0
    first = capsys.readouterr().out
    assert f"workload identity [{WORKLOAD}]: created - allowing {BINDING_URL}" in first
    assert f"credential provider [{PROVIDER}]: created - vendor GithubOauth2" in first
    assert "to do: GitHub: Settings > Developer settings > OAuth Apps" in first
    assert rp.main(args) == 0
    second = capsys.readouterr().out
    assert f"workload identity [{WORKLOAD}]: unchanged" in second
    assert f"credential provider [{PROVIDER}]: unchanged" in second
