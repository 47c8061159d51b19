"""The local stack.

    python -m devstack up      start everything, print the URL and the test users, wait for Ctrl-C
    python -m devstack demo    start everything, tell the consent story headless, stop

Exit codes: 0 done (or stopped by Ctrl-C), 1 a service failed to start or a demo step
failed (the message names it), 2 usage.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import time

from devstack.demo import StepFailed, Story
from devstack.stack import STATE_DIR, Stack, StackError


def _up(stack: Stack, started: float) -> int:
    config = stack.config
    print(f"Local stack ready in {time.monotonic() - started:.1f}s.")
    print(f"  Open {config.app_url}/ and sign in as one of:")
    for name, user in config.users.items():
        print(f"    {name:<8} password {user['password']}")
    print(f"  AgentCore callback URL registered at the external service: {stack.callback_url}")
    print(f"  Logs and audit events: {STATE_DIR / 'logs'}")
    print("  Ctrl-C stops everything.")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    return 0


def _demo(stack: Stack, started: float) -> int:
    print(f"Local stack ready in {time.monotonic() - started:.1f}s; the story:")
    try:
        Story(stack).run()
    except StepFailed as failed:
        print(f"FAILED at step {failed.step}: {failed.why}", file=sys.stderr)
        print(f"Service logs: {STATE_DIR / 'logs'}", file=sys.stderr)
        return 1
    print(f"Every step behaved as described ({time.monotonic() - started:.1f}s in all).")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    parser.add_argument("command", choices=("up", "demo"))
    args = parser.parse_args(argv)

    started = time.monotonic()
    stack = Stack()
    try:
        stack.start()
        return _up(stack, started) if args.command == "up" else _demo(stack, started)
    except StackError as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        return 1
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
