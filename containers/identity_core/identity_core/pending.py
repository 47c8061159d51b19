"""The pending-flow store: which consent links this application issued, to whom, until when.

AgentCore already refuses to bind a session for a user id other than the one that started it.
The binder checks again, before calling AgentCore, against a record the agent wrote when it
started the flow. That gives the user a page that says what happened ("this link was started
from another account") and turns a replayed link into a refusal that costs no AWS call.

Table layout (see docs/architecture.md): hash key ``pk``; TTL attribute ``expires_at``.
DynamoDB deletes expired items lazily, so every read compares ``expires_at`` with the clock too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from .aws import error_code

# AgentCore authorization URLs and their sessions are valid for 10 minutes.
SESSION_LIFETIME_SECONDS = 600


class FlowRefused(Exception):
    """The binder must not bind this session. ``reason`` is one of the class constants."""

    UNKNOWN = "unknown"
    OTHER_USER = "other_user"
    EXPIRED = "expired"
    ALREADY_USED = "already_used"

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PendingFlow:
    # Kept out of repr: AWS marks authorizationUrl sensitive, and logs carry a session hash only.
    session_uri: str = field(repr=False)
    authorization_url: str = field(repr=False)
    expires_at: int


def _session_key(session_uri: str) -> dict[str, Any]:
    return {"pk": {"S": f"session#{session_uri}"}}


def _user_key(user_id: str, provider: str) -> dict[str, Any]:
    return {"pk": {"S": f"user#{user_id}#provider#{provider}"}}


class PendingFlowStore:
    """Pending flows in DynamoDB, through a boto3 ``dynamodb`` client."""

    def __init__(self, dynamodb: Any, table: str, clock: Callable[[], float] = time.time):
        self._db = dynamodb
        self._table = table
        self._clock = clock

    def record(
        self, *, session_uri: str, authorization_url: str, user_id: str, provider: str
    ) -> PendingFlow:
        """Remember a flow the agent just started, for the binder and for later polls."""
        now = int(self._clock())
        expires_at = now + SESSION_LIFETIME_SECONDS
        self._db.put_item(
            TableName=self._table,
            Item={
                **_session_key(session_uri),
                "user_id": {"S": user_id},
                "provider": {"S": provider},
                "status": {"S": "pending"},
                "created_at": {"N": str(now)},
                "expires_at": {"N": str(expires_at)},
            },
            # A session URI is issued once; never overwrite a consumed record with a fresh one.
            ConditionExpression="attribute_not_exists(pk)",
        )
        self._db.put_item(
            TableName=self._table,
            Item={
                **_user_key(user_id, provider),
                "session_uri": {"S": session_uri},
                "authorization_url": {"S": authorization_url},
                "expires_at": {"N": str(expires_at)},
            },
        )
        return PendingFlow(session_uri, authorization_url, expires_at)

    def active(self, *, user_id: str, provider: str) -> PendingFlow | None:
        """The user's flow in progress for ``provider``, if it has not expired."""
        item = self._db.get_item(
            TableName=self._table, Key=_user_key(user_id, provider), ConsistentRead=True
        ).get("Item")
        if not item or int(item["expires_at"]["N"]) <= self._clock():
            return None
        return PendingFlow(
            session_uri=item["session_uri"]["S"],
            authorization_url=item["authorization_url"]["S"],
            expires_at=int(item["expires_at"]["N"]),
        )

    def forget(self, *, user_id: str, provider: str) -> None:
        """Drop the user's pointer once the flow ended (token obtained, failed or expired)."""
        self._db.delete_item(TableName=self._table, Key=_user_key(user_id, provider))

    def consume(self, *, session_uri: str, user_id: str) -> str:
        """Mark the session used by ``user_id``, once. Returns its provider.

        Raises ``FlowRefused`` for a session this application never issued, one issued to
        another user, an expired one, or one already used.
        """
        now = int(self._clock())
        item = self._db.get_item(
            TableName=self._table, Key=_session_key(session_uri), ConsistentRead=True
        ).get("Item")
        if not item:
            raise FlowRefused(FlowRefused.UNKNOWN)
        # A consent link started by another account, opened in this browser (CSRF / swap).
        if item["user_id"]["S"] != user_id:
            raise FlowRefused(FlowRefused.OTHER_USER)
        if int(item["expires_at"]["N"]) <= now:
            raise FlowRefused(FlowRefused.EXPIRED)
        if item["status"]["S"] != "pending":
            raise FlowRefused(FlowRefused.ALREADY_USED)
        try:
            # The condition makes two concurrent replays of one link bind at most once.
            self._move(session_uri, user_id, now, source="pending", target="consumed")
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise FlowRefused(FlowRefused.ALREADY_USED) from None
            raise
        return item["provider"]["S"]

    def release(self, *, session_uri: str, user_id: str) -> None:
        """Undo ``consume`` after AgentCore failed transiently (throttled, 5xx, timed out).

        Without this, a user told "try again in a moment" would find the link already used.
        Only the user who consumed it gets it back, and only while it has not expired; a link
        that is no longer consumed by that user is left alone.
        """
        try:
            self._move(
                session_uri, user_id, int(self._clock()), source="consumed", target="pending"
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise

    def _move(self, session_uri: str, user_id: str, now: int, *, source: str, target: str) -> None:
        """Move a session from ``source`` to ``target`` status, for its own user, unexpired.

        Raises ClientError ``ConditionalCheckFailedException`` when any of that does not hold.
        """
        stamp = (
            "SET #s = :target, consumed_at = :now"
            if target == "consumed"
            else "SET #s = :target REMOVE consumed_at"
        )
        self._db.update_item(
            TableName=self._table,
            Key=_session_key(session_uri),
            UpdateExpression=stamp,
            ConditionExpression="#s = :source AND user_id = :user AND expires_at > :now",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":source": {"S": source},
                ":target": {"S": target},
                ":user": {"S": user_id},
                ":now": {"N": str(now)},
            },
        )
