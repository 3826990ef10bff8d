from __future__ import annotations

import pytest

from shared.errors import ApiError
from shared.ratelimit import KeyedRateLimiter


def test_bucket_allows_burst_then_refuses_with_retry_after() -> None:
    limiter = KeyedRateLimiter(3, period=60)
    for _ in range(3):
        limiter.hit("k")
    with pytest.raises(ApiError) as info:
        limiter.hit("k")
    assert info.value.status == 429 and int(info.value.headers["Retry-After"]) >= 1
    limiter.hit("other")  # keys are independent
    limiter.reset("k")
    limiter.hit("k")


def test_memory_is_bounded() -> None:
    limiter = KeyedRateLimiter(1, max_keys=100)
    for i in range(1000):
        limiter.allow(f"ip-{i}")
    assert len(limiter._buckets) == 100
