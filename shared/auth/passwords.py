"""argon2id password hashing, off the event loop (hashing costs tens of milliseconds)."""

from __future__ import annotations

import asyncio
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


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
