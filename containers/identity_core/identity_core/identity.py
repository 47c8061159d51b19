"""The one place that decides which user id AgentCore Identity sees.

AgentCore binds a consent to the exact user id that minted the workload access token of the
flow; ``CompleteResourceTokenAuth`` refuses any other string ("Invalid or expired session").
The agent and the binder therefore both call ``derive_user_id`` and nothing else.
"""

from __future__ import annotations

from .alb import Identity, InvalidIdentity

# AgentCore's userId is an opaque string of 1 to 128 characters.
MAX_USER_ID_LENGTH = 128


def derive_user_id(identity: Identity, prefix: str) -> str:
    """``<prefix><sub>``: stable per user and per app registration, never an email address.

    Entra's ``sub`` is pairwise per application, so the same person has another id in another
    app: that is the isolation we want between deployments. Email addresses and display names
    change and are reused, so they never identify a user here.
    """
    user_id = f"{prefix}{identity.sub}"
    if len(user_id) > MAX_USER_ID_LENGTH or not user_id.isprintable():
        raise InvalidIdentity("subject cannot be mapped to an AgentCore user id")
    return user_id
