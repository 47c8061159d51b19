"""register_provider.py against botocore's Stubber: which AWS calls it makes, and when it stops.

Every Stubber here fails on an unplanned call, so "no write happened" is asserted by planning
only reads and by the recorded list of operations.
"""

from __future__ import annotations

import io
import json

import pytest
from botocore.stub import ANY
from werkzeug.wrappers import Request, Response

from scripts import register_provider as rp
from tests.scripts.helpers import (
    BASE_ARGS,
    BINDING_URL,
    CALLBACK,
    CLIENT_ID,
    CLIENT_SECRET,
    PROVIDER,
    REGION,
    WORKLOAD,
    StubbedAws,
    provider_response,
    serve,
    workload_response,
)

WRITES = {
    "CreateWorkloadIdentity",
    "UpdateWorkloadIdentity",
    "CreateOauth2CredentialProvider",
    "UpdateOauth2CredentialProvider",
}
SECRET_ENV = {"GITHUB_CLIENT_SECRET": CLIENT_SECRET}


def run(aws: StubbedAws, *args: str, env: dict[str, str] | None = None) -> int:
    return rp.main([*BASE_ARGS, *args], clients_factory=aws.factory, env=env or {})


@pytest.fixture(autouse=True)
def secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_CLIENT_SECRET", CLIENT_SECRET)


def test_first_run_on_an_empty_account_creates_both_and_says_what_to_register(aws, capsys):
    aws.workload_missing()
    aws.control_stub.add_response(
        "create_workload_identity",
        {
            "name": WORKLOAD,
            "workloadIdentityArn": "arn:aws:x",
            "allowedResourceOauth2ReturnUrls": [BINDING_URL],
        },
        {"name": WORKLOAD, "allowedResourceOauth2ReturnUrls": [BINDING_URL]},
    )
    aws.provider_missing()
    created = provider_response()
    for k in ("createdTime", "lastUpdatedTime", "credentialProviderVendor"):
        created.pop(k)
    aws.control_stub.add_response(
        "create_oauth2_credential_provider",
        created,
        {
            "name": PROVIDER,
            "credentialProviderVendor": "GithubOauth2",
            "oauth2ProviderConfigInput": {
                "githubOauth2ProviderConfig": {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}
            },
        },
    )

    assert run(aws, "--client-secret-env", "GITHUB_CLIENT_SECRET") == 0

    aws.assert_all_used()
    out = capsys.readouterr().out
    assert f"workload identity [{WORKLOAD}]: created" in out
    assert f"credential provider [{PROVIDER}]: created" in out
    # GitHub OAuth apps cannot be changed by API: the script says exactly what to set where.
    assert f"set 'Authorization callback URL' to {CALLBACK}" in out
    assert CLIENT_SECRET not in out


def test_binding_url_is_added_and_other_return_urls_survive(aws, capsys):
    others = ["https://other.example.com/callback", "http://localhost:8080/oauth2/session-binding"]
    aws.workload(others)
    aws.control_stub.add_response(
        "update_workload_identity",
        workload_response([*others, BINDING_URL]),
        {"name": WORKLOAD, "allowedResourceOauth2ReturnUrls": [*others, BINDING_URL]},
    )
    aws.provider()

    assert run(aws) == 0

    aws.assert_all_used()
    out = capsys.readouterr().out
    assert f"workload identity [{WORKLOAD}]: updated" in out
    assert f"credential provider [{PROVIDER}]: unchanged" in out


def test_nothing_to_do_makes_no_write_and_reads_no_secret(aws, capsys):
    aws.workload([BINDING_URL])
    aws.provider()

    # A secret source is given but the provider matches: the secret is not even read.
    assert run(aws, "--client-secret-arn", "arn:aws:secretsmanager:eu-west-1:1:secret:gh") == 0

    aws.assert_all_used()
    assert aws.calls == ["GetWorkloadIdentity", "GetOauth2CredentialProvider"]
    out = capsys.readouterr().out
    assert "unchanged" in out and "updated" not in out and "created" not in out


def test_dry_run_reads_everything_and_writes_nothing(aws, capsys):
    aws.workload(["https://other.example.com/back"])
    aws.provider(client_id="Iv1.old-client")
    # The secret is read in a dry run too: a wrong secret source fails now, not at deploy time.
    aws.secrets_stub.add_response(
        "get_secret_value",
        {"SecretString": json.dumps({"client_secret": CLIENT_SECRET})},
        {"SecretId": "arn:aws:secretsmanager:eu-west-1:1:secret:gh"},
    )

    code = run(
        aws,
        "--dry-run",
        "--client-secret-arn",
        "arn:aws:secretsmanager:eu-west-1:1:secret:gh",
        "--client-secret-json-key",
        "client_secret",
    )

    assert code == 0
    aws.assert_all_used()
    assert not WRITES & set(aws.calls)
    out = capsys.readouterr().out
    assert f"workload identity [{WORKLOAD}]: would update" in out
    assert "credential provider [github]: would update - changed: client id" in out


def test_changed_client_id_updates_the_provider_with_the_secret(aws, capsys):
    aws.workload([BINDING_URL])
    aws.provider(client_id="Iv1.old-client")
    aws.control_stub.add_response(
        "update_oauth2_credential_provider",
        {k: v for k, v in provider_response().items() if k != "failureReason"},
        {
            "name": PROVIDER,
            "credentialProviderVendor": "GithubOauth2",
            "oauth2ProviderConfigInput": {
                "githubOauth2ProviderConfig": {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}
            },
        },
    )

    assert run(aws, "--client-secret-env", "GITHUB_CLIENT_SECRET") == 0
    aws.assert_all_used()
    assert "updated - changed: client id" in capsys.readouterr().out


def test_rotate_secret_sends_the_secret_even_when_nothing_else_changed(aws, monkeypatch):
    aws.workload([BINDING_URL])
    aws.provider()
    aws.control_stub.add_response(
        "update_oauth2_credential_provider",
        provider_response(),
        {
            "name": PROVIDER,
            "credentialProviderVendor": "GithubOauth2",
            "oauth2ProviderConfigInput": {
                "githubOauth2ProviderConfig": {"clientId": CLIENT_ID, "clientSecret": "rotated-1"}
            },
        },
    )
    monkeypatch.setattr("sys.stdin", io.StringIO("rotated-1\n"))

    assert run(aws, "--client-secret-stdin", "--rotate-secret") == 0
    aws.assert_all_used()


def test_secret_reference_is_compared_and_never_read(aws, capsys):
    ref = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:github-oauth-AbCdEf"
    aws.workload([BINDING_URL])
    aws.provider(source="MANAGED")
    aws.control_stub.add_response(
        "update_oauth2_credential_provider",
        provider_response(source="EXTERNAL", secret_arn=ref, json_key="client_secret"),
        {
            "name": PROVIDER,
            "credentialProviderVendor": "GithubOauth2",
            "oauth2ProviderConfigInput": {
                "githubOauth2ProviderConfig": {
                    "clientId": CLIENT_ID,
                    "clientSecretConfig": {"secretId": ref, "jsonKey": "client_secret"},
                    "clientSecretSource": "EXTERNAL",
                }
            },
        },
    )
    assert (
        run(aws, "--client-secret-reference", ref, "--client-secret-json-key", "client_secret") == 0
    )
    aws.assert_all_used()
    assert "GetSecretValue" not in aws.calls

    # Second run: the reference reads back equal, so nothing is written.
    aws.workload([BINDING_URL])
    aws.provider(source="EXTERNAL", secret_arn=ref, json_key="client_secret")
    aws.calls.clear()
    assert (
        run(aws, "--client-secret-reference", ref, "--client-secret-json-key", "client_secret") == 0
    )
    assert aws.calls == ["GetWorkloadIdentity", "GetOauth2CredentialProvider"]


def test_missing_provider_without_a_secret_is_a_usage_error_and_writes_nothing(aws, capsys):
    aws.workload([BINDING_URL])
    aws.provider_missing()

    assert run(aws) == 2
    err = capsys.readouterr().err
    assert "no client secret was given" in err
    assert not WRITES & set(aws.calls)


def test_existing_provider_of_another_vendor_is_refused(aws, capsys):
    aws.workload([BINDING_URL])
    aws.provider(vendor="GoogleOauth2")

    assert run(aws, "--client-secret-env", "GITHUB_CLIENT_SECRET") == 2
    assert "exists with vendor GoogleOauth2, not GithubOauth2" in capsys.readouterr().err
    assert not WRITES & set(aws.calls)


def test_access_denied_is_one_line_on_stderr_and_exit_1(aws, capsys):
    aws.control_stub.add_client_error(
        "get_workload_identity",
        "AccessDeniedException",
        "User is not authorized to perform bedrock-agentcore:GetWorkloadIdentity",
        403,
    )

    assert run(aws) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert lines == [
        "register_provider: AWS GetWorkloadIdentity: AccessDeniedException: User is not "
        "authorized to perform bedrock-agentcore:GetWorkloadIdentity"
    ]
    assert captured.out == ""


def test_debug_adds_the_traceback(aws, capsys):
    aws.control_stub.add_client_error(
        "get_workload_identity", "AccessDeniedException", "denied", 403
    )
    assert run(aws, "--debug") == 1
    assert "Traceback (most recent call last)" in capsys.readouterr().err


def test_json_output_carries_the_result_and_no_secret(aws, capsys):
    aws.workload([])
    aws.control_stub.add_response(
        "update_workload_identity",
        workload_response([BINDING_URL]),
        {"name": WORKLOAD, "allowedResourceOauth2ReturnUrls": [BINDING_URL]},
    )
    aws.provider_missing()
    aws.control_stub.add_response(
        "create_oauth2_credential_provider",
        {
            k: v
            for k, v in provider_response().items()
            if k not in ("createdTime", "lastUpdatedTime", "credentialProviderVendor")
        },
        {
            "name": PROVIDER,
            "credentialProviderVendor": "GithubOauth2",
            "oauth2ProviderConfigInput": ANY,
        },
    )

    assert run(aws, "--json", "--client-secret-env", "GITHUB_CLIENT_SECRET") == 0

    out = capsys.readouterr().out
    result = json.loads(out)
    assert CLIENT_SECRET not in out
    assert result["mode"] == "apply"
    assert result["callback_url"] == CALLBACK
    assert [(s["step"], s["status"]) for s in result["steps"]] == [
        ("workload identity", "updated"),
        ("credential provider", "created"),
        ("callback URL at the external app", "manual"),
    ]
    assert result["actions_required"] and CALLBACK in result["actions_required"][0]


def test_throttling_is_retried_a_bounded_number_of_times_then_exit_1(monkeypatch, capsys):
    """Stubber skips botocore's retry loop, so a real endpoint on loopback answers 429."""
    requests_seen: list[str] = []

    @Request.application
    def always_throttled(request: Request) -> Response:
        requests_seen.append(request.path)
        return Response(
            json.dumps({"message": "Rate exceeded"}),
            status=429,
            headers={"x-amzn-ErrorType": "ThrottlingException", "Content-Type": "application/json"},
        )

    # No waiting between attempts in the test; the number of attempts is what is checked.
    monkeypatch.setattr(
        "botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, ctx: 0
    )
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with serve(always_throttled) as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_AGENTCORE_CONTROL", url)
        code = rp.main(BASE_ARGS, env={})

    assert code == 1
    assert requests_seen == ["/identities/GetWorkloadIdentity"] * rp.AWS_MAX_ATTEMPTS
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["register_provider: AWS GetWorkloadIdentity: ThrottlingException: Rate exceeded"]


def test_secrets_manager_access_denied_stops_before_any_write(aws, capsys):
    aws.workload([BINDING_URL])
    aws.provider_missing()
    aws.secrets_stub.add_client_error(
        "get_secret_value", "AccessDeniedException", "not allowed to read gh", 400
    )
    assert run(aws, "--client-secret-arn", "arn:aws:secretsmanager:eu-west-1:1:secret:gh") == 1
    assert "GetSecretValue: AccessDeniedException" in capsys.readouterr().err
    assert not WRITES & set(aws.calls)


def test_region_comes_from_the_environment_when_not_given(aws, monkeypatch):
    monkeypatch.setenv("AWS_REGION", REGION)
    aws.workload([BINDING_URL])
    aws.provider()
    args = [a for a in BASE_ARGS]
    i = args.index("--region")
    del args[i : i + 2]
    assert rp.main(args, clients_factory=aws.factory, env={}) == 0


def test_real_clients_use_standard_retries_with_a_bound():
    clients = rp.make_clients(REGION)
    retries = clients.control.meta.config.retries
    assert retries == {"mode": "standard", "total_max_attempts": rp.AWS_MAX_ATTEMPTS}
    assert clients.secrets.meta.config.retries["mode"] == "standard"
