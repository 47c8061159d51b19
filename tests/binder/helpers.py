"""What the binder tests share besides fixtures: names, a call log, a recording AgentCore."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from botocore.stub import Stubber
from identity_core.alb import AlbHeaderVerifier, PublicKeyCache
from identity_core.identity import derive_user_id
from identity_core.pending import PendingFlowStore
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.support.alb_tokens import ALB_ARN, CLIENT_ID, ISSUER, AlbSigner

TABLE = "pending-flows"
SESSION = "urn:ietf:params:oauth:request_uri:7f0c2a9e-4b1d-4c55-9a57-0d1e2f3a4b5c"
OTHER_SESSION = "urn:ietf:params:oauth:request_uri:0a1b2c3d-0000-4000-8000-feedbeefcafe"
ALICE_SUB = "alice-sub-0001"
MALLORY_SUB = "mallory-sub-0666"
BINDING_PATH = "/oauth2/session-binding"


def user_id_of(token: str, key_endpoint_url: str) -> str:
    """What AgentCore must see for this header, computed the way both services compute it."""
    verifier = AlbHeaderVerifier(
        alb_arn=ALB_ARN, client_id=CLIENT_ID, issuer=ISSUER, keys=PublicKeyCache(key_endpoint_url)
    )
    return derive_user_id(verifier.verify(token), "entra+")


class CallLog:
    """Every operation a boto3 client was asked to make, with its parameters."""

    def __init__(self, *clients: Any):
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._clients = clients
        for client in clients:
            # before-parameter-build fires for every call, stubbed or sent, before retries.
            client.meta.events.register("before-parameter-build.*.*", self._record)

    def detach(self) -> None:
        for client in self._clients:
            client.meta.events.unregister("before-parameter-build.*.*", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        with self._lock:
            self.calls.append((model.name, dict(params)))

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


def record_flow(
    store: PendingFlowStore, session_uri: str = SESSION, sub: str = ALICE_SUB, provider="github"
) -> None:
    store.record(
        session_uri=session_uri,
        authorization_url="https://github.com/login/oauth/authorize?client_id=x",
        user_id=f"entra+{sub}",
        provider=provider,
    )


def flow_status(dynamodb: Any, session_uri: str = SESSION) -> str:
    item = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"session#{session_uri}"}})
    return item["Item"]["status"]["S"]


@dataclass
class Binder:
    """A binder app and what it did."""

    client: Any
    aws_calls: CallLog
    stubber: Stubber | None
    signer: AlbSigner
    key_endpoint_url: str

    def get(self, session_id: str | None = SESSION, token: str | None = None, **kw: Any) -> Any:
        headers = kw.pop("headers", {})
        if token is None:
            token = self.signer.token(ALICE_SUB)
        if token:
            headers["x-amzn-oidc-data"] = token
        query = {} if session_id is None else {"session_id": session_id}
        query.update(kw.pop("query", {}))
        return self.client.get(BINDING_PATH, query_string=query, headers=headers, **kw)

    @property
    def agentcore_calls(self) -> list[tuple[str, dict[str, Any]]]:
        return [c for c in self.aws_calls.calls if c[0] == "CompleteResourceTokenAuth"]


@dataclass
class RecordingAgentCore:
    """A loopback HTTP endpoint speaking AgentCore's rest-json errors, counting attempts.

    Used where botocore's own retry loop must run for real (a Stubber answers before it).
    """

    answers: list[tuple[int, str | None]] = field(default_factory=list)
    delay_seconds: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self._stop = threading.Event()

    @Request.application
    def _app(self, request: Request) -> Response:
        self.requests.append({"path": request.path, "body": request.get_json(silent=True)})
        if self.delay_seconds:
            self._stop.wait(self.delay_seconds)
        status, error_type = self.answers[0] if self.answers else (200, None)
        if error_type is None:
            return Response("{}", status=status, content_type="application/json")
        body = {"message": f"{error_type}: INTERNAL-AWS-DETAIL arn:aws:iam::111122223333:role/x"}
        return Response(
            json.dumps(body),
            status=status,
            content_type="application/json",
            headers={"x-amzn-ErrorType": error_type},
        )

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
