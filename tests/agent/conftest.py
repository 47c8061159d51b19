"""Fixtures for the agent: ALB-shaped headers, a moto DynamoDB, AgentCore behind Stubber,
and a loopback GitHub."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto.server import ThreadedMotoServer

from tests.agent.fakes import FakeGitHub
from tests.support.alb_tokens import REGION, AlbSigner, core_environ, key_endpoint

BINDING_URL = "https://agents.example.test/oauth2/session-binding"
WORKLOAD = "github-agent"
PROVIDER = "github-provider"
SCOPES = ["repo", "read:user"]
EXTERNAL_TOKEN = "ext-token-alice-fixture"


@functools.cache
def fake_session() -> boto3.session.Session:
    # One session for the run, so botocore loads each service model once.
    # Fixed fake credentials: the clients sign requests for moto and loopback servers only.
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def dynamodb(moto_url: str) -> Any:
    return fake_session().client("dynamodb", endpoint_url=moto_url)


@pytest.fixture
def table(dynamodb: Any) -> str:
    name = f"pending-{uuid.uuid4().hex[:12]}"
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


@pytest.fixture
def signer() -> AlbSigner:
    return AlbSigner()


@pytest.fixture
def keys(signer: AlbSigner):
    with key_endpoint(signer) as endpoint:
        yield endpoint


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as server:
        server.accounts[EXTERNAL_TOKEN] = "alice"
        yield server


@pytest.fixture
def environ(keys, table: str, github: FakeGitHub) -> dict[str, str]:
    return agent_environ(keys.url, table, github.url)


def agent_environ(key_url: str, table: str, github_url: str, **overrides: str) -> dict[str, str]:
    return core_environ(
        key_url,
        PENDING_FLOW_TABLE=table,
        WORKLOAD_NAME=WORKLOAD,
        CREDENTIAL_PROVIDER_NAME=PROVIDER,
        CREDENTIAL_PROVIDER_VENDOR="GithubOauth2",
        CREDENTIAL_PROVIDER_SCOPES="repo read:user",
        SESSION_BINDING_URL=BINDING_URL,
        EXTERNAL_API_BASE_URL=github_url,
        MODEL_PROVIDER="local-rules",
        WORKLOAD_TOKEN_TTL_SECONDS="300",
        **overrides,
    )


@pytest.fixture
def agentcore() -> Any:
    return fake_session().client("bedrock-agentcore")


@pytest.fixture
def stub(agentcore: Any) -> Iterator[Stubber]:
    with Stubber(agentcore) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def aws_calls(agentcore: Any) -> list[tuple[str, dict[str, Any]]]:
    """Every AgentCore operation the app asked for, with its parameters, stubbed or not."""
    return record_calls(agentcore)


def record_calls(client: Any) -> list[tuple[str, dict[str, Any]]]:
    calls: list[tuple[str, dict[str, Any]]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((model.name, dict(params)))

    client.meta.events.register("provide-client-params", record)
    return calls


@pytest.fixture
def make_app(environ: dict[str, str], agentcore: Any, dynamodb: Any):
    from agent_app import create_app

    def make(**overrides: Any):
        kwargs = {"agentcore": agentcore, "dynamodb": dynamodb}
        env = dict(environ)
        env.update(overrides.pop("env", {}))
        kwargs.update(overrides)
        app = create_app(env, **kwargs)
        app.testing = True
        return app

    return make


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def audit() -> Iterator[list[dict[str, Any]]]:
    """The audit events written during the test, as the JSON objects they are printed as.

    AuditLog binds its stdout handler once per process, before capsys can swap stdout, so
    the events are collected from its logger directly.
    """
    import logging

    events: list[dict[str, Any]] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            events.append(dict(record.msg))  # type: ignore[arg-type]

    handler = Collect()
    logger = logging.getLogger("audit.agent")
    logger.addHandler(handler)
    yield events
    logger.removeHandler(handler)
