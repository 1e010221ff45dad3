"""The rate limit's token bucket, on an injected clock: bursts, refill, the wait it
tells, keys apart, memory bounded."""

from __future__ import annotations

import pytest

from cloud.api.token_bucket import RateLimiter, RateLimitError


@pytest.mark.parametrize(
    ("rate", "burst", "times", "expected"),
    [
        # a full bucket lets a burst through, then tells the wait for the next token
        (1.0, 3, [0, 0, 0, 0], [0, 0, 0, 1.0]),
        (2.0, 1, [0, 0, 0.25], [0, 0.5, 0.25]),
        # refilled by the time that passed, never above the burst
        (1.0, 2, [0, 0, 10, 10, 10], [0, 0, 0, 0, 1.0]),
        (10.0, 1, [0, 0.1, 0.2, 0.25], [0, 0, 0, 0.05]),
        # a refused request takes nothing
        (1.0, 1, [0, 0.5, 1.0], [0, 0.5, 0]),
        # time going backwards (another clock) never adds tokens
        (1.0, 1, [5, 4, 5.5], [0, 1.0, 0.5]),
    ],
)
def test_the_bucket_lets_bursts_through_and_refills_at_the_rate(rate, burst, times, expected):
    limiter = RateLimiter(rate, burst)
    got = [limiter.take("t", now) for now in times]
    assert got == pytest.approx(expected)


def test_keys_have_their_own_buckets_and_memory_is_bounded():
    limiter = RateLimiter(1.0, 1, max_keys=2)
    assert limiter.take("a", 0) == 0 and limiter.take("b", 0) == 0
    assert limiter.take("a", 0) > 0
    assert limiter.take("c", 0) == 0  # forgets b, the least recently used
    assert len(limiter) == 2
    assert limiter.take("b", 0) == 0  # b starts full again


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (1, 0)])
def test_a_limit_that_cannot_be_is_refused(rate, burst):
    with pytest.raises(RateLimitError):
        RateLimiter(rate, burst)
