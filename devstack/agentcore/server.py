"""A threaded werkzeug server for the emulator, with an access log that never shows a query.

werkzeug's default request log prints the request line, query string included: the OAuth2
callback's `?code=...&state=...` would land in the log. The devstack's path-only handler
(devstack.alb.server) logs method, path and status only.
"""

from __future__ import annotations

import threading

from werkzeug.serving import BaseWSGIServer, make_server

from devstack.alb.server import PathOnlyRequestHandler


def make_threaded_server(app, host: str, port: int) -> BaseWSGIServer:
    """Bind now (port 0 picks a free one; read it from `server.server_port`)."""
    return make_server(host, port, app, threaded=True, request_handler=PathOnlyRequestHandler)


def serve_in_thread(app, host: str = "127.0.0.1", port: int = 0):
    """Start serving in a daemon thread; returns (server, thread). Stop with server.shutdown()."""
    server = make_threaded_server(app, host, port)
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="agentcore-emulator", daemon=True
    )
    thread.start()
    return server, thread
