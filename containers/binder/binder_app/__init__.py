"""The session binding service.

AgentCore sends the browser here after the user consented at the external service, with
``?session_id=<sessionUri>``. This service ties that consent to the user signed in *in this
browser*, and only then asks AgentCore to store the token (``CompleteResourceTokenAuth``).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from importlib import resources
from typing import Any

from flask import Flask
from identity_core import aws
from identity_core.alb import AlbHeaderVerifier
from identity_core.audit import AuditLog
from identity_core.pending import PendingFlowStore
from identity_core.settings import configure_logging
from identity_core.web import init_app
from markupsafe import Markup

from .settings import BinderSettings
from .views import Binder, register


def _inline_style() -> tuple[Markup, str]:
    """The page's CSS, inlined, and the CSP source that allows exactly that text.

    Inline rather than a stylesheet URL because the ALB routes only the binding path to this
    service; a hash rather than 'unsafe-inline' so injected markup could not style the page.
    """
    css = resources.files(__package__).joinpath("page.css").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    # Markup: a file shipped in this package, not input; autoescaping would alter its bytes.
    return Markup(css), f"'sha256-{digest}'"  # noqa: S704


def create_app(
    environ: Mapping[str, str] | None = None,
    *,
    agentcore: Any = None,
    dynamodb: Any = None,
) -> Flask:
    """Build the binder from the environment; raises ``SettingsError`` naming a bad setting.

    ``agentcore`` and ``dynamodb`` replace the boto3 clients (tests pass stubbed ones). Where
    the clients send requests is decided by boto3's own settings only
    (``AWS_ENDPOINT_URL_BEDROCK_AGENTCORE``, ``AWS_ENDPOINT_URL_DYNAMODB``).
    """
    settings = BinderSettings.from_env(environ)
    core = settings.core
    configure_logging(core.log_level)
    if agentcore is None:
        agentcore = aws.client("bedrock-agentcore", core.region)
    if dynamodb is None:
        dynamodb = aws.client("dynamodb", core.region)

    style, style_source = _inline_style()
    csp = (
        "default-src 'none'; "
        f"style-src {style_source}; "
        "img-src 'none'; "
        "frame-ancestors 'none'; "
        "form-action 'none'; "
        "base-uri 'none'"
    )

    app = Flask(__name__)
    audit = AuditLog("binder")
    init_app(
        app,
        verifier=AlbHeaderVerifier.from_settings(core),
        user_id_prefix=core.user_id_prefix,
        audit=audit,
        content_security_policy=csp,
    )
    register(
        app,
        Binder(
            agentcore=agentcore,
            store=PendingFlowStore(dynamodb, core.pending_flow_table),
            audit=audit,
            post_binding_path=settings.post_binding_path,
            style=style,
        ),
        settings.session_binding_path,
    )
    return app
