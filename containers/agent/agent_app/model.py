"""The model loop: Amazon Bedrock's Converse API with tool use, or a rule-based stand-in.

Bedrock is called through boto3 directly rather than through Strands Agents. The loop is a
few dozen lines; Strands would add a large dependency tree (and its memory) to an image that
aims at 80 MB per worker, and it would own the tool-result plumbing, which is exactly where we
must guarantee that the user's token stays inside the tool and out of what the model sees.

``LocalRules`` is not a language model: it routes a message to a tool by keywords so the local
stack and the tests have a deterministic agent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .outbound import AuthorizationRequired
from .tools import PROFILE, RECONNECT, REPOSITORIES, TOOL_DESCRIPTIONS, ToolOutcome, Tools

# Model calls per chat turn: tool rounds plus the final answer.
MAX_MODEL_CALLS = 5
SYSTEM_PROMPT = (
    "You are an assistant that answers questions about the signed-in user's GitHub account "
    "using the tools provided. Never ask the user for passwords or tokens; access to GitHub "
    "is granted through a separate authorization step that the application handles. If a "
    "tool reports an error, say so briefly. Keep answers short."
)


@dataclass(frozen=True)
class TurnResult:
    reply: str
    authorization: AuthorizationRequired | None = None


def authorization_reply(authorization: AuthorizationRequired) -> str:
    # The link itself goes to the page in the JSON answer, never into this text.
    return (
        f"I need your permission to use your {authorization.provider} account. "
        "Use the Authorize button; I will carry on when you are back."
    )


class LocalRules:
    """Deterministic keyword routing for the local stack and the tests. Not an LLM."""

    name = "local-rules"
    _ROUTES = (
        (re.compile(r"\breconnect\b", re.I), RECONNECT),
        (re.compile(r"\brepo(s|sitory|sitories)?\b", re.I), REPOSITORIES),
        (re.compile(r"\bprofile\b|\bwho\s+am\s+i\b", re.I), PROFILE),
    )

    def respond(
        self, message: str, history: list[dict[str, str]], tools: Tools, user_id: str
    ) -> TurnResult:
        tool = next((name for pattern, name in self._ROUTES if pattern.search(message)), None)
        if tool is None:
            return TurnResult(
                "I can show your GitHub profile or list your repositories, "
                'or reconnect your GitHub account. Try "list my repos".'
            )
        outcome = tools.run(tool, user_id)
        if outcome.authorization:
            return TurnResult(authorization_reply(outcome.authorization), outcome.authorization)
        return TurnResult(_describe(outcome))


def _describe(outcome: ToolOutcome) -> str:
    if outcome.status != "success":
        return "GitHub did not answer as expected. Please try again in a moment."
    result = outcome.result
    if outcome.name == RECONNECT:
        return "Your GitHub account is connected."
    if outcome.name == PROFILE:
        return (
            f"You are {result.get('login')} on GitHub ({result.get('name') or 'no name set'}), "
            f"with {result.get('public_repos')} public repositories."
        )
    repos = result.get("repositories", [])
    if not repos:
        return "You have no repositories on GitHub."
    names = ", ".join(str(r.get("full_name")) for r in repos)
    return f"Your repositories ({len(repos)}): {names}."


class BedrockConverse:
    """Amazon Bedrock's Converse API with tool use, through a boto3 bedrock-runtime client."""

    name = "bedrock"

    def __init__(self, client: Any, model_id: str):
        self._client = client
        self._model_id = model_id
        self._tool_config = {
            "tools": [
                {
                    "toolSpec": {
                        "name": name,
                        "description": description,
                        "inputSchema": {"json": {"type": "object", "properties": {}}},
                    }
                }
                for name, description in TOOL_DESCRIPTIONS.items()
            ]
        }

    def respond(
        self, message: str, history: list[dict[str, str]], tools: Tools, user_id: str
    ) -> TurnResult:
        messages = _converse_messages(history, message)
        for _ in range(MAX_MODEL_CALLS):
            answer = self._client.converse(
                modelId=self._model_id,
                system=[{"text": SYSTEM_PROMPT}],
                messages=messages,
                toolConfig=self._tool_config,
                inferenceConfig={"maxTokens": 1024},
            )
            said = answer["output"]["message"]
            messages.append({"role": "assistant", "content": said["content"]})
            uses = [block["toolUse"] for block in said["content"] if "toolUse" in block]
            if answer.get("stopReason") != "tool_use" or not uses:
                text = "".join(block.get("text", "") for block in said["content"]).strip()
                return TurnResult(text or "I have nothing to add.")

            results = []
            for use in uses:
                outcome = tools.run(use["name"], user_id)
                if outcome.authorization:
                    # Stop here: the consent link goes to the page, not back to the model.
                    return TurnResult(
                        authorization_reply(outcome.authorization), outcome.authorization
                    )
                results.append(
                    {
                        "toolResult": {
                            "toolUseId": use["toolUseId"],
                            "content": [{"json": outcome.result}],
                            "status": outcome.status,
                        }
                    }
                )
            messages.append({"role": "user", "content": results})
        return TurnResult("I could not finish this request. Please try again.")


def _converse_messages(history: list[dict[str, str]], message: str) -> list[dict[str, Any]]:
    """Converse wants a conversation that starts with the user and alternates roles."""
    messages: list[dict[str, Any]] = []
    for turn in [*history, {"role": "user", "text": message}]:
        if not messages and turn["role"] != "user":
            continue
        if messages and messages[-1]["role"] == turn["role"]:
            messages[-1]["content"].append({"text": turn["text"]})
        else:
            messages.append({"role": turn["role"], "content": [{"text": turn["text"]}]})
    return messages
