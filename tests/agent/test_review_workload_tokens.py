"""Review: the workload token cache never hands one user's token to another."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from agent_app.workload_tokens import WorkloadTokenCache

# Ids that a careless cache key (lower-casing, NFC/NFKC normalising, prefix matching, stripping)
# would merge; AgentCore treats each as a different user.
LOOKALIKES = [
    "entra+alice",
    "entra+Alice",
    "entra+ALICE",
    "entra+alice2",
    "entra+alic",
    "entra+ali\u0301ce",
    "entra+al\u00edce",
    "entra+\uff41lice",
    "entra+alice ",
]


def test_lookalike_user_ids_each_get_their_own_token_under_concurrency():
    release = threading.Event()

    def fetch(user_id: str) -> str:
        release.wait(5)
        return f"wat-for-{user_id}"

    cache = WorkloadTokenCache(fetch, ttl_seconds=300)
    with ThreadPoolExecutor(max_workers=len(LOOKALIKES) * 3) as pool:
        futures = {(user, i): pool.submit(cache.get, user) for user in LOOKALIKES for i in range(3)}
        threading.Timer(0.2, release.set).start()
        tokens = {key: f.result(timeout=10) for key, f in futures.items()}

    for (user, _), token in tokens.items():
        assert token.value == f"wat-for-{user}"
    for user in LOOKALIKES:
        assert cache.get(user).value == f"wat-for-{user}"
    assert len(cache) == len(LOOKALIKES)
