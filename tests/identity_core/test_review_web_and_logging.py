"""Review: what an unexpected failure shows, and what DEBUG logging lets through."""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from identity_core.audit import AuditLog
from identity_core.settings import configure_logging
from identity_core.web import init_app

SECRET_DETAIL = "arn:aws:iam::111122223333:role/internal wat-review-token"


def test_unexpected_error_answers_a_generic_500_and_logs_the_detail_server_side(caplog):
    app = Flask(__name__)
    init_app(
        app,
        verifier=None,  # type: ignore[arg-type]  # no view here needs identity
        user_id_prefix="entra+",
        audit=AuditLog("review"),
        content_security_policy="default-src 'none'",
    )

    @app.get("/boom")
    def boom():
        raise RuntimeError(SECRET_DETAIL)

    with caplog.at_level(logging.ERROR, logger="identity_core.web"):
        response = app.test_client().get("/boom")

    assert response.status_code == 500
    assert response.get_json() == {"error": "internal_error", "message": "Something went wrong."}
    assert SECRET_DETAIL not in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    assert any(SECRET_DETAIL in (r.exc_text or "") for r in caplog.records)


@pytest.mark.parametrize("library", ["botocore", "boto3", "urllib3"])
def test_debug_logging_keeps_aws_and_http_libraries_at_info(library):
    # botocore at DEBUG logs request bodies, which carry workload and user tokens.
    before = logging.getLogger(library).level
    try:
        configure_logging("DEBUG")
        assert logging.getLogger(library).getEffectiveLevel() == logging.INFO
        assert logging.getLogger("identity_core").getEffectiveLevel() == logging.DEBUG
    finally:
        logging.getLogger(library).setLevel(before)
        configure_logging("INFO")
