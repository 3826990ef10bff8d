"""In-memory token-bucket rate limiting, bounded in size (memory is the product)."""

from __future__ import annotations

import math
import time
from collections import OrderedDict

from shared.errors import ApiError


class KeyedRateLimiter:
    """``rate`` hits per ``period`` seconds per key, remembering at most ``max_keys`` keys."""

    def __init__(self, rate: int, period: float = 60.0, max_keys: int = 20_000) -> None:
        self.capacity = float(max(rate, 1))
        self.refill = self.capacity / period
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, key: str, cost: float = 1.0) -> float:
        """0.0 when allowed (and counted); else the seconds until the next hit would be."""
        now = time.monotonic()
        tokens, last = self._buckets.pop(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.refill)
        wait = 0.0
        if tokens >= cost:
            tokens -= cost
        else:
            wait = (cost - tokens) / self.refill
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait

    def hit(self, key: str, message: str = "Too many attempts; slow down.") -> None:
        """Count a hit or raise 429 with Retry-After."""
        wait = self.allow(key)
        if wait > 0:
            retry = str(max(1, math.ceil(wait)))
            raise ApiError(429, "rate_limited", message, headers={"Retry-After": retry})

    def reset(self, key: str) -> None:
        """Forget a key (e.g. after a successful login)."""
        self._buckets.pop(key, None)
