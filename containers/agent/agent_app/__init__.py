"""The agentic workload: a chat page and ``/api/chat``, acting on GitHub for the signed-in user.

``create_app`` reads and validates every setting, then wires the parts together. The clients
can be passed in (tests use botocore's Stubber and loopback servers); in production they are
built from boto3's own configuration, so AWS endpoints are overridden only through
``AWS_ENDPOINT_URL_*`` and no code knows whether it runs locally.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import requests
from flask import Flask
from identity_core import aws
from identity_core.alb import AlbHeaderVerifier
from identity_core.audit import AuditLog
from identity_core.pending import PendingFlowStore
from identity_core.settings import configure_logging
from identity_core.web import init_app

from .chat import bp as chat_blueprint
from .github import GitHubClient
from .model import BedrockConverse, LocalRules
from .outbound import OutboundTokens
from .settings import AgentSettings
from .tools import Tools
from .workload_tokens import WorkloadTokenCache

# The page loads its script and styles from /static only: no inline script, no other origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# A chat turn is small; this bounds what a client can make us parse.
MAX_BODY_BYTES = 128 * 1024


def create_app(
    environ: Mapping[str, str] | None = None,
    *,
    agentcore: Any = None,
    dynamodb: Any = None,
    bedrock: Any = None,
    http: requests.Session | None = None,
) -> Flask:
    settings = AgentSettings.from_env(os.environ if environ is None else environ)
    core = settings.core
    configure_logging(core.log_level)
    audit = AuditLog("agent")

    agentcore = agentcore or aws.client("bedrock-agentcore", core.region)
    dynamodb = dynamodb or aws.client("dynamodb", core.region)
    workload_tokens = WorkloadTokenCache(
        lambda user_id: agentcore.get_workload_access_token_for_user_id(
            workloadName=settings.workload_name, userId=user_id
        )["workloadAccessToken"],
        ttl_seconds=settings.workload_token_ttl_seconds,
    )
    outbound = OutboundTokens(
        agentcore=agentcore,
        workload_tokens=workload_tokens,
        store=PendingFlowStore(dynamodb, core.pending_flow_table),
        audit=audit,
        provider=settings.provider_name,
        scopes=settings.scopes,
        return_url=settings.session_binding_url,
    )
    tools = Tools(
        outbound=outbound,
        github=GitHubClient(settings.external_api_base_url, http),
        audit=audit,
    )
    if settings.model_provider == "bedrock":
        assert settings.model_id is not None
        # A model answer with tool use can take tens of seconds; two attempts at most keep
        # a turn inside the ALB's 60-second idle timeout.
        bedrock = bedrock or aws.client(
            "bedrock-runtime", core.region, max_attempts=2, read_timeout=25.0
        )
        model: Any = BedrockConverse(bedrock, settings.model_id)
    else:
        model = LocalRules()

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.extensions["agent"] = {
        "settings": settings,
        "model": model,
        "tools": tools,
        "workload_tokens": workload_tokens,
        "audit": audit,
    }
    init_app(
        app,
        verifier=AlbHeaderVerifier.from_settings(core),
        user_id_prefix=core.user_id_prefix,
        audit=audit,
        content_security_policy=CONTENT_SECURITY_POLICY,
    )
    app.register_blueprint(chat_blueprint)
    return app
