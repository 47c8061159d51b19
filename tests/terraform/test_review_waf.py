"""Review: the WAF must not block the load balancer's own sign-in callback.

Entra ID returns the authorization code to https://<host>/oauth2/idpresponse in the query
string, next to the ALB's state; the code alone can exceed 2 KB (larger for guests and users in
many groups). The common rule set's SizeRestrictions_QUERYSTRING blocks query strings over
2,048 bytes, which would answer some sign-ins with a bare 403. The module counts that managed
rule and blocks the same size itself everywhere but on the callback path.

The rule is read from modules/alb/main.tf and evaluated here against requests, with the
WAF's semantics for the few statement types it uses.
"""

from __future__ import annotations

from pathlib import Path

import hcl2
import pytest

ROOT = Path(__file__).resolve().parents[2]
ALB = ROOT / "terraform" / "modules" / "alb" / "main.tf"


def load_acl() -> dict:
    with ALB.open(encoding="utf-8") as handle:
        doc = hcl2.load(
            handle,
            serialization_options=hcl2.SerializationOptions(
                strip_string_quotes=True, with_comments=False
            ),
        )
    for entry in doc["resource"]:
        if "aws_wafv2_web_acl" in entry:
            return entry["aws_wafv2_web_acl"]["this"]
    raise AssertionError("no aws_wafv2_web_acl.this in the alb module")


def one(value):
    if isinstance(value, list):
        assert len(value) == 1, value
        return value[0]
    return value


def part(field: dict, request: dict) -> str:
    field = {k: v for k, v in one(field).items() if k != "__is_block__"}
    if "query_string" in field:
        return request["query"]
    if "uri_path" in field:
        return request["path"]
    raise AssertionError(f"field_to_match not modelled: {sorted(field)}")


def matches(statement: dict, request: dict) -> bool:
    """AWS WAF semantics for and / not / size constraint / exact byte match, no transform."""
    statement = {k: v for k, v in one(statement).items() if k != "__is_block__"}
    (kind, body), *rest = statement.items()
    assert not rest, statement
    body = one(body)
    if kind == "and_statement":
        return all(matches(s, request) for s in body["statement"])
    if kind == "not_statement":
        return not matches(body["statement"], request)
    for t in body.get("text_transformation", []):
        assert one(t)["type"] == "NONE", "transformations are not modelled"
    if kind == "size_constraint_statement":
        size = len(part(body["field_to_match"], request).encode())
        assert body["comparison_operator"] == "GT"
        return size > int(body["size"])
    if kind == "byte_match_statement":
        assert body["positional_constraint"] == "EXACTLY"
        return part(body["field_to_match"], request) == body["search_string"]
    raise AssertionError(f"statement not modelled: {kind}")


ACL = load_acl()
RULES = {r["name"]: r for r in ACL["rule"]}
QUERY_RULE = RULES["query-string-size"]
CALLBACK_QUERY = "code=" + "0" * 2300 + "&state=" + "s" * 400 + "&session_state=0000"


def blocked_by_query_rule(path: str, query: str) -> bool:
    assert "block" in one(QUERY_RULE["action"])
    return matches(QUERY_RULE["statement"], {"path": path, "query": query})


def test_the_managed_query_string_size_rule_only_counts():
    common = one(one(RULES["aws-common"]["statement"])["managed_rule_group_statement"])
    assert common["name"] == "AWSManagedRulesCommonRuleSet"
    overrides = {
        one(o)["name"]: one(one(o)["action_to_use"]) for o in common["rule_action_override"]
    }
    assert "count" in overrides["SizeRestrictions_QUERYSTRING"]


def test_a_long_sign_in_callback_reaches_the_load_balancer():
    assert len(CALLBACK_QUERY) > 2048
    assert not blocked_by_query_rule("/oauth2/idpresponse", CALLBACK_QUERY)


@pytest.mark.parametrize(
    "path",
    ["/", "/api/chat", "/oauth2/session-binding", "/oauth2/idpresponse/x", "/OAUTH2/idpresponse"],
)
def test_the_same_query_string_anywhere_else_is_blocked(path):
    assert blocked_by_query_rule(path, CALLBACK_QUERY)


def test_ordinary_query_strings_pass():
    assert not blocked_by_query_rule("/oauth2/session-binding", "session_id=urn:" + "a" * 200)
    assert not blocked_by_query_rule("/", "x" * 2048)
    assert blocked_by_query_rule("/", "x" * 2049)


def test_rule_priorities_are_unique():
    priorities = [int(r["priority"]) for r in ACL["rule"]]
    assert len(priorities) == len(set(priorities))
