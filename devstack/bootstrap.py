"""Creates what a deployment creates, the way a deployment creates it, on the local stack.

Terraform's part (the pending-flow table) through boto3; then scripts/register_provider.py,
run as an operator runs it after `terraform apply`, creates the workload identity with the
session binding URL as its allowed return URL and the GitHub credential provider. Last, the
provider's callback URL is registered at the local authorization server: the step an operator
does by hand in GitHub's OAuth app settings, which the script prints.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import requests

if TYPE_CHECKING:
    from devstack.stack import StackConfig

ROOT = Path(__file__).resolve().parent.parent


def _session(config: StackConfig) -> boto3.session.Session:
    env = config.aws_environ()
    return boto3.session.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=config.region,
    )


def bootstrap(config: StackConfig) -> str:
    """Create the table, workload identity and provider; return the provider's callback URL."""
    session = _session(config)
    dynamodb = session.client("dynamodb", endpoint_url=config.moto_url)

    dynamodb.create_table(
        TableName=config.table_name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(
        TableName=config.table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"},
    )
    client = config.raw["external_as"]["clients"][0]
    callback_url = _register_provider(config)
    _register_callback(config, client["client_id"], callback_url)
    return callback_url


SECRET_VARIABLE = "DEVSTACK_PROVIDER_CLIENT_SECRET"


def run_register_provider(config: StackConfig, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run scripts/register_provider.py exactly as an operator does after `terraform apply`."""
    client = config.raw["external_as"]["clients"][0]
    argv = [
        sys.executable,
        str(ROOT / "scripts" / "register_provider.py"),
        "--region", config.region,
        "--workload-name", config.workload_name,
        "--session-binding-url", config.session_binding_url,
        "--provider-name", config.provider_name,
        "--vendor", "GithubOauth2",
        "--client-id", client["client_id"],
        "--client-secret-env", SECRET_VARIABLE,
        *extra,
    ]  # fmt: skip
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **config.aws_environ(),
        SECRET_VARIABLE: client["client_secret"],
    }
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)


def _register_provider(config: StackConfig) -> str:
    done = run_register_provider(config, "--json")
    # Kept beside the services' logs: what the first registration created, and the callback URL.
    (ROOT / ".devstack" / "logs" / "register_provider.json").write_text(done.stdout, "utf-8")
    if done.returncode != 0:
        raise RuntimeError(f"register_provider.py exited {done.returncode}: {done.stderr.strip()}")
    return json.loads(done.stdout)["callback_url"]


def _register_callback(config: StackConfig, client_id: str, callback_url: str) -> None:
    """What an operator does in GitHub's OAuth app settings, done through the local AS."""
    admin_token = config.raw["external_as"]["admin_token"]
    response = requests.post(
        f"{config.external_as_url}/_admin/clients/{client_id}/redirect_uris",
        json={"redirect_uri": callback_url},
        headers={"Authorization": f"Bearer {admin_token}"},
        timeout=5,
    )
    response.raise_for_status()
