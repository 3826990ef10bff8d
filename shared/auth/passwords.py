"""argon2id password hashing, off the event loop (hashing costs tens of milliseconds)."""

from __future__ import annotations

import asyncio
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from shared.ratelimit import KeyedRateLimiter


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    # RFC 9106's second recommended option, with memory reduced for a 2 GB box: 19 MiB, t=2.
    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


async def hash_password(password: str) -> str:
    """An argon2id hash string."""
    return await asyncio.to_thread(_hasher().hash, password)


async def verify_password(stored: str, password: str) -> bool:
    """True when ``password`` matches ``stored``; never raises for a bad or foreign hash."""

    def check() -> bool:
        try:
            return _hasher().verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


_DUMMY: list[str] = []


async def burn_verify(password: str) -> None:
    """Spend a verification's time for an unknown account, so timing tells no account apart."""
    if not _DUMMY:
        _DUMMY.append(await hash_password("onebox-timing-equaliser"))
    await verify_password(_DUMMY[0], password)


async def check_password(limiter: KeyedRateLimiter, key: str, stored: str | None, given: str, *, too_many: str) -> bool:
    """Whether ``given`` matches ``stored``, counted as one guess against ``key``'s budget.

    Raises ``limiter``'s 429 (with ``too_many``) once the budget is spent. With no stored hash (an
    unknown account, or one without a password) a verification's time is spent anyway, so timing
    tells no account apart. A right password gives the budget back.
    """
    limiter.hit(key, too_many)
    if stored is None:
        await burn_verify(given)
        return False
    if not await verify_password(stored, given):
        return False
    limiter.reset(key)
    return True
