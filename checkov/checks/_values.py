"""Helpers shared by the project's checks: checkov hands each argument as a one-item list."""

from __future__ import annotations

import json
from typing import Any


def first(conf: dict, key: str, default: Any = None) -> Any:
    value = conf.get(key, [default])
    if isinstance(value, list):
        return value[0] if value else default
    return value


def blocks(conf: dict, key: str) -> list[dict]:
    """The nested blocks named `key`, however checkov nested them."""
    found = conf.get(key) or []
    out: list[dict] = []
    for item in found if isinstance(found, list) else [found]:
        if isinstance(item, dict):
            out.append(item)
        elif isinstance(item, list):
            out += [i for i in item if isinstance(i, dict)]
    return out


def unresolved(value: Any) -> bool:
    """True for an expression checkov could not evaluate (left as its source text)."""
    return isinstance(value, str) and (
        "${" in value or value.startswith(("var.", "local.", "each.", "module.", "data."))
    )


def policy_statements(policy: Any) -> list[dict] | None:
    """The statements of a JSON policy, or None when the policy is not JSON here."""
    if isinstance(policy, dict):
        document = policy
    elif isinstance(policy, str):
        try:
            document = json.loads(policy)
        except ValueError:
            return None
    else:
        return None
    statements = document.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]
