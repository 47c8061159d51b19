"""python -m devstack.alb --config devstack/config.json

Starts the ALB emulator on `alb.port` and its public key endpoint on `alb.key_endpoint_port`,
both on loopback, and runs until interrupted. Exit codes: 0 stopped, 2 bad configuration.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from devstack.alb.config import ConfigError, load
from devstack.alb.proxy import AlbEmulator, KeyEndpoint
from devstack.alb.server import start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.alb", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--config", required=True, help="stack config (its alb section) or an ALB config file"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        config = load(args.config)
    except ConfigError as exc:
        print(f"alb: {exc}", file=sys.stderr)
        return 2

    emulator = AlbEmulator(config)
    listener, _ = start(emulator, config.host, config.port)
    keys, _ = start(KeyEndpoint(emulator.key), config.host, config.key_endpoint_port)
    print(
        f"alb: listening on http://{config.host}:{config.port}, "
        f"public key at http://{config.host}:{config.key_endpoint_port}/{emulator.key.kid}",
        flush=True,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    listener.shutdown()
    keys.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
