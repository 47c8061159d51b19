"""Workload access tokens, one per user, cached and fetched at most once at a time.

``GetWorkloadAccessTokenForUserId`` would otherwise run on every chat turn. The cache is
per task and holds nothing another task needs: a task that has never seen the user simply
fetches a token of its own. It is bounded (LRU) so a stream of users cannot grow memory, and
concurrent requests of one user wait for the one fetch in flight instead of each starting one.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

# How long a request waits for another thread's fetch of the same user's token. botocore's
# own timeouts and retries bound the fetch well below this.
_SHARED_FETCH_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class WorkloadToken:
    """A workload access token and how it was obtained. Never printed in full."""

    value: str = field(repr=False)
    source: str  # "cache", "fetched" or "shared" (another request's fetch)

    def __repr__(self) -> str:
        return f"WorkloadToken(value=<present>, source={self.source!r})"


class WorkloadTokenCache:
    def __init__(
        self,
        fetch: Callable[[str], str],
        *,
        ttl_seconds: float,
        max_entries: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._fetch = fetch
        self._ttl = ttl_seconds
        self._max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._in_flight: dict[str, Future[str]] = {}

    def get(self, user_id: str) -> WorkloadToken:
        with self._lock:
            entry = self._entries.get(user_id)
            if entry is not None and entry[1] > self._clock():
                self._entries.move_to_end(user_id)
                return WorkloadToken(entry[0], "cache")
            pending = self._in_flight.get(user_id)
            leader = pending is None
            if leader:
                pending = Future()
                self._in_flight[user_id] = pending
        assert pending is not None
        if not leader:
            return WorkloadToken(pending.result(timeout=_SHARED_FETCH_WAIT_SECONDS), "shared")

        try:
            value = self._fetch(user_id)
        except BaseException as exc:
            # Waiters see the same failure; the next request starts a fresh fetch.
            with self._lock:
                del self._in_flight[user_id]
            pending.set_exception(exc)
            raise
        with self._lock:
            self._entries[user_id] = (value, self._clock() + self._ttl)
            self._entries.move_to_end(user_id)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
            del self._in_flight[user_id]
        pending.set_result(value)
        return WorkloadToken(value, "fetched")

    def invalidate(self, user_id: str, token: WorkloadToken) -> None:
        """Drop ``token`` after AgentCore rejected it, unless a newer one already replaced it."""
        with self._lock:
            entry = self._entries.get(user_id)
            if entry is not None and hmac.compare_digest(entry[0], token.value):
                del self._entries[user_id]

    def __len__(self) -> int:
        return len(self._entries)
