"""boto3 clients with the retry and timeout behaviour both services rely on.

botocore's ``standard`` retry mode retries throttling, 5xx and connection errors with jittered
backoff; bounding the attempts and timeouts keeps a slow AgentCore from holding a gunicorn
thread past the worker timeout. Endpoints come only from boto3's own settings
(``AWS_ENDPOINT_URL_BEDROCK_AGENTCORE`` and friends), so no code here knows where it runs.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import boto3
from botocore.config import Config

DEFAULT_MAX_ATTEMPTS = 3


def client(
    service: str,
    region: str,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    connect_timeout: float = 2.0,
    read_timeout: float = 5.0,
    session: boto3.session.Session | None = None,
) -> Any:
    config = Config(
        region_name=region,
        # total_max_attempts counts the first request; botocore's "max_attempts" key here would
        # count retries only, i.e. one request more than the name says.
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        # Each gunicorn thread may call AgentCore and DynamoDB at once.
        max_pool_connections=32,
    )
    if session is not None:
        return session.client(service, config=config)
    # boto3 sessions are not safe to create clients from concurrently.
    with _shared_lock:
        return _shared_session().client(service, config=config)


_shared_lock = threading.Lock()


@functools.cache
def _shared_session() -> boto3.session.Session:
    """One session per process: each session has its own loader, so every client made from a
    fresh one parses the endpoint rules and partition data again (about 7 MB a client)."""
    return boto3.session.Session()


def error_code(exc: Exception) -> str:
    """The AWS error code of a botocore ClientError, or "" for anything else."""
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))
