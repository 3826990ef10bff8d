"""Password guesses: argon2id hashes, and each guess counted against the account's budget."""

from __future__ import annotations

import pytest

from shared.auth.passwords import check_password, hash_password
from shared.errors import ApiError
from shared.ratelimit import KeyedRateLimiter

TOO_MANY = "Too many wrong passwords for this account; wait a while."


@pytest.fixture(scope="module")
async def stored() -> str:
    return await hash_password("correct horse battery staple")


async def test_right_password_passes_and_gives_the_budget_back(stored: str) -> None:
    limiter = KeyedRateLimiter(2, period=900)
    assert not await check_password(limiter, "ann", stored, "wrong", too_many=TOO_MANY)
    assert await check_password(limiter, "ann", stored, "correct horse battery staple", too_many=TOO_MANY)
    # Both guesses were given back: two more wrong ones still answer False, not 429.
    assert not await check_password(limiter, "ann", stored, "wrong", too_many=TOO_MANY)
    assert not await check_password(limiter, "ann", stored, "wrong", too_many=TOO_MANY)


async def test_spent_budget_answers_429_even_for_the_right_password(stored: str) -> None:
    limiter = KeyedRateLimiter(2, period=900)
    for _ in range(2):
        assert not await check_password(limiter, "ann", stored, "wrong", too_many=TOO_MANY)
    with pytest.raises(ApiError) as refused:
        await check_password(limiter, "ann", stored, "correct horse battery staple", too_many=TOO_MANY)
    assert (refused.value.status, refused.value.message) == (429, TOO_MANY)
    assert int(refused.value.headers["Retry-After"]) >= 1
    # Another account's budget is its own.
    assert await check_password(limiter, "bob", stored, "correct horse battery staple", too_many=TOO_MANY)


async def test_no_stored_hash_is_a_counted_wrong_guess() -> None:
    limiter = KeyedRateLimiter(1, period=900)
    assert not await check_password(limiter, "nobody", None, "anything", too_many=TOO_MANY)
    with pytest.raises(ApiError) as refused:
        await check_password(limiter, "nobody", None, "anything", too_many=TOO_MANY)
    assert refused.value.status == 429


async def test_a_foreign_or_broken_hash_is_wrong_not_an_error() -> None:
    limiter = KeyedRateLimiter(5, period=900)
    assert not await check_password(limiter, "ann", "$2b$12$notargon", "x", too_many=TOO_MANY)
    assert not await check_password(limiter, "ann", "", "x", too_many=TOO_MANY)
