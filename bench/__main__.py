"""Print the project's figures: ``python -m bench`` from the repository root.

1. Median verification time of an ALB header with a warm key cache, and its ratio to a bare
   ES256 verification of the same token with ``cryptography`` (target at most 1.5x).
2. AgentCore calls per chat turn for a user whose workload token is cached (target 1).
3. Workload token fetches for 50 concurrent requests of one user (target 1).
4. RSS of one gunicorn worker of each container after warm-up (target at most 80 MB).

Everything runs on loopback: a local ALB key endpoint, a recording AgentCore endpoint that
speaks the real REST-JSON protocol to a real boto3 client, moto's server for DynamoDB and a
GitHub stand-in. Nothing here asserts; it prints numbers and the targets next to them.
"""

from __future__ import annotations

import base64
import logging
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import timeit
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for folder in ("containers/agent", "containers/binder"):
    if str(ROOT / folder) not in sys.path:
        sys.path.insert(0, str(ROOT / folder))

import boto3  # noqa: E402
import requests  # noqa: E402
from botocore.config import Config  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature  # noqa: E402
from identity_core.alb import AlbHeaderVerifier, PublicKeyCache  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

from tests.agent.conftest import agent_environ  # noqa: E402
from tests.agent.fakes import FakeGitHub, RecordingAgentCore  # noqa: E402
from tests.support.alb_tokens import (  # noqa: E402
    ALB_ARN,
    CLIENT_ID,
    ISSUER,
    REGION,
    AlbSigner,
    key_endpoint,
)

FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def median_seconds(func: Any, *, number: int = 200, repeat: int = 15) -> float:
    """Median over ``repeat`` runs of the time per call, each run timing ``number`` calls."""
    runs = timeit.repeat(func, number=number, repeat=repeat)
    return statistics.median(runs) / number


def bench_alb_verify(signer: AlbSigner, key_url: str) -> None:
    keys = PublicKeyCache(key_url)
    verifier = AlbHeaderVerifier(alb_arn=ALB_ARN, client_id=CLIENT_ID, issuer=ISSUER, keys=keys)
    token = signer.token("alice-sub-0001")
    verifier.verify(token)  # warm the key cache

    public_key = signer.key.public_key()
    head, body, sig = token.split(".")
    signing_input = f"{head}.{body}".encode()

    def bare() -> None:
        raw = base64.urlsafe_b64decode(sig)
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        public_key.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))

    ours = median_seconds(lambda: verifier.verify(token))
    baseline = median_seconds(bare)
    print("ALB header verification (warm key cache), median per verification")
    print(f"  identity_core.alb.AlbHeaderVerifier.verify: {ours * 1e6:8.1f} us")
    print(f"  bare cryptography ES256 verify:             {baseline * 1e6:8.1f} us")
    print(f"  ratio: {ours / baseline:.2f}x   (target <= 1.5x)")


def _session() -> boto3.session.Session:
    # Fixed fake credentials: requests go to moto and loopback servers only.
    return boto3.session.Session(
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=REGION,
    )


def _create_table(moto_url: str) -> str:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    _session().client("dynamodb", endpoint_url=moto_url).create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def _counting_app(environ: dict[str, str], agentcore_url: str, moto_url: str):
    from agent_app import create_app

    # As many pooled connections as concurrent requests, like identity_core.aws.client.
    pool = Config(max_pool_connections=64)
    agentcore = _session().client("bedrock-agentcore", endpoint_url=agentcore_url, config=pool)
    calls: list[str] = []
    # Counted on the client itself, through botocore's event hooks: every operation the app
    # asks for, whatever the recording endpoint sees.
    agentcore.meta.events.register(
        "before-call.bedrock-agentcore", lambda model, **_: calls.append(model.name)
    )
    dynamodb = _session().client("dynamodb", endpoint_url=moto_url, config=pool)
    app = create_app(environ, agentcore=agentcore, dynamodb=dynamodb)
    _quiet()
    return app, calls


def _quiet() -> None:
    # The figures are the output: no audit lines or loopback access logs in between.
    logging.getLogger("audit.agent").disabled = True
    logging.getLogger("werkzeug").setLevel(logging.ERROR)


def bench_calls_per_turn(environ: dict[str, str], agentcore_url: str, moto_url: str, header):
    app, calls = _counting_app(environ, agentcore_url, moto_url)
    client = app.test_client()
    client.post("/api/chat", json={"message": "list my repos"}, headers=header)  # warm-up
    calls.clear()
    turns = 20
    for i in range(turns):
        message = "list my repos" if i % 2 else "who am i"
        status = client.post("/api/chat", json={"message": message}, headers=header).status_code
        assert status == 200, status
    print("AgentCore calls per chat turn, warm workload token cache")
    print(f"  {len(calls) / turns:.2f} calls per turn over {turns} turns  (target 1)")
    print(f"  operations: {sorted(set(calls))}")


def bench_concurrent_fetches(environ, agentcore_url: str, moto_url: str, header) -> None:
    app, calls = _counting_app(environ, agentcore_url, moto_url)

    def turn(_: int) -> int:
        return (
            app.test_client()
            .post("/api/chat", json={"message": "who am i"}, headers=header)
            .status_code
        )

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(turn, range(50)))
    fetches = calls.count("GetWorkloadAccessTokenForUserId")
    print("Workload token fetches for 50 concurrent requests of one user (cold cache)")
    print(f"  {fetches} fetch(es); {statuses.count(200)}/50 answered 200  (target 1)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _gunicorn_worker_rss(folder: str, app: str, env: dict[str, str], warm_up) -> str:
    port = _free_port()
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    process = subprocess.Popen(
        [gunicorn, "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", app],
        cwd=ROOT / folder,
        env={**env, "WEB_CONCURRENCY": "1", "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{base}/healthz", timeout=2)
                break
            except (requests.ConnectionError, requests.Timeout):
                if process.poll() is not None:
                    return "gunicorn exited at start"
                if time.monotonic() > deadline:
                    return "gunicorn did not start"
                time.sleep(0.2)
        statuses = warm_up(base)
        workers = _children(process.pid)
        if not workers:
            return "no worker found"
        return f"{_rss_mb(workers[0]):.1f} MB (warm-up statuses {sorted(set(statuses))})"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def bench_rss(environ, agentcore_url: str, moto_url: str, signer: AlbSigner) -> None:
    base_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        **environ,
        **FAKE_CREDENTIALS,
        "AWS_ENDPOINT_URL_BEDROCK_AGENTCORE": agentcore_url,
        "AWS_ENDPOINT_URL_DYNAMODB": moto_url,
    }

    def agent_warm_up(base: str) -> list[int]:
        statuses = []
        for i in range(10):
            message = "list my repos" if i % 2 else "who am i"
            statuses.append(
                requests.post(
                    f"{base}/api/chat",
                    json={"message": message},
                    headers={"x-amzn-oidc-data": signer.token(f"user-{i % 3}")},
                    timeout=10,
                ).status_code
            )
            statuses.append(
                requests.get(
                    f"{base}/", headers={"x-amzn-oidc-data": signer.token()}, timeout=10
                ).status_code
            )
        return statuses

    def binder_warm_up(base: str) -> list[int]:
        statuses = []
        for i in range(10):
            # Unknown sessions: the binder verifies the header, checks the table and refuses.
            statuses.append(
                requests.get(
                    f"{base}/oauth2/session-binding",
                    params={"session_id": f"urn:ietf:params:oauth:request_uri:bench-{i}"},
                    headers={"x-amzn-oidc-data": signer.token()},
                    timeout=10,
                ).status_code
            )
        return statuses

    print("RSS of one gunicorn worker after warm-up (VmRSS)  (target <= 80 MB)")
    agent = _gunicorn_worker_rss("containers/agent", "agent_app.wsgi:app", base_env, agent_warm_up)
    print(f"  agent:  {agent}")
    binder = _gunicorn_worker_rss(
        "containers/binder", "binder_app.wsgi:app", base_env, binder_warm_up
    )
    print(f"  binder: {binder}")


def main() -> int:
    _quiet()
    signer = AlbSigner()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    moto_url = "http://{}:{}".format(*moto.get_host_and_port())
    try:
        with (
            key_endpoint(signer) as keys,
            RecordingAgentCore(fetch_delay=0.05) as agentcore,
            FakeGitHub() as github,
        ):
            github.accounts["ext-token-alice-fixture"] = "alice"
            environ = agent_environ(keys.url, _create_table(moto_url), github.url)
            header = {"x-amzn-oidc-data": signer.token("alice-sub-0001")}
            bench_alb_verify(signer, keys.url)
            print()
            bench_calls_per_turn(environ, agentcore.url, moto_url, header)
            print()
            bench_concurrent_fetches(environ, agentcore.url, moto_url, header)
            print()
            bench_rss(environ, agentcore.url, moto_url, signer)
    finally:
        moto.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
