"""Register the two URLs this architecture depends on, idempotently.

1. The session binding URL (the binder's public URL) must be on the workload identity's
   allowed return URLs, or AgentCore refuses every 3-legged flow with "You must register and
   use at least one ResourceOauth2ReturnUrl on your workload identity".
2. The AgentCore callback URL exists only once the OAuth2 credential provider exists, and changes
   if the provider is recreated. It must be registered at the external service's OAuth app.

Each step reads first, compares, and writes only what differs: it reports created, updated or
unchanged. Settings come from ``terraform output -json`` (``--terraform-dir`` or ``--from-json``)
or from flags for teams without Terraform; flags win over outputs. The client secret never comes
from argv: ``--client-secret-arn`` (Secrets Manager), ``--client-secret-env NAME`` or
``--client-secret-stdin``; or ``--client-secret-reference ARN`` makes the provider read it from
your own Secrets Manager secret (AgentCore's EXTERNAL secret source) so it never passes here.

A secret value cannot be read back from AgentCore, so it cannot be compared: it is sent when the
provider is created, when another setting of the provider has to be updated (an update replaces
the provider's configuration), and when ``--rotate-secret`` is given. Otherwise it is not even
read. A secret reference can be read back and is compared on every run.

With ``--verify`` nothing is changed: the provider is READY and matches, its callback URL is
registered where that can be read (Microsoft Graph), the binding URL is an allowed return URL,
and the load balancer sends an unauthenticated browser on the binding path to the identity
provider and answers an unauthenticated API request with 401.

Exit codes:
  0  done, or nothing to do; with --verify, every check passed or was skipped with its reason
  1  AWS, Microsoft Graph or runtime error (one line on stderr; the traceback with --debug);
     with --verify, a check failed
  2  usage: a missing or refused setting, with the reason; nothing was changed
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import botocore.session
import requests
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

log = logging.getLogger("register_provider")

# The service's own patterns (botocore checks lengths, not patterns, so we do).
WORKLOAD_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
PROVIDER_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
RETURN_URL_MAX = 2048
AGENTCORE_CALLBACK_PATH = "/identities/oauth2/callback"
AGENTCORE_HOST = re.compile(r"^bedrock-agentcore(-[a-z]+)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
# An Entra application's object id is a GUID; it goes into a Graph URL path, so its shape is
# checked before any request is made with it.
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")

DEFAULT_GRAPH_URL = "https://graph.microsoft.com"
DEFAULT_ENTRA_AUTHORITY = "https://login.microsoftonline.com"
# Total attempts per AWS call, the first included (botocore standard retry mode).
AWS_MAX_ATTEMPTS = 4
HTTP_TIMEOUT = 10
# Microsoft Graph: three retries on 429 and 5xx, Retry-After honoured, else exponential backoff.
GRAPH_RETRIES = 3
GRAPH_BACKOFF_FACTOR = 0.5

# Where each setting is found in `terraform output -json`, first match wins. The root module's
# outputs.tf is the contract; the alternatives keep the script usable with a renamed output.
TERRAFORM_OUTPUTS: dict[str, tuple[str, ...]] = {
    # The root module has no region output; the region is read from an ARN output instead.
    "region": ("aws_region", "region"),
    "region_from_arn": ("workload_identity_arn", "alb_arn"),
    "workload_name": ("workload_identity_name",),
    "session_binding_url": ("session_binding_url",),
    "application_url": ("application_url", "app_url"),
    "entra_redirect_uri": ("entra_redirect_uri",),
    # The credential providers: a list of names (the root module's credential_provider_names),
    # or a map keyed as the root module's variable whose entries are names or objects.
    "credential_providers": ("credential_providers", "credential_provider_names"),
}
FLAG_FOR = {
    "region": "--region",
    "workload_name": "--workload-name",
    "session_binding_url": "--session-binding-url",
    "application_url": "--app-url",
    "entra_redirect_uri": "--entra-redirect-uri",
    "provider_name": "--provider-name",
    "vendor": "--vendor",
    "client_id": "--client-id",
}


class UsageError(Exception):
    """A setting is missing or cannot work; the message says which and why."""


class GraphError(Exception):
    """Microsoft Graph or the Entra token endpoint answered with an error."""


# ---------------------------------------------------------------------------------------------
# Results


@dataclass
class Step:
    step: str
    resource: str
    status: str  # created | updated | unchanged | manual | would create | would update
    detail: str = ""
    changes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "resource": self.resource,
            "status": self.status,
            "detail": self.detail,
            "changes": self.changes,
        }


@dataclass
class Check:
    check: str
    status: str  # ok | failed | skipped
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"check": self.check, "status": self.status, "detail": self.detail}


# ---------------------------------------------------------------------------------------------
# Validation


def is_loopback(host: str | None) -> bool:
    return host in ("localhost", "127.0.0.1", "::1") or bool(host and host.startswith("127."))


def check_return_url(url: str) -> str:
    """Refuse a session binding URL that AgentCore would reject or that would loop."""
    if len(url) > RETURN_URL_MAX:
        raise UsageError(f"session binding URL is longer than {RETURN_URL_MAX} characters")
    parts = urlsplit(url)
    if not parts.hostname:
        raise UsageError(f"session binding URL has no host: {url!r}")
    if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback(parts.hostname)):
        raise UsageError(
            f"session binding URL must be https:// (http:// only on loopback): {url!r}; "
            "the browser carries the session id to it"
        )
    if parts.username or parts.password or parts.fragment:
        raise UsageError(f"session binding URL must not carry credentials or a fragment: {url!r}")
    # AgentCore redirects the browser to the return URL after its own callback: pointing one at
    # the other sends the user in a loop and never reaches the binder.
    if parts.path.startswith(AGENTCORE_CALLBACK_PATH) or AGENTCORE_HOST.match(parts.hostname):
        raise UsageError(
            f"session binding URL points at AgentCore's own callback: {url!r}; "
            "it must be your binder's URL (the ALB's /oauth2/session-binding path)"
        )
    return url


def check_https(url: str, name: str) -> str:
    parts = urlsplit(url)
    if not parts.hostname or not (
        parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname))
    ):
        raise UsageError(f"{name} must be an https:// URL (http:// only on loopback): {url!r}")
    return url.rstrip("/")


@cache
def vendor_config_keys() -> dict[str, str]:
    """Vendors that have their own config member in botocore's model, and that member's name.

    Taken from the model rather than written out so that the script follows the installed
    botocore; vendors configured through ``includedOauth2ProviderConfig`` are not supported.
    """
    model = botocore.session.get_session().get_service_model("bedrock-agentcore-control")
    shape = model.operation_model("CreateOauth2CredentialProvider").input_shape
    vendors = shape.members["credentialProviderVendor"].enum
    members = shape.members["oauth2ProviderConfigInput"].members
    keys = {}
    for vendor in vendors:
        key = vendor[0].lower() + vendor[1:] + "ProviderConfig"
        if key in members:
            keys[vendor] = key
    return keys


# ---------------------------------------------------------------------------------------------
# Settings


@dataclass
class SecretSource:
    """Where the client secret comes from. Holds no secret itself; ``value`` reads it once."""

    kind: str  # "secretsmanager" | "env" | "stdin" | "reference"
    location: str = ""
    json_key: str | None = None
    _cached: str | None = field(default=None, repr=False)

    def describe(self) -> str:
        return {
            "secretsmanager": f"Secrets Manager secret {self.location}",
            "env": f"environment variable {self.location}",
            "stdin": "standard input",
            "reference": f"reference to Secrets Manager secret {self.location}",
        }[self.kind]

    def value(self, secrets_client: Any) -> str:
        if self._cached is not None:
            return self._cached
        if self.kind == "env":
            raw = os.environ.get(self.location)
            if not raw:
                raise UsageError(f"environment variable {self.location} is empty or not set")
        elif self.kind == "stdin":
            raw = sys.stdin.readline().rstrip("\r\n")
            if not raw:
                raise UsageError("no client secret on standard input")
        elif self.kind == "secretsmanager":
            raw = secrets_client.get_secret_value(SecretId=self.location).get("SecretString")
            if not raw:
                raise UsageError(f"secret {self.location} has no SecretString")
        else:
            raise AssertionError("a secret reference has no value here")
        if self.json_key:
            try:
                raw = json.loads(raw)[self.json_key]
            except (ValueError, KeyError, TypeError):
                # Never echo the secret's content, only where it was looked for.
                raise UsageError(
                    f"{self.describe()} is not a JSON object with key {self.json_key!r}"
                ) from None
        self._cached = raw
        return raw


@dataclass
class Settings:
    region: str
    workload_name: str
    session_binding_url: str
    provider_name: str
    vendor: str | None
    client_id: str | None
    tenant_id: str | None
    discovery_url: str | None
    secret: SecretSource | None
    rotate_secret: bool
    application_url: str | None
    entra_redirect_uri: str | None
    entra_app_object_id: str | None
    signin_app_object_id: str | None
    graph_url: str
    entra_authority: str
    dry_run: bool
    verify: bool


def run_terraform_output(terraform_dir: str) -> dict[str, Any]:
    exe = shutil.which("terraform")
    if exe is None:
        raise UsageError("terraform is not on PATH; use --from-json FILE or the explicit flags")
    done = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [exe, f"-chdir={terraform_dir}", "output", "-json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"terraform output failed in {terraform_dir}: {first}")
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise RuntimeError(f"terraform output in {terraform_dir} printed no JSON") from None


def flatten_outputs(raw: Mapping[str, Any]) -> dict[str, Any]:
    """`terraform output -json` wraps each value as {"value", "type", "sensitive"}."""
    flat = {}
    for name, item in raw.items():
        if isinstance(item, Mapping) and "value" in item:
            # A sensitive output is never needed here; leaving it out keeps it out of any
            # message the script prints.
            if item.get("sensitive"):
                continue
            flat[name] = item["value"]
        else:
            flat[name] = item
    return flat


def from_outputs(outputs: Mapping[str, Any], key: str) -> Any:
    for name in TERRAFORM_OUTPUTS[key]:
        if outputs.get(name) not in (None, "", {}):
            return outputs[name]
    return None


def pick_provider(outputs: Mapping[str, Any], wanted: str | None) -> dict[str, Any]:
    """Select one credential provider from the root module's map output.

    Each entry is either a name or an object with ``name`` and, optionally, ``vendor``,
    ``client_id``, ``tenant_id``, ``discovery_url``, ``arn``.
    """
    providers = from_outputs(outputs, "credential_providers")
    if not providers:
        return {}
    if isinstance(providers, list):
        providers = {name: name for name in providers}
    if not isinstance(providers, Mapping):
        raise UsageError("terraform output credential_provider_names is neither list nor map")
    if wanted is None:
        if len(providers) != 1:
            keys = ", ".join(sorted(providers))
            raise UsageError(
                f"several credential providers in terraform outputs ({keys}): "
                "choose one with --provider KEY"
            )
        wanted = next(iter(providers))
    if wanted not in providers:
        # Allow the provider's own name as well as the map key.
        by_name = {
            (v.get("name") if isinstance(v, Mapping) else v): k for k, v in providers.items()
        }
        if wanted not in by_name:
            raise UsageError(
                f"no credential provider {wanted!r} in terraform outputs "
                f"(have: {', '.join(sorted(providers))})"
            )
        wanted = by_name[wanted]
    entry = providers[wanted]
    return dict(entry) if isinstance(entry, Mapping) else {"name": entry}


def region_of(arn: Any) -> str | None:
    parts = arn.split(":") if isinstance(arn, str) else []
    return parts[3] if len(parts) > 5 and parts[0] == "arn" and parts[3] else None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="register_provider.py",
        allow_abbrev=False,
        description=__doc__.split("\n\n")[0],
        epilog="Exit codes: 0 done or nothing to do, 1 AWS/Graph/runtime error or failed "
        "check, 2 usage.",
    )
    src = p.add_argument_group("where settings come from (flags win over outputs)")
    src.add_argument("--terraform-dir", help="run `terraform output -json` in this folder")
    src.add_argument("--from-json", metavar="FILE", help="saved `terraform output -json`")
    src.add_argument("--provider", metavar="KEY", help="which credential provider of the outputs")

    s = p.add_argument_group("settings")
    s.add_argument("--region")
    s.add_argument("--workload-name")
    s.add_argument("--session-binding-url")
    s.add_argument("--provider-name")
    s.add_argument("--vendor", help="GithubOauth2, MicrosoftOauth2, GoogleOauth2, CustomOauth2...")
    s.add_argument("--client-id")
    s.add_argument("--tenant-id", help="MicrosoftOauth2: the external app's tenant")
    s.add_argument("--discovery-url", help="CustomOauth2: the OpenID discovery URL")
    s.add_argument("--app-url", help="the application URL (for --verify)")
    s.add_argument("--entra-redirect-uri", help="https://<host>/oauth2/idpresponse")

    sec = p.add_argument_group("client secret (never on the command line)")
    one = sec.add_mutually_exclusive_group()
    one.add_argument("--client-secret-arn", help="read the value from this Secrets Manager secret")
    one.add_argument("--client-secret-env", metavar="NAME", help="read it from this variable")
    one.add_argument("--client-secret-stdin", action="store_true", help="read one line")
    one.add_argument(
        "--client-secret-reference",
        metavar="ARN",
        help="let AgentCore read the secret from your own Secrets Manager secret (EXTERNAL)",
    )
    sec.add_argument("--client-secret-json-key", help="key of the value in a JSON secret")
    sec.add_argument(
        "--rotate-secret",
        action="store_true",
        help="send the secret even if "
        "nothing else changed (after rotating it at the external service)",
    )

    g = p.add_argument_group("Entra app registrations through Microsoft Graph")
    g.add_argument(
        "--entra-app-object-id",
        help="object id of the external service's app: "
        "add the AgentCore callback URL to its Web redirect URIs",
    )
    g.add_argument(
        "--signin-app-object-id",
        help="object id of the ALB sign-in app: add the "
        "Entra redirect URI to its Web redirect URIs",
    )
    g.add_argument("--graph-url", default=DEFAULT_GRAPH_URL)
    g.add_argument("--entra-authority", default=DEFAULT_ENTRA_AUTHORITY)

    m = p.add_argument_group("mode")
    m.add_argument("--dry-run", action="store_true", help="every read and comparison, no write")
    m.add_argument("--verify", action="store_true", help="check a deployed stack, change nothing")
    m.add_argument("--json", action="store_true", help="print a result for machines")
    m.add_argument("--debug", action="store_true", help="decisions and tracebacks on stderr")
    return p


def resolve_settings(args: argparse.Namespace) -> Settings:
    outputs: dict[str, Any] = {}
    if args.terraform_dir and args.from_json:
        raise UsageError("give --terraform-dir or --from-json, not both")
    if args.from_json:
        try:
            with open(args.from_json, encoding="utf-8") as fh:
                outputs = flatten_outputs(json.load(fh))
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read {args.from_json}: {exc.__class__.__name__}") from None
    elif args.terraform_dir:
        outputs = flatten_outputs(run_terraform_output(args.terraform_dir))
    provider = pick_provider(outputs, args.provider)

    def need(key: str, flag_value: str | None, output_value: Any) -> str:
        value = flag_value or output_value
        if not value:
            names = TERRAFORM_OUTPUTS.get(key) or ()
            hint = f" or terraform output {' / '.join(names)}" if names else ""
            if key == "region":
                hint = " (or AWS_REGION, or terraform output workload_identity_arn)"
            if key in ("provider_name", "vendor", "client_id"):
                hint = " or terraform output credential_provider_names"
            raise UsageError(f"missing setting: {FLAG_FOR[key]}{hint}")
        return str(value)

    region = (
        args.region
        or from_outputs(outputs, "region")
        or region_of(from_outputs(outputs, "region_from_arn"))
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
    )
    region = need("region", region, None)
    workload = need("workload_name", args.workload_name, from_outputs(outputs, "workload_name"))
    binding = need(
        "session_binding_url",
        args.session_binding_url,
        from_outputs(outputs, "session_binding_url"),
    )
    provider_name = need("provider_name", args.provider_name, provider.get("name"))
    vendor = args.vendor or provider.get("vendor")
    client_id = args.client_id or provider.get("client_id")
    tenant_id = args.tenant_id or provider.get("tenant_id")
    discovery_url = args.discovery_url or provider.get("discovery_url")

    if not WORKLOAD_NAME.match(workload):
        raise UsageError(f"workload name {workload!r} does not match [A-Za-z0-9_.-]{{3,255}}")
    if not PROVIDER_NAME.match(provider_name):
        raise UsageError(f"provider name {provider_name!r} does not match [a-zA-Z0-9_-]{{1,128}}")
    check_return_url(binding)
    if vendor is not None and vendor not in vendor_config_keys():
        known = ", ".join(sorted(vendor_config_keys()))
        raise UsageError(f"vendor {vendor!r} is not supported here; use one of: {known}")
    if client_id is not None and not 1 <= len(client_id) <= 256:
        raise UsageError("client id must be 1 to 256 characters")
    if vendor == "CustomOauth2" and not args.verify and not discovery_url:
        raise UsageError("vendor CustomOauth2 needs --discovery-url")
    if discovery_url:
        check_https(discovery_url, "--discovery-url")
    for flag in ("entra_app_object_id", "signin_app_object_id"):
        value = getattr(args, flag)
        if value is not None and not GUID.match(value):
            raise UsageError(f"--{flag.replace('_', '-')} must be an object id (a GUID)")
    if args.entra_app_object_id and vendor not in (None, "MicrosoftOauth2"):
        raise UsageError("--entra-app-object-id applies to a MicrosoftOauth2 provider only")

    secret = None
    if args.client_secret_arn:
        secret = SecretSource("secretsmanager", args.client_secret_arn, args.client_secret_json_key)
    elif args.client_secret_env:
        secret = SecretSource("env", args.client_secret_env, args.client_secret_json_key)
    elif args.client_secret_stdin:
        secret = SecretSource("stdin", "", args.client_secret_json_key)
    elif args.client_secret_reference:
        if not args.client_secret_json_key:
            raise UsageError("--client-secret-reference needs --client-secret-json-key")
        secret = SecretSource(
            "reference", args.client_secret_reference, args.client_secret_json_key
        )
    if args.rotate_secret and secret is None:
        raise UsageError("--rotate-secret needs a client secret source")
    if args.verify and (args.dry_run or args.rotate_secret):
        raise UsageError("--verify changes nothing; it takes neither --dry-run nor --rotate-secret")

    app_url = args.app_url or from_outputs(outputs, "application_url")
    redirect = args.entra_redirect_uri or from_outputs(outputs, "entra_redirect_uri")
    return Settings(
        region=region,
        workload_name=workload,
        session_binding_url=binding,
        provider_name=provider_name,
        vendor=vendor,
        client_id=client_id,
        tenant_id=tenant_id,
        discovery_url=discovery_url,
        secret=secret,
        rotate_secret=args.rotate_secret,
        application_url=check_https(app_url, "application URL") if app_url else None,
        entra_redirect_uri=check_https(redirect, "Entra redirect URI") if redirect else None,
        entra_app_object_id=args.entra_app_object_id,
        signin_app_object_id=args.signin_app_object_id,
        graph_url=check_https(args.graph_url, "--graph-url"),
        entra_authority=check_https(args.entra_authority, "--entra-authority"),
        dry_run=args.dry_run,
        verify=args.verify,
    )


# ---------------------------------------------------------------------------------------------
# AWS


@dataclass
class Clients:
    control: Any  # bedrock-agentcore-control
    secrets: Any  # secretsmanager


def make_clients(region: str) -> Clients:
    """Endpoints follow boto3's own settings (AWS_ENDPOINT_URL_BEDROCK_AGENTCORE_CONTROL...)."""
    config = Config(
        region_name=region,
        retries={"mode": "standard", "total_max_attempts": AWS_MAX_ATTEMPTS},
        connect_timeout=5,
        read_timeout=30,
    )
    session = boto3.session.Session(region_name=region)
    return Clients(
        control=session.client("bedrock-agentcore-control", config=config),
        secrets=session.client("secretsmanager", config=config),
    )


def error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def ensure_workload_identity(control: Any, name: str, return_url: str, *, dry_run: bool) -> Step:
    """The binding URL must be allowed; every other allowed URL is kept."""
    try:
        current = control.get_workload_identity(name=name)
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        log.debug("workload identity %s not found: creating it", name)
        if dry_run:
            return Step("workload identity", name, "would create", f"allowing {return_url}")
        control.create_workload_identity(name=name, allowedResourceOauth2ReturnUrls=[return_url])
        return Step("workload identity", name, "created", f"allowing {return_url}")

    allowed = list(current.get("allowedResourceOauth2ReturnUrls") or [])
    # AgentCore compares return URLs as exact strings, so do we.
    if return_url in allowed:
        return Step("workload identity", name, "unchanged", f"{return_url} is allowed")
    wanted = [*allowed, return_url]
    change = f"allowed return URLs += {return_url} (kept {len(allowed)} other)"
    if dry_run:
        return Step("workload identity", name, "would update", change, [change])
    # Known shortcoming: the API replaces the whole list, so an edit made by someone else between
    # our read and this write is lost. Run the script from one place (the deploy job).
    control.update_workload_identity(name=name, allowedResourceOauth2ReturnUrls=wanted)
    return Step("workload identity", name, "updated", change, [change])


@dataclass
class ProviderResult:
    step: Step
    callback_url: str | None
    vendor: str | None
    status: str | None


def provider_differences(current: Mapping[str, Any], settings: Settings) -> list[str]:
    """What differs between the provider as read and as wanted (the secret value excepted)."""
    diffs = []
    vendor = current.get("credentialProviderVendor")
    config_key = vendor_config_keys().get(vendor or "", "")
    config = (current.get("oauth2ProviderConfigOutput") or {}).get(config_key) or {}
    if settings.client_id is not None and config.get("clientId") != settings.client_id:
        diffs.append("client id")
    if vendor == "MicrosoftOauth2" and settings.tenant_id:
        discovery = config.get("oauthDiscovery") or {}
        where = discovery.get("discoveryUrl") or (
            discovery.get("authorizationServerMetadata") or {}
        ).get("issuer")
        # The tenant is not returned as such, only inside the discovery URL or issuer.
        if where and f"/{settings.tenant_id}/" not in where:
            diffs.append("tenant id")
    if vendor == "CustomOauth2" and settings.discovery_url:
        discovery = (config.get("oauthDiscovery") or {}).get("discoveryUrl")
        if discovery != settings.discovery_url:
            diffs.append("discovery URL")
    if settings.secret is not None and settings.secret.kind == "reference":
        arn = (current.get("clientSecretArn") or {}).get("secretArn")
        if (
            current.get("clientSecretSource") != "EXTERNAL"
            or arn != settings.secret.location
            or current.get("clientSecretJsonKey") != settings.secret.json_key
        ):
            diffs.append("client secret reference")
    elif settings.secret is not None and current.get("clientSecretSource") == "EXTERNAL":
        diffs.append("client secret source (EXTERNAL to MANAGED)")
    return diffs


def provider_config(settings: Settings, secrets_client: Any) -> dict[str, Any]:
    key = vendor_config_keys()[settings.vendor or ""]
    config: dict[str, Any] = {"clientId": settings.client_id}
    if settings.vendor == "MicrosoftOauth2" and settings.tenant_id:
        config["tenantId"] = settings.tenant_id
    if settings.vendor == "CustomOauth2":
        config["oauthDiscovery"] = {"discoveryUrl": settings.discovery_url}
    secret = settings.secret
    if secret is None:
        raise UsageError(
            "the credential provider must be written and no client secret was given: use "
            "--client-secret-arn, --client-secret-env, --client-secret-stdin or "
            "--client-secret-reference"
        )
    if secret.kind == "reference":
        config["clientSecretConfig"] = {"secretId": secret.location, "jsonKey": secret.json_key}
        config["clientSecretSource"] = "EXTERNAL"
    else:
        config["clientSecret"] = secret.value(secrets_client)
    return {key: config}


def ensure_credential_provider(clients: Clients, settings: Settings) -> ProviderResult:
    name = settings.provider_name
    control = clients.control
    try:
        current = control.get_oauth2_credential_provider(name=name)
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        current = None

    if current is None:
        for key in ("vendor", "client_id"):
            if getattr(settings, key) is None:
                raise UsageError(
                    f"credential provider {name!r} does not exist; to create it "
                    f"give {FLAG_FOR[key]}"
                )
        config = provider_config(settings, clients.secrets)
        if settings.dry_run:
            step = Step("credential provider", name, "would create", f"vendor {settings.vendor}")
            return ProviderResult(step, None, settings.vendor, None)
        made = control.create_oauth2_credential_provider(
            name=name,
            credentialProviderVendor=settings.vendor,
            oauth2ProviderConfigInput=config,
        )
        step = Step("credential provider", name, "created", f"vendor {settings.vendor}")
        return ProviderResult(step, made.get("callbackUrl"), settings.vendor, made.get("status"))

    vendor = current.get("credentialProviderVendor")
    if settings.vendor and vendor != settings.vendor:
        # Updating the vendor in place would leave the callback URL registered at the wrong
        # service; a different service deserves a provider of its own.
        raise UsageError(
            f"credential provider {name!r} exists with vendor {vendor}, not {settings.vendor}: "
            "choose another provider name"
        )
    diffs = provider_differences(current, settings)
    if settings.rotate_secret:
        diffs.append("client secret (--rotate-secret)")
    if not diffs:
        step = Step("credential provider", name, "unchanged", f"vendor {vendor}")
        return ProviderResult(step, current.get("callbackUrl"), vendor, current.get("status"))

    # An update replaces the provider's whole configuration: whatever is not sent is lost.
    if settings.client_id is None:
        raise UsageError(f"credential provider {name!r} needs an update: give --client-id")
    if vendor == "MicrosoftOauth2" and not settings.tenant_id:
        raise UsageError(f"credential provider {name!r} needs an update: give --tenant-id")
    if vendor == "CustomOauth2" and not settings.discovery_url:
        raise UsageError(f"credential provider {name!r} needs an update: give --discovery-url")
    want = replace(settings, vendor=vendor)
    config = provider_config(want, clients.secrets)
    detail = "changed: " + ", ".join(diffs)
    if settings.dry_run:
        step = Step("credential provider", name, "would update", detail, diffs)
        return ProviderResult(step, current.get("callbackUrl"), vendor, current.get("status"))
    done = control.update_oauth2_credential_provider(
        name=name, credentialProviderVendor=vendor, oauth2ProviderConfigInput=config
    )
    step = Step("credential provider", name, "updated", detail, diffs)
    return ProviderResult(step, done.get("callbackUrl"), vendor, done.get("status"))


# ---------------------------------------------------------------------------------------------
# Microsoft Graph


class Graph:
    """The two Graph calls the script makes, with bounded retries on 429 and 5xx."""

    def __init__(self, base_url: str, authority: str, env: Mapping[str, str]) -> None:
        self.base_url = base_url.rstrip("/")
        self.authority = authority.rstrip("/")
        self.env = env
        self.http = requests.Session()
        retry = Retry(
            total=GRAPH_RETRIES,
            backoff_factor=GRAPH_BACKOFF_FACTOR,
            status_forcelist=(429, 500, 502, 503, 504),
            allowed_methods=frozenset({"GET", "PATCH", "POST"}),
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        self.http.mount("https://", HTTPAdapter(max_retries=retry))
        self.http.mount("http://", HTTPAdapter(max_retries=retry))
        self._token: str | None = None

    @staticmethod
    def credentials_present(env: Mapping[str, str]) -> bool:
        return bool(env.get("GRAPH_ACCESS_TOKEN")) or all(
            env.get(k) for k in ("GRAPH_TENANT_ID", "GRAPH_CLIENT_ID", "GRAPH_CLIENT_SECRET")
        )

    def token(self) -> str:
        if self._token:
            return self._token
        if self.env.get("GRAPH_ACCESS_TOKEN"):
            self._token = self.env["GRAPH_ACCESS_TOKEN"]
            return self._token
        tenant = self.env["GRAPH_TENANT_ID"]
        if not GUID.match(tenant):
            raise UsageError("GRAPH_TENANT_ID must be the tenant id (a GUID)")
        # Client credentials grant; the application needs Application.ReadWrite.OwnedBy (and to
        # own the app registrations) or Application.ReadWrite.All.
        resp = self.http.post(
            f"{self.authority}/{tenant}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": self.env["GRAPH_CLIENT_ID"],
                "client_secret": self.env["GRAPH_CLIENT_SECRET"],
                "scope": f"{self.base_url}/.default",
            },
            timeout=HTTP_TIMEOUT,
        )
        if resp.status_code != 200:
            raise GraphError(f"Entra token endpoint answered {resp.status_code}")
        self._token = resp.json()["access_token"]
        return self._token

    def _call(self, method: str, path: str, body: Any = None) -> requests.Response:
        resp = self.http.request(
            method,
            f"{self.base_url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=HTTP_TIMEOUT,
        )
        if resp.status_code >= 400:
            try:
                code = resp.json()["error"]["code"]
            except (ValueError, KeyError, TypeError):
                code = "unknown"
            raise GraphError(f"Graph {method} {path} answered {resp.status_code} ({code})")
        return resp

    def redirect_uris(self, object_id: str) -> list[str]:
        data = self._call("GET", f"/v1.0/applications/{object_id}?$select=web").json()
        return list((data.get("web") or {}).get("redirectUris") or [])

    def set_redirect_uris(self, object_id: str, uris: list[str]) -> None:
        # Graph replaces the whole list: send what we read plus ours.
        self._call("PATCH", f"/v1.0/applications/{object_id}", {"web": {"redirectUris": uris}})


def ensure_entra_redirect_uri(
    graph: Graph, object_id: str, uri: str, what: str, *, dry_run: bool
) -> Step:
    current = graph.redirect_uris(object_id)
    resource = f"Entra app {object_id}"
    if uri in current:
        return Step(what, resource, "unchanged", f"{uri} is a Web redirect URI")
    change = f"Web redirect URIs += {uri} (kept {len(current)} other)"
    if dry_run:
        return Step(what, resource, "would update", change, [change])
    graph.set_redirect_uris(object_id, [*current, uri])
    return Step(what, resource, "updated", change, [change])


def manual_instructions(vendor: str | None, callback: str, client_id: str | None) -> str:
    app = f"the OAuth app with client id {client_id}" if client_id else "your OAuth app"
    if vendor == "GithubOauth2":
        # GitHub OAuth apps have one callback URL and no API to change it.
        return (
            f"GitHub: Settings > Developer settings > OAuth Apps > {app} > set "
            f"'Authorization callback URL' to {callback}"
        )
    if vendor == "MicrosoftOauth2":
        return (
            f"Entra: App registrations > {app} > Authentication > Web > add redirect URI "
            f"{callback} (or rerun with --entra-app-object-id and Graph credentials)"
        )
    return f"{vendor or 'the external service'}: add {callback} as a redirect URI of {app}"


# ---------------------------------------------------------------------------------------------
# Runs


@dataclass
class Outcome:
    steps: list[Step] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    callback_url: str | None = None
    actions_required: list[str] = field(default_factory=list)


def register(settings: Settings, clients: Clients, graph: Graph | None) -> Outcome:
    out = Outcome()
    out.steps.append(
        ensure_workload_identity(
            clients.control,
            settings.workload_name,
            settings.session_binding_url,
            dry_run=settings.dry_run,
        )
    )
    provider = ensure_credential_provider(clients, settings)
    out.steps.append(provider.step)
    out.callback_url = provider.callback_url
    if provider.status and provider.status != "READY":
        log.debug("provider status %s", provider.status)
        out.actions_required.append(
            f"credential provider {settings.provider_name} is {provider.status}; "
            "run --verify once it is READY"
        )

    cb = provider.callback_url
    if cb is None:
        out.actions_required.append(
            "the callback URL exists once the provider is created: run again without --dry-run"
        )
    elif provider.vendor == "MicrosoftOauth2" and settings.entra_app_object_id and graph:
        out.steps.append(
            ensure_entra_redirect_uri(
                graph,
                settings.entra_app_object_id,
                cb,
                "callback URL at the external app",
                dry_run=settings.dry_run,
            )
        )
    else:
        text = manual_instructions(provider.vendor, cb, settings.client_id)
        out.steps.append(
            Step(
                "callback URL at the external app",
                provider.vendor or "",
                "manual",
                "cannot be set by API here: see 'to do'",
            )
        )
        out.actions_required.append(text)

    if settings.signin_app_object_id:
        if not settings.entra_redirect_uri:
            raise UsageError("--signin-app-object-id needs --entra-redirect-uri or its output")
        if graph is None:
            raise UsageError("--signin-app-object-id needs Graph credentials in the environment")
        out.steps.append(
            ensure_entra_redirect_uri(
                graph,
                settings.signin_app_object_id,
                settings.entra_redirect_uri,
                "ALB redirect URI at the sign-in app",
                dry_run=settings.dry_run,
            )
        )
    return out


def probe_binding_redirect(settings: Settings, http: requests.Session) -> Check:
    name = "binding path needs sign-in"
    resp = http.get(settings.session_binding_url, allow_redirects=False, timeout=HTTP_TIMEOUT)
    location = resp.headers.get("Location", "")
    if resp.status_code not in (302, 303, 307):
        return Check(
            name,
            "failed",
            f"GET {settings.session_binding_url} answered "
            f"{resp.status_code}, expected a redirect to the identity provider",
        )
    target = urlsplit(location)
    own = urlsplit(settings.session_binding_url)
    if not target.hostname or target.netloc == own.netloc:
        return Check(
            name, "failed", f"redirects to {location[:120]!r}, not to the identity provider"
        )
    redirect_uri = (parse_qs(target.query).get("redirect_uri") or [""])[0]
    if settings.entra_redirect_uri and redirect_uri != settings.entra_redirect_uri:
        return Check(
            name,
            "failed",
            f"the sign-in redirect's redirect_uri is {redirect_uri!r}, "
            f"expected {settings.entra_redirect_uri}",
        )
    return Check(name, "ok", f"{resp.status_code} to {target.scheme}://{target.netloc}")


def probe_api_denies(settings: Settings, http: requests.Session) -> Check:
    name = "API answers 401 without a session"
    url = f"{settings.application_url}/api/chat"
    resp = http.post(url, json={"message": "ping"}, allow_redirects=False, timeout=HTTP_TIMEOUT)
    if resp.status_code != 401:
        return Check(name, "failed", f"POST {url} answered {resp.status_code}, expected 401")
    return Check(name, "ok", f"POST {url} answered 401")


def verify(
    settings: Settings, clients: Clients, graph: Graph | None, http: requests.Session | None = None
) -> Outcome:
    out = Outcome()
    control = clients.control
    try:
        provider = control.get_oauth2_credential_provider(name=settings.provider_name)
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        provider = None
    if provider is None:
        out.checks.append(
            Check(
                "provider ready",
                "failed",
                f"credential provider {settings.provider_name} does not exist",
            )
        )
    else:
        status = provider.get("status")
        ok = status in (None, "READY")
        out.checks.append(
            Check("provider ready", "ok" if ok else "failed", f"status {status or 'not reported'}")
        )
        diffs = provider_differences(provider, settings)
        given = [
            k for k, v in (("vendor", settings.vendor), ("client id", settings.client_id)) if v
        ]
        compared = (
            " and ".join(given) + " as wanted (the secret value cannot be read back)"
            if given
            else "nothing to compare: no vendor or client id given"
        )
        if settings.vendor and provider.get("credentialProviderVendor") != settings.vendor:
            diffs.insert(0, "vendor")
        out.checks.append(
            Check(
                "provider settings match",
                "failed" if diffs else "ok",
                "differs: " + ", ".join(diffs) if diffs else compared,
            )
        )
        out.callback_url = provider.get("callbackUrl")

    cb = out.callback_url
    vendor = provider.get("credentialProviderVendor") if provider else settings.vendor
    name = "callback URL registered"
    if cb is None:
        out.checks.append(Check(name, "failed", "the provider reports no callback URL"))
    elif vendor == "MicrosoftOauth2" and settings.entra_app_object_id and graph:
        found = cb in graph.redirect_uris(settings.entra_app_object_id)
        out.checks.append(
            Check(
                name,
                "ok" if found else "failed",
                f"{cb} {'is' if found else 'is not'} a Web redirect URI of "
                f"Entra app {settings.entra_app_object_id}",
            )
        )
    else:
        out.checks.append(
            Check(
                name,
                "skipped",
                "cannot be read by API here; "
                + manual_instructions(vendor, cb, settings.client_id),
            )
        )

    try:
        workload = control.get_workload_identity(name=settings.workload_name)
        allowed = workload.get("allowedResourceOauth2ReturnUrls") or []
        found = settings.session_binding_url in allowed
        out.checks.append(
            Check(
                "return URL allowed",
                "ok" if found else "failed",
                f"{settings.session_binding_url} "
                f"{'is' if found else 'is not'} allowed on {settings.workload_name}",
            )
        )
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        out.checks.append(
            Check(
                "return URL allowed",
                "failed",
                f"workload identity {settings.workload_name} does not exist",
            )
        )

    if settings.signin_app_object_id and graph and settings.entra_redirect_uri:
        found = settings.entra_redirect_uri in graph.redirect_uris(settings.signin_app_object_id)
        out.checks.append(
            Check(
                "ALB redirect URI registered",
                "ok" if found else "failed",
                f"{settings.entra_redirect_uri} {'is' if found else 'is not'} a Web redirect URI "
                f"of Entra app {settings.signin_app_object_id}",
            )
        )

    http = http or requests.Session()
    try:
        out.checks.append(probe_binding_redirect(settings, http))
        if settings.application_url:
            out.checks.append(probe_api_denies(settings, http))
        else:
            out.checks.append(
                Check(
                    "API answers 401 without a session",
                    "skipped",
                    "no application URL (--app-url or its output)",
                )
            )
    except requests.RequestException as exc:
        out.checks.append(
            Check(
                "load balancer reachable",
                "failed",
                f"{exc.__class__.__name__} probing the application",
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# Output


def render(outcome: Outcome, settings: Settings, as_json: bool) -> str:
    if as_json:
        return json.dumps(
            {
                "mode": "verify" if settings.verify else "dry-run" if settings.dry_run else "apply",
                "region": settings.region,
                "workload_name": settings.workload_name,
                "provider_name": settings.provider_name,
                "session_binding_url": settings.session_binding_url,
                "callback_url": outcome.callback_url,
                "steps": [s.as_dict() for s in outcome.steps],
                "checks": [c.as_dict() for c in outcome.checks],
                "actions_required": outcome.actions_required,
            },
            indent=2,
        )
    lines = []
    for s in outcome.steps:
        lines.append(
            f"{s.step} [{s.resource}]: {s.status}" + (f" - {s.detail}" if s.detail else "")
        )
    for c in outcome.checks:
        lines.append(f"{c.status.upper():8} {c.check}: {c.detail}")
    if outcome.callback_url:
        lines.append(f"callback URL: {outcome.callback_url}")
    for a in outcome.actions_required:
        lines.append(f"to do: {a}")
    return "\n".join(lines)


def main(
    argv: Sequence[str] | None = None,
    *,
    clients_factory: Callable[[str], Clients] | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    parser = build_parser()
    try:
        args, unknown = parser.parse_known_args(argv)
    except SystemExit as exc:  # argparse prints its own usage message
        return int(exc.code or 0)
    if unknown:
        # argparse would echo every unknown word, a secret pasted after a made-up flag too.
        flags = " ".join(w.split("=", 1)[0] for w in unknown if w.startswith("-")) or "values"
        print(
            f"register_provider: unrecognized arguments: {flags} (values not shown; the "
            "client secret is never taken from the command line)",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(stream=sys.stderr, format="%(levelname)s %(message)s")
    # Only our own logger: botocore's DEBUG output includes request bodies, client secret too.
    log.setLevel(logging.DEBUG if args.debug else logging.WARNING)
    env = os.environ if env is None else env
    try:
        settings = resolve_settings(args)
        clients = (clients_factory or make_clients)(settings.region)
        graph = None
        if settings.entra_app_object_id or settings.signin_app_object_id:
            if Graph.credentials_present(env):
                graph = Graph(settings.graph_url, settings.entra_authority, env)
            elif settings.signin_app_object_id or settings.verify:
                raise UsageError(
                    "Graph credentials missing: set GRAPH_ACCESS_TOKEN, or "
                    "GRAPH_TENANT_ID, GRAPH_CLIENT_ID and GRAPH_CLIENT_SECRET"
                )
            else:
                raise UsageError(
                    "--entra-app-object-id needs Graph credentials: set "
                    "GRAPH_ACCESS_TOKEN, or GRAPH_TENANT_ID, GRAPH_CLIENT_ID and "
                    "GRAPH_CLIENT_SECRET (or drop the flag to get instructions)"
                )
        if settings.verify:
            outcome = verify(settings, clients, graph)
        else:
            outcome = register(settings, clients, graph)
    except UsageError as exc:
        print(f"register_provider: {exc}", file=sys.stderr)
        return 2
    except ClientError as exc:
        if args.debug:
            traceback.print_exc()
        op = exc.operation_name
        msg = exc.response.get("Error", {}).get("Message", "")
        print(f"register_provider: AWS {op}: {error_code(exc)}: {msg}", file=sys.stderr)
        return 1
    except (BotoCoreError, GraphError, requests.RequestException, RuntimeError, OSError) as exc:
        if args.debug:
            traceback.print_exc()
        print(f"register_provider: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 1
    print(render(outcome, settings, args.json))
    if any(c.status == "failed" for c in outcome.checks):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
