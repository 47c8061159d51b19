"""Audit events: one JSON object per line on stdout.

Every event carries the ALB's trace id and the AgentCore user id, so one user's chain from
sign-in to agent action can be followed across the agent and the binder. Events describe
outcomes; they never carry a token, an authorization code, a cookie or a full session URI
(``session_hash`` stands in for the latter).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from flask import g, has_request_context, request

_TRACE_ID = re.compile(r"^[A-Za-z0-9=;:._-]{1,256}$")
_LOGGER_NAME = "audit"


def session_hash(session_uri: str) -> str:
    """A short stable reference to a session that cannot be replayed."""
    return hashlib.sha256(session_uri.encode()).hexdigest()[:16]


def trace_id_from_request() -> str | None:
    """The ALB's ``X-Amzn-Trace-Id``, if it is shaped like one (it ends up in logs verbatim)."""
    value = request.headers.get("X-Amzn-Trace-Id", "")
    return value if _TRACE_ID.fullmatch(value) else None


class _JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(record.msg, ensure_ascii=False, separators=(",", ":"), default=str)


class AuditLog:
    """Writes audit events for one service."""

    def __init__(self, service: str, stream: Any = None):
        self.service = service
        self._logger = logging.getLogger(f"{_LOGGER_NAME}.{service}")
        self._logger.setLevel(logging.INFO)
        self._logger.propagate = False
        if not self._logger.handlers:
            handler = logging.StreamHandler(stream or sys.stdout)
            handler.setFormatter(_JsonLines())
            self._logger.addHandler(handler)

    def event(self, name: str, outcome: str = "ok", **fields: Any) -> None:
        record: dict[str, Any] = {
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "event": name,
            "service": self.service,
            "outcome": outcome,
        }
        if has_request_context():
            record["trace_id"] = g.get("trace_id")
            record["user_id"] = g.get("user_id")
        record.update(fields)
        self._logger.info(record)
