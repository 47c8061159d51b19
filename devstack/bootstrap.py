"""Creates what a deployment creates, through the same boto3 calls, against the local stack.

The pending-flow table, the workload identity with the session binding URL as its allowed
return URL, and the GitHub credential provider. Then the provider's callback URL is
registered at the local authorization server, the step a deployment does by hand at GitHub
(scripts/register_provider.py prints it).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import boto3
import requests

if TYPE_CHECKING:
    from devstack.stack import StackConfig

log = logging.getLogger("devstack.bootstrap")


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
    control = session.client("bedrock-agentcore-control", endpoint_url=config.agentcore_url)

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
    control.create_workload_identity(
        name=config.workload_name,
        allowedResourceOauth2ReturnUrls=[config.session_binding_url],
    )
    client = config.raw["external_as"]["clients"][0]
    provider = control.create_oauth2_credential_provider(
        name=config.provider_name,
        credentialProviderVendor="GithubOauth2",
        oauth2ProviderConfigInput={
            "githubOauth2ProviderConfig": {
                "clientId": client["client_id"],
                "clientSecret": client["client_secret"],
            }
        },
    )
    callback_url = provider["callbackUrl"]
    _register_callback(config, client["client_id"], callback_url)
    return callback_url


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
