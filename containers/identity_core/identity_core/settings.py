"""Settings read once from the environment at start.

Each service builds its settings object in ``create_app``; a missing or malformed value raises
``SettingsError`` naming the variable, so gunicorn stops before it accepts a single request
instead of failing on the first user.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")

_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_ALB_ARN = re.compile(
    r"^arn:aws(-[a-z]+)*:elasticloadbalancing:[a-z0-9-]+:\d{12}:"
    r"loadbalancer/app/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}$"
)
# The prefix namespaces user ids by identity provider, as AWS suggests ("entra+<sub>").
_USER_ID_PREFIX = re.compile(r"^[A-Za-z0-9+._-]{0,32}$")
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

# GovCloud regions publish ALB keys in S3 rather than on public-keys.auth.elb.
_GOVCLOUD_KEY_ENDPOINTS = {
    "us-gov-west-1": "https://s3-us-gov-west-1.amazonaws.com/aws-elb-public-keys-prod-us-gov-west-1",
    "us-gov-east-1": "https://s3-us-gov-east-1.amazonaws.com/aws-elb-public-keys-prod-us-gov-east-1",
}


class SettingsError(Exception):
    """A setting is missing or malformed. The message names the variable."""


def is_loopback_host(host: str | None) -> bool:
    """``localhost`` or a loopback IP literal. Not a DNS name that merely starts with "127.":
    ``127.attacker.example`` resolves to whatever its owner likes."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


# A host as it may appear in a URL: a DNS name or IPv4 literal, or an IPv6 literal (urlsplit
# strips the brackets). Anything else (spaces, other punctuation) is a typo, not a host.
_URL_HOST = re.compile(r"[A-Za-z0-9.-]{1,253}|[0-9A-Fa-f:.]{2,45}")


def check_url(value: str, name: str) -> str:
    """Accept an https URL, or an http one on loopback only (the local stack)."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- parsing the port is the check: out of range or not a number
    except ValueError:  # "https://[::1", "https://host:99999", "https://host:abc"
        parts = None
    if parts is not None and (parts.username is not None or parts.password is not None):
        # Checked first, and the value is not repeated: it carries a password, and credentials
        # in a setting end up in logs and in every request line's authority.
        raise SettingsError(f"{name} must not carry a user name or password")
    # A value with "@" may hold credentials urlsplit could not separate: never repeat it.
    shown = "" if "@" in value else f": {value!r}"
    bad = SettingsError(f"{name} must be an https:// URL (http:// only on loopback){shown}")
    if parts is None:
        raise bad
    secure = parts.scheme == "https" or (
        parts.scheme == "http" and is_loopback_host(parts.hostname)
    )
    if not secure or not parts.hostname or not _URL_HOST.fullmatch(parts.hostname):
        raise bad
    if parts.query or parts.fragment:
        raise SettingsError(f"{name} must not carry a query or fragment: {value!r}")
    return value


def check_path(value: str, name: str) -> str:
    """A same-origin absolute path: starts with one slash, no scheme, host, query or backslash."""
    if not re.fullmatch(r"/[A-Za-z0-9/_.~-]*", value) or value.startswith("//"):
        raise SettingsError(
            f"{name} must be an absolute path such as /oauth2/session-binding: {value!r}"
        )
    return value


def default_key_endpoint(region: str) -> str:
    """Where the ALB publishes the public keys for ``x-amzn-oidc-data`` in ``region``."""
    return _GOVCLOUD_KEY_ENDPOINTS.get(
        region, f"https://public-keys.auth.elb.{region}.amazonaws.com"
    )


class Env:
    """Reads variables from a mapping and reports every problem with the variable's name."""

    def __init__(self, environ: Mapping[str, str]):
        self._environ = environ

    def require(self, name: str) -> str:
        value = self._environ.get(name, "").strip()
        if not value:
            raise SettingsError(f"{name} is required but not set")
        return value

    def optional(self, name: str, default: str) -> str:
        value = self._environ.get(name, "").strip()
        return value or default

    def matching(
        self, name: str, pattern: re.Pattern[str], rule: str, default: str | None = None
    ) -> str:
        value = self.require(name) if default is None else self.optional(name, default)
        if not pattern.fullmatch(value):
            raise SettingsError(f"{name} {rule}: {value!r}")
        return value

    def integer(self, name: str, default: int, *, minimum: int, maximum: int) -> int:
        raw = self.optional(name, str(default))
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{name} must be an integer: {raw!r}") from None
        if not minimum <= value <= maximum:
            raise SettingsError(f"{name} must be between {minimum} and {maximum}: {value}")
        return value

    def parsed(self, name: str, parse: Callable[[str, str], T], default: str | None = None) -> T:
        value = self.require(name) if default is None else self.optional(name, default)
        return parse(value, name)


@dataclass(frozen=True)
class CoreSettings:
    """What both services need to know who is signed in and where pending flows live."""

    region: str
    alb_arn: str
    alb_key_endpoint: str
    oidc_issuer: str
    oidc_client_id: str
    user_id_prefix: str
    pending_flow_table: str
    log_level: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> CoreSettings:
        env = Env(environ)
        region = env.matching("AWS_REGION", _REGION, "must be an AWS region such as eu-west-1")
        alb_arn = env.matching(
            "ALB_ARN",
            _ALB_ARN,
            "must be the ARN of an application load balancer "
            "(arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id>)",
        )
        if alb_arn.split(":")[3] != region:
            raise SettingsError(f"ALB_ARN must be in AWS_REGION {region}: {alb_arn!r}")
        return cls(
            region=region,
            alb_arn=alb_arn,
            alb_key_endpoint=env.parsed(
                "ALB_PUBLIC_KEY_ENDPOINT",
                lambda v, n: check_url(v, n).rstrip("/"),
                default=default_key_endpoint(region),
            ),
            oidc_issuer=env.parsed("OIDC_ISSUER", check_url),
            oidc_client_id=env.matching(
                "OIDC_CLIENT_ID", re.compile(r"[\x21-\x7e]{1,256}"), "must be printable ASCII"
            ),
            user_id_prefix=env.matching(
                "USER_ID_PREFIX",
                _USER_ID_PREFIX,
                "must be at most 32 characters of letters, digits and + . _ -",
                default="entra+",
            ),
            pending_flow_table=env.matching(
                "PENDING_FLOW_TABLE", _TABLE_NAME, "must be a DynamoDB table name"
            ),
            log_level=env.parsed("LOG_LEVEL", _check_log_level, default="INFO"),
        )


def _check_log_level(value: str, name: str) -> str:
    level = value.upper()
    if level not in _LOG_LEVELS:
        raise SettingsError(f"{name} must be one of {', '.join(_LOG_LEVELS)}: {value!r}")
    return level


def configure_logging(level: str) -> None:
    """Plain operational logs on stderr; audit events go to stdout on their own logger."""
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s", force=True
    )
    # botocore at DEBUG prints request bodies, which carry workload tokens.
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.INFO, logging.getLevelName(level)))
