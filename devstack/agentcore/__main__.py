"""Run the AgentCore Identity emulator.

    python -m devstack.agentcore --host 127.0.0.1 --port 8700 --vendor-config vendors.json

Exit codes: 0 stopped by SIGINT/SIGTERM, 2 bad arguments or vendor config.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from .app import create_app
from .emulator import DEFAULT_WORKLOAD_TOKEN_TTL_SECONDS, Emulator
from .server import make_threaded_server
from .vendors import VendorConfigError, load_vendor_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.agentcore", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8700)
    parser.add_argument("--vendor-config", help="JSON file: vendor -> endpoints (see vendors.py)")
    parser.add_argument(
        "--public-url",
        help="base URL browsers reach the emulator at, for callbackUrl (default http://HOST:PORT)",
    )
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--account-id", default="123456789012")
    parser.add_argument(
        "--workload-token-ttl",
        type=float,
        default=DEFAULT_WORKLOAD_TOKEN_TTL_SECONDS,
        help="lifetime of workload access tokens in seconds (default 3600)",
    )
    parser.add_argument(
        "--no-admin", action="store_true", help="leave out the emulator-only /_emulator/ endpoints"
    )
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    try:
        vendors = load_vendor_config(args.vendor_config)
    except VendorConfigError as exc:
        print(f"agentcore emulator: {exc}", file=sys.stderr)
        return 2
    if args.workload_token_ttl <= 0:
        print("agentcore emulator: --workload-token-ttl must be positive", file=sys.stderr)
        return 2

    emulator = Emulator(
        vendors=vendors,
        region=args.region,
        account_id=args.account_id,
        public_url=args.public_url or f"http://{args.host}:{args.port}",
        workload_token_ttl=args.workload_token_ttl,
    )
    server = make_threaded_server(
        create_app(emulator, admin=not args.no_admin), args.host, args.port
    )

    def stop(_signum, _frame) -> None:
        # shutdown() waits for serve_forever to return, so it must run on another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logging.getLogger("devstack.agentcore").info(
        "AgentCore Identity emulator listening on http://%s:%s", args.host, server.server_port
    )
    server.serve_forever(poll_interval=0.1)
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
