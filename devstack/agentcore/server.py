"""A threaded werkzeug server for the emulator, with an access log that never shows a query.

werkzeug's default request log prints the request line, query string included: the OAuth2
callback's `?code=...&state=...` would land in the log. This handler logs method, path and
status only.
"""

from __future__ import annotations

import logging
import threading

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

log = logging.getLogger("devstack.agentcore.access")


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-") -> None:
        path = self.path.split("?", 1)[0]
        log.info("%s %s %s", self.command, path, code)

    def log(self, type: str, message: str, *args) -> None:
        # werkzeug's own messages can quote the raw request line; keep only their kind.
        log.warning("werkzeug reported a request handling %s", type)


def make_threaded_server(app, host: str, port: int) -> BaseWSGIServer:
    """Bind now (port 0 picks a free one; read it from `server.server_port`)."""
    return make_server(host, port, app, threaded=True, request_handler=_QuietHandler)


def serve_in_thread(app, host: str = "127.0.0.1", port: int = 0):
    """Start serving in a daemon thread; returns (server, thread). Stop with server.shutdown()."""
    server = make_threaded_server(app, host, port)
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="agentcore-emulator", daemon=True
    )
    thread.start()
    return server, thread
