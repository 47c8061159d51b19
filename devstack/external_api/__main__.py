"""python -m devstack.external_api --config devstack/config.json

Serves the GitHub-compatible subset on `external_api.port` (loopback) until interrupted.
Exit codes: 0 stopped, 2 bad configuration.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path

from devstack.alb.server import start
from devstack.external_api.app import config_from_stack, create_app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.external_api")
    parser.add_argument("--config", required=True, help="the stack's config.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        raw = json.loads(Path(args.config).read_text(encoding="utf-8"))
        config = config_from_stack(raw)
    except (OSError, ValueError) as exc:
        print(f"external_api: {exc}", file=sys.stderr)
        return 2
    host = raw["external_api"].get("host", "127.0.0.1")
    server, _ = start(create_app(config), host, raw["external_api"]["port"])
    print(f"external_api: listening on {config.base_url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
