"""The ALB emulator's settings: listener rules shaped like the Terraform `aws_lb_listener_rule`s.

The file is JSON, either the stack's `devstack/config.json` (its `alb` section is used) or a file
holding that section alone:

    {
      "host": "127.0.0.1", "port": 8080, "key_endpoint_port": 8081,
      "alb_arn": "arn:aws:elasticloadbalancing:...", "logout_path": "/logout",
      "authenticate_oidc": {"entra": {<authenticate-oidc action>}},
      "rules": [{"priority": 10, "path_patterns": ["/api/*"],
                 "actions": [{"type": "authenticate-oidc", "authenticate_oidc": "entra"},
                             {"type": "forward", "target": "http://127.0.0.1:8001"}]}]
    }

An authenticate-oidc action is written inline or names an entry of `authenticate_oidc`. Its keys
are the Terraform argument names: issuer, authorization_endpoint, token_endpoint,
user_info_endpoint, client_id, client_secret, scope, session_cookie_name, session_timeout,
on_unauthenticated_request (plus token_endpoint_auth_method, default client_secret_post). Requests
no rule matches get the listener's default action, a fixed 404. `logout_path` expires every
session cookie shard, then redirects to `logout_redirect_url` (the IdP's end-session endpoint) when
set. `data_token_ttl_seconds` (default 120) is the lifetime of each x-amzn-oidc-data token. Any
error names the setting at fault and stops the process.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ON_UNAUTHENTICATED = ("authenticate", "deny", "allow")
TOKEN_AUTH_METHODS = ("client_secret_post", "client_secret_basic")
ARN_PATTERN = re.compile(
    r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:loadbalancer/app/"
)


class ConfigError(ValueError):
    """A setting is missing or wrong; the message names it."""


@dataclass(frozen=True)
class AuthenticateOidc:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    user_info_endpoint: str
    client_id: str
    client_secret: str
    scope: str = "openid"
    session_cookie_name: str = "AWSELBAuthSessionCookie"
    session_timeout: int = 604800
    on_unauthenticated_request: str = "authenticate"
    token_endpoint_auth_method: str = "client_secret_post"

    def __repr__(self) -> str:
        return (
            f"AuthenticateOidc(issuer={self.issuer!r}, client_id={self.client_id!r}, "
            "client_secret=<present>)"
        )


@dataclass(frozen=True)
class Rule:
    priority: int
    path_patterns: tuple[str, ...]
    regexes: tuple[re.Pattern, ...]
    authenticate: AuthenticateOidc | None
    target: str

    def matches(self, path: str) -> bool:
        return any(regex.fullmatch(path) for regex in self.regexes)


@dataclass(frozen=True)
class AlbConfig:
    host: str
    port: int
    key_endpoint_port: int
    alb_arn: str
    logout_path: str
    logout_redirect_url: str | None
    data_token_ttl_seconds: int
    rules: tuple[Rule, ...]

    def match(self, path: str) -> Rule | None:
        return next((rule for rule in self.rules if rule.matches(path)), None)


def path_pattern_regex(pattern: str) -> re.Pattern:
    """ALB path patterns: case-sensitive, `*` is any run of characters (slashes too), `?` one."""
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


def _require(section: dict, key: str, where: str, kind: type = str):
    value = section.get(key)
    if value is None or value == "":
        raise ConfigError(f"missing setting {where}.{key}")
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{where}.{key} must be a {kind.__name__}")
    return value


def _url(value: str, where: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{where} must be an http(s) URL")
    return value


def _authenticate(raw: dict, where: str) -> AuthenticateOidc:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be an object")
    known = set(AuthenticateOidc.__dataclass_fields__)
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"{where} has unknown settings: {', '.join(sorted(unknown))}")
    values = {}
    for key in ("issuer", "client_id", "client_secret"):
        values[key] = _require(raw, key, where)
    for key in ("authorization_endpoint", "token_endpoint", "user_info_endpoint"):
        values[key] = _url(_require(raw, key, where), f"{where}.{key}")
    for key in ("scope", "session_cookie_name", "on_unauthenticated_request"):
        if key in raw:
            values[key] = _require(raw, key, where)
    if "session_timeout" in raw:
        values["session_timeout"] = _require(raw, "session_timeout", where, int)
        # The ALB accepts 1 second to 7 days.
        if not 1 <= values["session_timeout"] <= 604800:
            raise ConfigError(f"{where}.session_timeout must be between 1 and 604800 seconds")
    if values.get("on_unauthenticated_request", "authenticate") not in ON_UNAUTHENTICATED:
        raise ConfigError(f"{where}.on_unauthenticated_request must be one of {ON_UNAUTHENTICATED}")
    if "token_endpoint_auth_method" in raw:
        values["token_endpoint_auth_method"] = _require(raw, "token_endpoint_auth_method", where)
        if values["token_endpoint_auth_method"] not in TOKEN_AUTH_METHODS:
            raise ConfigError(
                f"{where}.token_endpoint_auth_method must be one of {TOKEN_AUTH_METHODS}"
            )
    if "openid" not in values.get("scope", "openid").split():
        raise ConfigError(f"{where}.scope must include openid")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", values.get("session_cookie_name", "x")):
        raise ConfigError(f"{where}.session_cookie_name must be letters, digits, - or _")
    return AuthenticateOidc(**values)


def parse(raw: dict) -> AlbConfig:
    """Validate the `alb` section (or a whole stack config holding one)."""
    if isinstance(raw, dict) and isinstance(raw.get("alb"), dict):
        raw = raw["alb"]
    if not isinstance(raw, dict):
        raise ConfigError("the ALB config must be a JSON object")
    alb_arn = _require(raw, "alb_arn", "alb")
    if not ARN_PATTERN.match(alb_arn):
        raise ConfigError("alb.alb_arn must be an application load balancer ARN")
    named = raw.get("authenticate_oidc", {})
    if not isinstance(named, dict):
        raise ConfigError("alb.authenticate_oidc must be an object of named actions")
    actions_by_name = {
        name: _authenticate(value, f"alb.authenticate_oidc.{name}") for name, value in named.items()
    }

    raw_rules = raw.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise ConfigError("missing setting alb.rules (a non-empty list)")
    rules = []
    priorities = set()
    for index, raw_rule in enumerate(raw_rules):
        where = f"alb.rules[{index}]"
        if not isinstance(raw_rule, dict):
            raise ConfigError(f"{where} must be an object")
        priority = _require(raw_rule, "priority", where, int)
        if priority in priorities:
            raise ConfigError(f"{where}.priority {priority} is used twice")
        priorities.add(priority)
        patterns = raw_rule.get("path_patterns")
        if (
            not isinstance(patterns, list)
            or not patterns
            or not all(isinstance(p, str) and p for p in patterns)
        ):
            raise ConfigError(f"{where}.path_patterns must be a non-empty list of strings")
        actions = raw_rule.get("actions")
        if not isinstance(actions, list) or not actions:
            raise ConfigError(f"{where}.actions must be a non-empty list")
        authenticate = None
        target = None
        for position, action in enumerate(actions):
            action_where = f"{where}.actions[{position}]"
            kind = action.get("type") if isinstance(action, dict) else None
            if kind == "authenticate-oidc" and position == 0 and len(actions) > 1:
                ref = action.get("authenticate_oidc")
                if isinstance(ref, str):
                    if ref not in actions_by_name:
                        raise ConfigError(
                            f"{action_where}.authenticate_oidc names unknown action {ref!r}"
                        )
                    authenticate = actions_by_name[ref]
                else:
                    authenticate = _authenticate(ref, f"{action_where}.authenticate_oidc")
            elif kind == "forward" and position == len(actions) - 1:
                target = _url(_require(action, "target", action_where), f"{action_where}.target")
            else:
                # The ALB's own ordering rule: authenticate first, one terminal forward last.
                raise ConfigError(
                    f"{action_where}: expected an optional authenticate-oidc first "
                    "and a forward last"
                )
        if target is None:
            raise ConfigError(f"{where} needs a forward action")
        rules.append(
            Rule(
                priority=priority,
                path_patterns=tuple(patterns),
                regexes=tuple(path_pattern_regex(p) for p in patterns),
                authenticate=authenticate,
                target=target.rstrip("/"),
            )
        )
    rules.sort(key=lambda rule: rule.priority)

    logout_path = raw.get("logout_path", "/logout")
    if not isinstance(logout_path, str) or not logout_path.startswith("/"):
        raise ConfigError("alb.logout_path must be a path starting with /")
    logout_redirect_url = raw.get("logout_redirect_url")
    if logout_redirect_url is not None:
        _url(logout_redirect_url, "alb.logout_redirect_url")
    ttl = raw.get("data_token_ttl_seconds", 120)
    if not isinstance(ttl, int) or isinstance(ttl, bool) or not 1 <= ttl <= 3600:
        raise ConfigError("alb.data_token_ttl_seconds must be an integer between 1 and 3600")
    return AlbConfig(
        host=raw.get("host", "127.0.0.1"),
        port=_require(raw, "port", "alb", int),
        key_endpoint_port=_require(raw, "key_endpoint_port", "alb", int),
        alb_arn=alb_arn,
        logout_path=logout_path,
        logout_redirect_url=logout_redirect_url,
        data_token_ttl_seconds=ttl,
        rules=tuple(rules),
    )


def load(path: str | Path) -> AlbConfig:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read ALB config {path}: {exc}") from exc
    return parse(raw)
