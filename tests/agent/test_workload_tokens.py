"""The per-user workload token cache: TTL, bound, single flight, and safe invalidation."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from agent_app.workload_tokens import WorkloadTokenCache

from tests.agent.conftest import agent_environ, fake_session, record_calls
from tests.agent.fakes import RecordingAgentCore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def counting_fetch():
    calls: list[str] = []

    def fetch(user_id: str) -> str:
        calls.append(user_id)
        return f"wat-{user_id}-{len(calls)}"

    return fetch, calls


def test_token_is_reused_until_its_ttl_and_then_fetched_again():
    fetch, calls = counting_fetch()
    clock = Clock()
    cache = WorkloadTokenCache(fetch, ttl_seconds=300, clock=clock)

    first = cache.get("entra+alice")
    clock.now += 299
    second = cache.get("entra+alice")
    clock.now += 2
    third = cache.get("entra+alice")

    assert (first.source, second.source, third.source) == ("fetched", "cache", "fetched")
    assert first.value == second.value != third.value
    assert calls == ["entra+alice", "entra+alice"]


def test_cache_is_bounded_and_evicts_the_least_recently_used_user():
    fetch, _ = counting_fetch()
    cache = WorkloadTokenCache(fetch, ttl_seconds=300, max_entries=2)

    cache.get("a")
    cache.get("b")
    cache.get("a")  # a is now the most recent
    cache.get("c")  # evicts b

    assert len(cache) == 2
    assert cache.get("a").source == "cache"
    assert cache.get("b").source == "fetched"


def test_fifty_concurrent_requests_of_one_user_share_one_fetch():
    release = threading.Event()
    calls: list[str] = []

    def slow_fetch(user_id: str) -> str:
        calls.append(user_id)
        release.wait(5)
        return "wat-shared"

    cache = WorkloadTokenCache(slow_fetch, ttl_seconds=300)
    with ThreadPoolExecutor(max_workers=50) as pool:
        futures = [pool.submit(cache.get, "entra+alice") for _ in range(50)]
        threading.Timer(0.2, release.set).start()
        tokens = [f.result(timeout=10) for f in futures]

    assert calls == ["entra+alice"]
    assert {t.value for t in tokens} == {"wat-shared"}
    assert sorted(t.source for t in tokens).count("fetched") == 1


def test_failed_fetch_reaches_every_waiter_and_the_next_request_tries_again():
    attempts: list[str] = []
    release = threading.Event()

    def failing_then_ok(user_id: str) -> str:
        attempts.append(user_id)
        if len(attempts) == 1:
            release.wait(5)
            raise RuntimeError("AgentCore unavailable")
        return "wat-2"

    cache = WorkloadTokenCache(failing_then_ok, ttl_seconds=300)
    with ThreadPoolExecutor(max_workers=5) as pool:
        futures = [pool.submit(cache.get, "u") for _ in range(5)]
        threading.Timer(0.2, release.set).start()
        errors = [f.exception(timeout=10) for f in futures]

    assert all(isinstance(e, RuntimeError) for e in errors)
    assert cache.get("u").value == "wat-2"
    assert len(attempts) == 2


def test_invalidating_a_stale_token_keeps_a_newer_one():
    fetch, _ = counting_fetch()
    cache = WorkloadTokenCache(fetch, ttl_seconds=300)
    old = cache.get("u")
    cache.invalidate("u", old)
    new = cache.get("u")

    cache.invalidate("u", old)  # a late request that still held the old token

    assert cache.get("u").value == new.value
    assert cache.get("u").source == "cache"


@pytest.fixture
def recording_agentcore():
    with RecordingAgentCore(fetch_delay=0.2) as server:
        yield server


def test_fifty_concurrent_chat_requests_of_one_user_fetch_one_workload_token(
    keys, table, github, dynamodb, signer, recording_agentcore
):
    """Over real HTTP to a recording AgentCore: one fetch, then one token call per request."""
    from agent_app import create_app

    agentcore = fake_session().client("bedrock-agentcore", endpoint_url=recording_agentcore.url)
    calls = record_calls(agentcore)
    app = create_app(
        agent_environ(keys.url, table, github.url), agentcore=agentcore, dynamodb=dynamodb
    )
    header = {"x-amzn-oidc-data": signer.token()}

    def turn(_: int) -> int:
        return (
            app.test_client()
            .post("/api/chat", json={"message": "who am i"}, headers=header)
            .status_code
        )

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(turn, range(50)))

    assert statuses == [200] * 50
    assert recording_agentcore.count("GetWorkloadAccessTokenForUserId") == 1
    assert recording_agentcore.count("GetResourceOauth2Token") == 50
    assert [n for n, _ in calls].count("GetWorkloadAccessTokenForUserId") == 1
