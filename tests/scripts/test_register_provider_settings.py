"""Settings that cannot work are refused with their reason, exit 2, before any AWS call."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scripts import register_provider as rp
from tests.scripts.helpers import BINDING_URL, CLIENT_ID, PROVIDER, REGION, WORKLOAD, StubbedAws


def args_with(**overrides: str | None) -> list[str]:
    values = {
        "--region": REGION,
        "--workload-name": WORKLOAD,
        "--session-binding-url": BINDING_URL,
        "--provider-name": PROVIDER,
        "--vendor": "GithubOauth2",
        "--client-id": CLIENT_ID,
    }
    for flag, value in overrides.items():
        values["--" + flag.replace("_", "-")] = value
    argv = []
    for flag, value in values.items():
        if value is not None:
            argv += [flag, value]
    return argv


REFUSED = [
    pytest.param(
        {"session_binding_url": "http://agents.example.com/oauth2/session-binding"},
        "must be https://",
        id="plain-http-return-url",
    ),
    pytest.param(
        {
            "session_binding_url": "https://bedrock-agentcore.eu-west-1.amazonaws.com/"
            "identities/oauth2/callback/3f1c6a52"
        },
        "points at AgentCore's own callback",
        id="return-url-is-agentcore-callback",
    ),
    pytest.param(
        {"session_binding_url": "https://agents.example.com/identities/oauth2/callback/x"},
        "points at AgentCore's own callback",
        id="return-url-has-callback-path",
    ),
    pytest.param(
        {"session_binding_url": "https://bedrock-agentcore.us-east-1.amazonaws.com/anything"},
        "points at AgentCore's own callback",
        id="return-url-on-agentcore-host",
    ),
    pytest.param(
        {"session_binding_url": "https://user:pw@agents.example.com/oauth2/session-binding"},
        "must not carry credentials",
        id="return-url-with-userinfo",
    ),
    pytest.param(
        {"session_binding_url": "https://agents.example.com/" + "a" * 2050},
        "longer than 2048",
        id="return-url-too-long",
    ),
    pytest.param({"workload_name": "ab"}, "does not match [A-Za-z0-9_.-]{3,255}", id="short-wl"),
    pytest.param(
        {"workload_name": "agents/../x"}, "does not match [A-Za-z0-9_.-]{3,255}", id="slash-wl"
    ),
    pytest.param(
        {"provider_name": "git hub"}, "does not match [a-zA-Z0-9_-]{1,128}", id="space-provider"
    ),
    pytest.param(
        {"provider_name": "p" * 129}, "does not match [a-zA-Z0-9_-]{1,128}", id="long-provider"
    ),
    pytest.param({"vendor": "MicrosoftOAuth2"}, "is not supported here", id="vendor-misspelt"),
    pytest.param({"client_id": "x" * 257}, "1 to 256 characters", id="client-id-too-long"),
    pytest.param({"region": None}, "missing setting: --region", id="no-region"),
    pytest.param(
        {"session_binding_url": None},
        "missing setting: --session-binding-url or terraform output session_binding_url",
        id="no-binding-url",
    ),
]


@pytest.mark.parametrize(("overrides", "reason"), REFUSED)
def test_unworkable_setting_is_refused_with_its_reason(overrides, reason, capsys, monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with StubbedAws() as aws:
        code = rp.main(args_with(**overrides), clients_factory=aws.factory, env={})
    assert code == 2
    assert reason in capsys.readouterr().err
    # Refused before any client was made: nothing was read and nothing was changed.
    assert aws.factory_calls == 0 and aws.calls == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/oauth2/session-binding",
        "http://localhost:8080/oauth2/session-binding",
        "https://agents.example.com/oauth2/session-binding",
    ],
)
def test_https_and_loopback_return_urls_are_accepted(url):
    assert rp.check_return_url(url) == url


def test_client_secret_cannot_be_given_on_the_command_line(capsys):
    code = rp.main([*args_with(), "--client-secret", "hunter2"], env={})
    assert code == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments: --client-secret (values not shown" in err
    assert "hunter2" not in err


def test_two_secret_sources_are_a_usage_error(capsys):
    code = rp.main([*args_with(), "--client-secret-env", "A", "--client-secret-stdin"], env={})
    assert code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_entra_object_id_must_be_a_guid_before_it_reaches_a_url(capsys):
    code = rp.main(
        [*args_with(vendor="MicrosoftOauth2"), "--entra-app-object-id", "../../me"], env={}
    )
    assert code == 2
    assert "--entra-app-object-id must be an object id (a GUID)" in capsys.readouterr().err


def test_verify_refuses_dry_run(capsys):
    assert rp.main([*args_with(), "--verify", "--dry-run"], env={}) == 2
    assert "--verify changes nothing" in capsys.readouterr().err


# Terraform outputs ---------------------------------------------------------------------------

# Shaped as the root module's outputs.tf writes them (see the drift test at the end).
TF_OUTPUTS = {
    "workload_identity_arn": {
        "value": f"arn:aws:bedrock-agentcore:{REGION}:111122223333:workload-identity-directory/"
        f"default/workload-identity/{WORKLOAD}",
        "type": "string",
        "sensitive": False,
    },
    "workload_identity_name": {"value": WORKLOAD, "type": "string", "sensitive": False},
    "session_binding_url": {"value": BINDING_URL, "type": "string", "sensitive": False},
    "application_url": {
        "value": "https://agents.example.com",
        "type": "string",
        "sensitive": False,
    },
    "entra_redirect_uri": {
        "value": "https://agents.example.com/oauth2/idpresponse",
        "type": "string",
        "sensitive": False,
    },
    "aws_region": {"value": REGION, "type": "string", "sensitive": False},
    "credential_provider_names": {
        "value": [PROVIDER, "microsoft"],
        "type": ["list", "string"],
        "sensitive": False,
    },
    "credential_providers": {
        "value": {
            PROVIDER: {
                "name": PROVIDER,
                "vendor": "GithubOauth2",
                "client_id": CLIENT_ID,
                "discovery_url": None,
                "arn": "arn:aws:acps:eu-west-1:111122223333:token-vault/default/"
                "oauth2credentialprovider/github",
            },
            "microsoft": {
                "name": "microsoft",
                "vendor": "MicrosoftOauth2",
                "client_id": "00000000-1111-2222-3333-444444444444",
                "discovery_url": None,
                "arn": "arn:aws:acps:eu-west-1:111122223333:token-vault/default/"
                "oauth2credentialprovider/microsoft",
            },
        },
        "type": ["map", ["object", {}]],
        "sensitive": False,
    },
    "credential_provider_callback_urls": {"value": None, "type": "dynamic", "sensitive": False},
    "oidc_client_secret": {"value": "must-never-be-read", "type": "string", "sensitive": True},
}


def write_outputs(tmp_path, outputs):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    return str(path)


def test_settings_are_read_from_terraform_outputs(tmp_path):
    parser = rp.build_parser()
    args = parser.parse_args(
        ["--from-json", write_outputs(tmp_path, TF_OUTPUTS), "--provider", "github"]
    )
    settings = rp.resolve_settings(args)
    assert (settings.region, settings.workload_name, settings.session_binding_url) == (
        REGION,
        WORKLOAD,
        BINDING_URL,
    )
    assert (settings.provider_name, settings.vendor, settings.client_id) == (
        PROVIDER,
        "GithubOauth2",
        CLIENT_ID,
    )
    assert settings.application_url == "https://agents.example.com"
    assert settings.entra_redirect_uri == "https://agents.example.com/oauth2/idpresponse"


def test_sensitive_outputs_are_dropped_unread():
    flat = rp.flatten_outputs(TF_OUTPUTS)
    assert "oidc_client_secret" not in flat


def test_flags_win_over_terraform_outputs(tmp_path):
    args = rp.build_parser().parse_args(
        [
            "--from-json",
            write_outputs(tmp_path, TF_OUTPUTS),
            "--provider",
            "github",
            "--client-id",
            "Iv1.override",
        ]
    )
    assert rp.resolve_settings(args).client_id == "Iv1.override"


def test_several_providers_need_a_choice(tmp_path, capsys):
    code = rp.main(["--from-json", write_outputs(tmp_path, TF_OUTPUTS)], env={})
    assert code == 2
    assert "several credential providers in terraform outputs (github, microsoft)" in (
        capsys.readouterr().err
    )


def test_a_missing_output_is_named(tmp_path, capsys):
    outputs = {k: v for k, v in TF_OUTPUTS.items() if k != "workload_identity_name"}
    code = rp.main(
        ["--from-json", write_outputs(tmp_path, outputs), "--provider", "github"], env={}
    )
    assert code == 2
    assert (
        "missing setting: --workload-name or terraform output workload_identity_name"
        in capsys.readouterr().err
    )


def test_terraform_dir_without_terraform_on_path_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert rp.main(["--terraform-dir", str(tmp_path)], env={}) == 2
    assert "terraform is not on PATH" in capsys.readouterr().err


def test_provider_map_entries_with_vendor_and_client_id_are_used(tmp_path):
    outputs = {
        **TF_OUTPUTS,
        "credential_providers": {
            "value": {
                "github": {"name": PROVIDER, "vendor": "GithubOauth2", "client_id": CLIENT_ID}
            },
            "type": "map",
            "sensitive": False,
        },
    }
    args = rp.build_parser().parse_args(["--from-json", write_outputs(tmp_path, outputs)])
    settings = rp.resolve_settings(args)
    assert (settings.provider_name, settings.vendor, settings.client_id) == (
        PROVIDER,
        "GithubOauth2",
        CLIENT_ID,
    )


def test_every_output_the_script_reads_first_exists_in_the_root_module():
    """The script's first choice for each setting is an output the root module really has."""
    outputs_tf = (Path(__file__).resolve().parents[2] / "terraform" / "outputs.tf").read_text(
        encoding="utf-8"
    )
    declared = set(re.findall(r'^output "([^"]+)"', outputs_tf, re.M))
    wanted = {
        "region": "aws_region",
        "workload_name": "workload_identity_name",
        "session_binding_url": "session_binding_url",
        "application_url": "application_url",
        "entra_redirect_uri": "entra_redirect_uri",
        "region_from_arn": "workload_identity_arn",
        "credential_providers": "credential_providers",
    }
    for key, name in wanted.items():
        assert name in rp.TERRAFORM_OUTPUTS[key]
        assert name in declared, f"terraform/outputs.tf has no output {name!r}"


def fake_terraform(tmp_path, monkeypatch, body: str) -> Path:
    """A `terraform` on PATH that records its arguments and answers like `output -json`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "terraform"
    exe.write_text(f'#!/bin/sh\necho "$@" > "{tmp_path}/argv"\n{body}\n')
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return tmp_path / "argv"


def test_terraform_dir_runs_terraform_output_json_there(tmp_path, monkeypatch):
    outputs = write_outputs(tmp_path, TF_OUTPUTS)
    argv = fake_terraform(tmp_path, monkeypatch, f'cat "{outputs}"')
    args = rp.build_parser().parse_args(["--terraform-dir", "stack", "--provider", PROVIDER])
    settings = rp.resolve_settings(args)
    assert argv.read_text().split() == ["-chdir=stack", "output", "-json"]
    assert settings.workload_name == WORKLOAD and settings.region == REGION


def test_failing_terraform_output_is_one_line_and_exit_1(tmp_path, monkeypatch, capsys):
    fake_terraform(tmp_path, monkeypatch, 'echo "Error: No state" >&2; exit 1')
    assert rp.main(["--terraform-dir", "stack"], env={}) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "register_provider: RuntimeError: terraform output failed in stack: Error: No state"
    ]


def test_a_plain_list_of_provider_names_is_enough_for_an_existing_provider(tmp_path):
    outputs = {
        k: v for k, v in TF_OUTPUTS.items() if k not in ("credential_providers", "aws_region")
    }
    args = rp.build_parser().parse_args(
        ["--from-json", write_outputs(tmp_path, outputs), "--provider", PROVIDER]
    )
    settings = rp.resolve_settings(args)
    # Region from the workload identity's ARN; vendor and client id are then not compared.
    assert (settings.region, settings.provider_name, settings.vendor, settings.client_id) == (
        REGION,
        PROVIDER,
        None,
        None,
    )
