"""Loopback stand-ins the agent talks to over real HTTP: GitHub's API and AgentCore Identity.

Both record what they were asked, so tests and the benchmark can count calls and check that
tokens went only where they should.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


class LoopbackServer:
    def __init__(self) -> None:
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.lock = threading.Lock()

    @Request.application
    def _app(self, request: Request) -> Response:
        return self.handle(request)

    def handle(self, request: Request) -> Response:  # pragma: no cover - overridden
        raise NotImplementedError

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class FakeGitHub(LoopbackServer):
    """``GET /user`` and ``GET /user/repos`` for the tokens in ``accounts``; 401 otherwise."""

    def __init__(self) -> None:
        super().__init__()
        self.accounts: dict[str, str] = {}  # token -> login
        self.requests: list[tuple[str, str]] = []  # (path, Authorization header)

    def handle(self, request: Request) -> Response:
        auth = request.headers.get("Authorization", "")
        with self.lock:
            self.requests.append((request.path, auth))
        login = self.accounts.get(auth.removeprefix("Bearer "))
        if login is None:
            return _json({"message": "Bad credentials"}, 401)
        if request.path == "/user":
            return _json(
                {"login": login, "name": "Alice Example", "public_repos": 2, "id": 1,
                 "html_url": f"https://github.example/{login}"}
            )  # fmt: skip
        if request.path == "/user/repos":
            return _json(
                [
                    {"full_name": f"{login}/notes", "private": True, "description": "notes"},
                    {"full_name": f"{login}/site", "private": False, "description": None},
                ]
            )
        return _json({"message": "Not Found"}, 404)


class RecordingAgentCore(LoopbackServer):
    """The two AgentCore Identity data-plane operations the agent calls, recorded.

    Every user has a stored token for the provider, so each chat turn is the warm path. The
    workload token fetch is slowed down a little so concurrent requests really overlap it.
    """

    def __init__(self, fetch_delay: float = 0.05) -> None:
        super().__init__()
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._fetch_delay = fetch_delay
        self._issued = 0

    def handle(self, request: Request) -> Response:
        body = json.loads(request.get_data() or b"{}")
        if request.path == "/identities/GetWorkloadAccessTokenForUserId":
            time.sleep(self._fetch_delay)
            with self.lock:
                self.calls.append(("GetWorkloadAccessTokenForUserId", body))
                self._issued += 1
                token = f"wat-{self._issued}"
            return _json({"workloadAccessToken": token})
        if request.path == "/identities/oauth2/token":
            with self.lock:
                self.calls.append(("GetResourceOauth2Token", body))
            return _json({"accessToken": "ext-token-alice-fixture"})
        return _json({"message": "unknown operation"}, 404)

    def count(self, operation: str) -> int:
        with self.lock:
            return sum(1 for name, _ in self.calls if name == operation)


def _json(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, content_type="application/json")
