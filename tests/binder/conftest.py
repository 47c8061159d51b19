"""Fixtures for the binder: ALB-shaped tokens, an in-process DynamoDB (moto), a stubbed or
recording AgentCore, and a record of every AWS call each client made."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from binder_app import create_app
from botocore.stub import Stubber
from identity_core import aws
from identity_core.pending import PendingFlowStore
from moto import mock_aws

from tests.binder.helpers import TABLE, Binder, CallLog, RecordingAgentCore
from tests.support.alb_tokens import REGION, AlbSigner, core_environ, key_endpoint


@pytest.fixture
def signer() -> AlbSigner:
    return AlbSigner()


@pytest.fixture
def keys(signer):
    with key_endpoint(signer) as endpoint:
        yield endpoint


@pytest.fixture
def environ(keys) -> dict[str, str]:
    return core_environ(keys.url, PENDING_FLOW_TABLE=TABLE)


@pytest.fixture
def aws_env(monkeypatch):
    # Fake credentials so botocore signs requests; nothing leaves the machine.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def dynamodb(aws_env) -> Iterator[Any]:
    with mock_aws():
        client = aws.client("dynamodb", REGION)
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


@pytest.fixture
def store(dynamodb) -> PendingFlowStore:
    """The agent's side of the table: how pending flows get there in production."""
    return PendingFlowStore(dynamodb, TABLE)


@pytest.fixture
def agentcore(aws_env) -> Iterator[tuple[Any, Stubber]]:
    client = aws.client("bedrock-agentcore", REGION)
    with Stubber(client) as stubber:
        yield client, stubber


@pytest.fixture
def audit_events() -> Iterator[list[dict[str, Any]]]:
    """The binder's audit events, as the dicts it writes to stdout."""
    events: list[dict[str, Any]] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            events.append(json.loads(json.dumps(record.msg, default=str)))

    handler = Collect()
    logger = logging.getLogger("audit.binder")
    logger.addHandler(handler)
    yield events
    logger.removeHandler(handler)


@pytest.fixture
def make_binder(environ, signer, keys, dynamodb, agentcore) -> Callable[..., Binder]:
    def make(**overrides: str) -> Binder:
        client, stubber = agentcore
        app = create_app({**environ, **overrides}, agentcore=client, dynamodb=dynamodb)
        return Binder(
            client=app.test_client(),
            aws_calls=CallLog(client, dynamodb),
            stubber=stubber,
            signer=signer,
            key_endpoint_url=keys.url,
        )

    return make


@pytest.fixture
def binder(make_binder) -> Binder:
    return make_binder()


@pytest.fixture
def recording_agentcore(monkeypatch, aws_env) -> Iterator[RecordingAgentCore]:
    endpoint = RecordingAgentCore()
    # The only way production code learns where AgentCore is: boto3's own setting.
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_AGENTCORE", endpoint.url)
    yield endpoint
    endpoint.stop()
