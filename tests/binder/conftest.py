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


@pytest.fixture(scope="module")
def _aws() -> Iterator[tuple[Any, Any]]:
    """moto and the two clients, once per module: building boto3 clients is the slow part.

    Each test gets an empty table (``dynamodb``) and a fresh Stubber (``agentcore``).
    """
    with pytest.MonkeyPatch.context() as mp:
        # Fake credentials so botocore signs requests; nothing leaves the machine.
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
            mp.delenv(name, raising=False)
        for name in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_BEDROCK_AGENTCORE"):
            mp.delenv(name, raising=False)
        with mock_aws():
            dynamodb = aws.client("dynamodb", REGION)
            dynamodb.create_table(
                TableName=TABLE,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            yield dynamodb, aws.client("bedrock-agentcore", REGION)


@pytest.fixture
def dynamodb(_aws) -> Iterator[Any]:
    client = _aws[0]
    yield client
    for item in client.scan(TableName=TABLE, ProjectionExpression="pk")["Items"]:
        client.delete_item(TableName=TABLE, Key={"pk": item["pk"]})


@pytest.fixture
def store(dynamodb) -> PendingFlowStore:
    """The agent's side of the table: how pending flows get there in production."""
    return PendingFlowStore(dynamodb, TABLE)


@pytest.fixture
def agentcore(_aws) -> Iterator[tuple[Any, Stubber]]:
    client = _aws[1]
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
def make_binder(environ, signer, keys, dynamodb, agentcore) -> Iterator[Callable[..., Binder]]:
    logs: list[CallLog] = []

    def make(**overrides: str) -> Binder:
        client, stubber = agentcore
        app = create_app({**environ, **overrides}, agentcore=client, dynamodb=dynamodb)
        logs.append(CallLog(client, dynamodb))
        return Binder(
            client=app.test_client(),
            aws_calls=logs[-1],
            stubber=stubber,
            signer=signer,
            key_endpoint_url=keys.url,
        )

    yield make
    for log in logs:
        log.detach()


@pytest.fixture
def binder(make_binder) -> Binder:
    return make_binder()


@pytest.fixture
def recording_agentcore(monkeypatch, _aws) -> Iterator[RecordingAgentCore]:
    endpoint = RecordingAgentCore()
    # The only way production code learns where AgentCore is: boto3's own setting.
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_AGENTCORE", endpoint.url)
    yield endpoint
    endpoint.stop()
