"""The chat page and ``POST /api/chat``."""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from flask import Blueprint, current_app, g, jsonify, render_template, request
from identity_core.aws import error_code
from identity_core.web import json_error, require_identity

from .outbound import UnexpectedAnswer

log = logging.getLogger(__name__)
bp = Blueprint("chat", __name__)

MAX_MESSAGE_CHARS = 4000
MAX_HISTORY_TURNS = 20
ROLES = ("user", "assistant")
RETRY_AFTER_SECONDS = 5


class BadChatRequest(Exception):
    pass


@bp.get("/")
@require_identity
def index() -> Any:
    agent = current_app.extensions["agent"]
    return render_template(
        "index.html",
        user_name=g.identity.display_name,
        model_name=agent["model"].name,
    )


@bp.post("/api/chat")
@require_identity
def chat() -> Any:
    try:
        # Only an application/json body parses: a cross-site form post (the one kind of
        # cross-origin request a browser sends without asking) cannot start a turn.
        message, history = _parse(_json_body())
    except BadChatRequest as exc:
        return json_error(400, "bad_request", str(exc))

    agent = current_app.extensions["agent"]
    try:
        result = agent["model"].respond(message, history, agent["tools"], g.user_id)
    except (ClientError, BotoCoreError, UnexpectedAnswer) as exc:
        # Throttling, 5xx and timeouts have had botocore's bounded retries by now. The AWS
        # message may name internals: log its code only, and tell the user to retry.
        log.warning("AWS call failed during a chat turn: %s", error_code(exc) or type(exc).__name__)
        response = json_error(503, "unavailable", "The agent cannot complete this right now.")
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    body: dict[str, Any] = {"reply": result.reply}
    if result.authorization is not None:
        body["authorization"] = result.authorization.as_json()
    return jsonify(body)


def _json_body() -> Any:
    """The JSON body, or None when it is not one. Only an application/json body parses."""
    try:
        return request.get_json(silent=True)
    except RecursionError:
        # json recurses once per nesting level and "silent" covers ValueError only: a few KB of
        # "[[[[..." would otherwise end in a 500 and a traceback in the log on every request.
        return None


def _parse(payload: Any) -> tuple[str, list[dict[str, str]]]:
    if not isinstance(payload, dict):
        raise BadChatRequest("The body must be a JSON object.")
    message = payload.get("message")
    if not isinstance(message, str) or not message.strip():
        raise BadChatRequest("message must be a non-empty string.")
    if len(message) > MAX_MESSAGE_CHARS:
        raise BadChatRequest(f"message must be at most {MAX_MESSAGE_CHARS} characters.")
    history = payload.get("history", [])
    if not isinstance(history, list):
        raise BadChatRequest("history must be a list.")
    if len(history) > MAX_HISTORY_TURNS:
        raise BadChatRequest(f"history must have at most {MAX_HISTORY_TURNS} turns.")
    turns = []
    for turn in history:
        if (
            not isinstance(turn, dict)
            or turn.get("role") not in ROLES
            or not isinstance(turn.get("text"), str)
            or not turn["text"].strip()
            or len(turn["text"]) > MAX_MESSAGE_CHARS
        ):
            raise BadChatRequest(
                'each history turn must be {"role": "user"|"assistant", "text": '
                f"a non-empty string of at most {MAX_MESSAGE_CHARS} characters}}."
            )
        turns.append({"role": turn["role"], "text": turn["text"]})
    return message.strip(), turns
