"""Starts and stops the local stack: every service of docs/architecture.md on loopback.

Each service is a real process talking real HTTP: moto's server for DynamoDB, the AgentCore
Identity emulator, the identity provider (node, oidc-provider), the external API, the agent
and the binder under gunicorn with their production configs, and the ALB emulator in front.
The containers learn where AWS is only through boto3's standard ``AWS_ENDPOINT_URL_*``
settings; nothing in ``containers/`` knows this module exists.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from botocore.exceptions import BotoCoreError, ClientError

from devstack.bootstrap import bootstrap

ROOT = Path(__file__).resolve().parent.parent
CONFIG_PATH = Path(__file__).resolve().parent / "config.json"
STATE_DIR = ROOT / ".devstack"
READY_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 5

log = logging.getLogger("devstack")


class StackError(Exception):
    """The stack could not start; the message names the service and where its log is."""


@dataclass(frozen=True)
class StackConfig:
    """The stack's settings: devstack/config.json plus the names a deployment would choose."""

    raw: dict[str, Any] = field(repr=False)
    region: str = "us-east-1"
    workload_name: str = "agent-local"
    provider_name: str = "github"
    provider_scopes: tuple[str, ...] = ("repo", "read:user")
    table_name: str = "agent-pending-flows"
    user_id_prefix: str = "entra+"
    agent_port: int = 8001
    binder_port: int = 8002
    agentcore_port: int = 8700
    moto_port: int = 8702
    binding_path: str = "/oauth2/session-binding"

    @classmethod
    def load(cls, path: Path = CONFIG_PATH) -> StackConfig:
        return cls(raw=json.loads(path.read_text(encoding="utf-8")))

    @property
    def host(self) -> str:
        return self.raw["alb"]["host"]

    @property
    def app_url(self) -> str:
        return f"http://{self.host}:{self.raw['alb']['port']}"

    @property
    def session_binding_url(self) -> str:
        return f"{self.app_url}{self.binding_path}"

    @property
    def key_endpoint(self) -> str:
        return f"http://{self.host}:{self.raw['alb']['key_endpoint_port']}"

    @property
    def agentcore_url(self) -> str:
        return f"http://{self.host}:{self.agentcore_port}"

    @property
    def moto_url(self) -> str:
        return f"http://{self.host}:{self.moto_port}"

    @property
    def external_as_url(self) -> str:
        return f"http://{self.raw['external_as']['host']}:{self.raw['external_as']['port']}"

    @property
    def external_api_url(self) -> str:
        return f"http://{self.raw['external_api']['host']}:{self.raw['external_api']['port']}"

    @property
    def oidc(self) -> dict[str, Any]:
        return self.raw["alb"]["authenticate_oidc"]["entra"]

    @property
    def users(self) -> dict[str, dict[str, Any]]:
        return self.raw["users"]

    def ports(self) -> list[int]:
        raw = self.raw
        return [
            raw["alb"]["port"],
            raw["alb"]["key_endpoint_port"],
            raw["idp"]["port"],
            raw["external_as"]["port"],
            raw["external_api"]["port"],
            self.agent_port,
            self.binder_port,
            self.agentcore_port,
            self.moto_port,
        ]

    def aws_environ(self) -> dict[str, str]:
        """How every process here finds AWS: boto3's standard settings and throwaway keys."""
        return {
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            # Not credentials: moto and the emulator accept any key pair; botocore only needs
            # something to sign with.
            "AWS_ACCESS_KEY_ID": "DEVSTACKLOCALONLY000",
            "AWS_SECRET_ACCESS_KEY": "devstack",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_ENDPOINT_URL_BEDROCK_AGENTCORE": self.agentcore_url,
            "AWS_ENDPOINT_URL_BEDROCK_AGENTCORE_CONTROL": self.agentcore_url,
            "AWS_ENDPOINT_URL_DYNAMODB": self.moto_url,
        }

    def service_environ(self, port: int) -> dict[str, str]:
        """The settings both containers read, exactly as the ECS task definition sets them."""
        return {
            **self.aws_environ(),
            "PORT": str(port),
            "WEB_CONCURRENCY": "2",
            "ALB_ARN": self.raw["alb"]["alb_arn"],
            "ALB_PUBLIC_KEY_ENDPOINT": self.key_endpoint,
            "OIDC_ISSUER": self.oidc["issuer"],
            "OIDC_CLIENT_ID": self.oidc["client_id"],
            "USER_ID_PREFIX": self.user_id_prefix,
            "PENDING_FLOW_TABLE": self.table_name,
            "LOG_LEVEL": "INFO",
        }

    def agent_environ(self) -> dict[str, str]:
        return {
            **self.service_environ(self.agent_port),
            "WORKLOAD_NAME": self.workload_name,
            "CREDENTIAL_PROVIDER_NAME": self.provider_name,
            "CREDENTIAL_PROVIDER_VENDOR": "GithubOauth2",
            "CREDENTIAL_PROVIDER_SCOPES": " ".join(self.provider_scopes),
            "SESSION_BINDING_URL": self.session_binding_url,
            "EXTERNAL_API_BASE_URL": self.external_api_url,
            # A deterministic rule-based stand-in for Bedrock: no model, no AWS account.
            "MODEL_PROVIDER": "local-rules",
        }

    def binder_environ(self) -> dict[str, str]:
        return {
            **self.service_environ(self.binder_port),
            "SESSION_BINDING_PATH": self.binding_path,
            "POST_BINDING_PATH": "/",
        }

    def vendor_config(self) -> dict[str, Any]:
        """Where the emulator's ``GithubOauth2`` vendor finds its authorization server."""
        return {
            "GithubOauth2": {
                "issuer": self.external_as_url,
                "authorization_endpoint": f"{self.external_as_url}/login/oauth/authorize",
                "token_endpoint": f"{self.external_as_url}/login/oauth/access_token",
                "token_endpoint_auth_method": "client_secret_post",
            }
        }


@dataclass
class Service:
    name: str
    argv: list[str]
    ready: str  # "tcp:<port>" or an http(s) URL that answers 200 when ready
    cwd: Path = ROOT
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return STATE_DIR / "logs" / f"{self.name}.log"


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def _is_ready(service: Service, host: str) -> bool:
    if service.ready.startswith("tcp:"):
        return _port_open(host, int(service.ready.removeprefix("tcp:")))
    try:
        return requests.get(service.ready, timeout=0.5).status_code == 200
    except requests.RequestException:
        return False


class Stack:
    """The running stack. Use ``with running_stack() as stack:``."""

    def __init__(self, config: StackConfig | None = None):
        self.config = config or StackConfig.load()
        self.services: list[Service] = []
        self.callback_url: str | None = None

    def _python(self, *args: str) -> list[str]:
        return [sys.executable, *args]

    def _gunicorn(self, app: str) -> list[str]:
        # The container's exact command, from the container's folder.
        return [
            str(Path(sys.executable).with_name("gunicorn")),
            "--config",
            "gunicorn.conf.py",
            app,
        ]

    def plan(self) -> list[Service]:
        c = self.config
        vendor_file = STATE_DIR / "agentcore-vendors.json"
        vendor_file.write_text(json.dumps(c.vendor_config(), indent=2), encoding="utf-8")
        base_env = c.aws_environ()
        return [
            Service(
                "moto",
                self._python("-m", "moto.server", "-H", c.host, "-p", str(c.moto_port)),
                f"{c.moto_url}/moto-api/",
                env=base_env,
            ),
            Service(
                "agentcore",
                self._python(
                    "-m",
                    "devstack.agentcore",
                    "--host",
                    c.host,
                    "--port",
                    str(c.agentcore_port),
                    "--vendor-config",
                    str(vendor_file),
                    "--region",
                    c.region,
                ),
                f"tcp:{c.agentcore_port}",
                env=base_env,
            ),
            Service(
                "idp",
                ["node", str(ROOT / "devstack/idp/server.mjs"), "--config", str(CONFIG_PATH)],
                f"tcp:{c.raw['external_as']['port']}",
            ),
            Service(
                "external_api",
                self._python("-m", "devstack.external_api", "--config", str(CONFIG_PATH)),
                f"tcp:{c.raw['external_api']['port']}",
            ),
            Service(
                "agent",
                self._gunicorn("agent_app.wsgi:app"),
                f"http://{c.host}:{c.agent_port}/healthz",
                cwd=ROOT / "containers/agent",
                env=c.agent_environ(),
            ),
            Service(
                "binder",
                self._gunicorn("binder_app.wsgi:app"),
                f"http://{c.host}:{c.binder_port}/healthz",
                cwd=ROOT / "containers/binder",
                env=c.binder_environ(),
            ),
            Service(
                "alb",
                self._python("-m", "devstack.alb", "--config", str(CONFIG_PATH)),
                f"tcp:{c.raw['alb']['port']}",
            ),
        ]

    def start(self) -> None:
        (STATE_DIR / "logs").mkdir(parents=True, exist_ok=True)
        services = self.plan()
        busy = [p for p in self.config.ports() if _port_open(self.config.host, p)]
        if busy:
            raise StackError(
                f"port(s) {', '.join(map(str, busy))} on {self.config.host} already in use; "
                "is another `make up` running?"
            )
        for service in services:
            self._spawn(service)
        # Everything starts at once; readiness is awaited in order of dependency.
        for name in ("moto", "agentcore", "idp"):
            self._wait(self._service(name))
        try:
            self.callback_url = bootstrap(self.config)
        except (
            RuntimeError,
            OSError,
            BotoCoreError,
            ClientError,
            requests.RequestException,
        ) as exc:
            raise StackError(f"bootstrap failed: {type(exc).__name__}: {exc}") from exc
        for name in ("external_api", "agent", "binder", "alb"):
            self._wait(self._service(name))

    def _service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)

    def _spawn(self, service: Service) -> None:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),  # noqa: S108
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            **service.env,
        }
        if service.cwd != ROOT:
            # The containers run from their own folder with only their settings, as on ECS.
            env.pop("PYTHONPATH")
        logfile = service.log_path.open("wb")
        service.process = subprocess.Popen(
            service.argv,
            cwd=service.cwd,
            env=env,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.services.append(service)

    def _wait(self, service: Service) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            assert service.process is not None
            if service.process.poll() is not None:
                raise StackError(
                    f"{service.name} exited with {service.process.returncode}; "
                    f"see {service.log_path}{self._log_tail(service)}"
                )
            if _is_ready(service, self.config.host):
                return
            time.sleep(0.05)
        raise StackError(
            f"{service.name} not ready after {READY_TIMEOUT_SECONDS}s; "
            f"see {service.log_path}{self._log_tail(service)}"
        )

    @staticmethod
    def _log_tail(service: Service, lines: int = 15) -> str:
        """The end of a service's log, so a failure in CI explains itself."""
        text = service.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n  " + "\n  ".join(text[-lines:]) if text else ""

    def stop(self) -> None:
        for service in reversed(self.services):
            if service.process and service.process.poll() is None:
                os.killpg(service.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for service in reversed(self.services):
            if not service.process:
                continue
            try:
                service.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(service.process.pid, signal.SIGKILL)
                service.process.wait()
        self.services.clear()

    def log_lines(self, name: str) -> list[str]:
        return (
            self._service(name).log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        )

    def audit_events(self, *names: str) -> list[dict[str, Any]]:
        """The JSON audit events the named services wrote so far, in order per service."""
        events = []
        for name in names:
            for line in self.log_lines(name):
                if line.startswith("{"):
                    try:
                        events.append(json.loads(line))
                    except ValueError:
                        continue
        return events


@contextmanager
def running_stack(config: StackConfig | None = None) -> Iterator[Stack]:
    stack = Stack(config)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
