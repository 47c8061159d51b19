"""Threaded HTTP servers for the ALB emulator and its key endpoint."""

from __future__ import annotations

import logging
import threading

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

log = logging.getLogger("devstack.http")


class PathOnlyRequestHandler(WSGIRequestHandler):
    """Access log lines without the query string: /oauth2/idpresponse and AgentCore's OAuth2
    callback carry the authorization code in it."""

    def log_request(self, code="-", size="-"):
        # No path when the request line itself was malformed.
        path = getattr(self, "path", "-").split("?", 1)[0]
        log.info('%s "%s %s" %s', self.address_string(), self.command, path, code)

    def log(self, type: str, message: str, *args) -> None:
        # werkzeug's own messages ("Bad request syntax ...") can quote the raw request line,
        # query included; keep only their kind.
        log.warning("werkzeug reported a request handling %s", type)


def start(app, host: str, port: int) -> tuple[BaseWSGIServer, threading.Thread]:
    server = make_server(host, port, app, threaded=True, request_handler=PathOnlyRequestHandler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name=f"http-{port}", daemon=True
    )
    thread.start()
    return server, thread
