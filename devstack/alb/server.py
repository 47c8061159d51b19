"""Threaded HTTP servers for the ALB emulator and its key endpoint."""

from __future__ import annotations

import logging
import threading

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

log = logging.getLogger("devstack.http")


class PathOnlyRequestHandler(WSGIRequestHandler):
    """Access log lines without the query string: /oauth2/idpresponse carries the code."""

    def log_request(self, code="-", size="-"):
        path = self.path.split("?", 1)[0]
        log.info('%s "%s %s" %s', self.address_string(), self.command, path, code)


def start(app, host: str, port: int) -> tuple[BaseWSGIServer, threading.Thread]:
    server = make_server(host, port, app, threaded=True, request_handler=PathOnlyRequestHandler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name=f"http-{port}", daemon=True
    )
    thread.start()
    return server, thread
