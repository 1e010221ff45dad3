"""Rate limits per token: a token bucket per key. Pure (the caller passes the time).

A key's bucket holds at most ``burst`` requests and refills at ``rate`` per second;
a request takes one. :meth:`RateLimiter.take` answers 0 when the request may go, or
how many seconds until it could (the ``Retry-After``). At most ``max_keys`` buckets
are kept, the least recently used forgotten first (a forgotten key starts full
again), so memory stays bounded whatever the callers send.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


class RateLimitError(ValueError):
    """A rate or burst that cannot be a limit."""


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    def __init__(self, rate: float, burst: int, *, max_keys: int = 10_000) -> None:
        if rate <= 0 or burst < 1 or max_keys < 1:
            raise RateLimitError(
                f"rate limit: rate {rate} must be > 0, burst {burst} and max_keys {max_keys} >= 1"
            )
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str, now: float) -> float:
        """Take one request of ``key``'s bucket at ``now`` (seconds, any monotonic
        origin): 0.0 when it may go, else the seconds until it may."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(float(self.burst), now)
            self._buckets[key] = bucket
            self._evict()
        else:
            elapsed = max(0.0, now - bucket.at)
            bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate)
            bucket.at = max(bucket.at, now)
            self._buckets.move_to_end(key)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def _evict(self) -> None:
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)  # the least recently used key

    def __len__(self) -> int:
        return len(self._buckets)
