"""SQLSTATE codes read off PostgreSQL's errors, through the wrappers that carry them.

asyncpg raises errors with ``sqlstate``; SQLAlchemy wraps them (``orig``) and code re-raising
them chains them (``__cause__``), so every layer is looked at.
"""

from __future__ import annotations

from collections.abc import Iterator

from shared.errors import ApiError

# serialization_failure, deadlock_detected: PostgreSQL aborted one of two transactions that got
# in each other's way; run again, it succeeds. Not the client's fault, and not a bug either.
TRANSIENT = frozenset({"40001", "40P01"})
# foreign_key_violation: a row the write refers to was deleted by a transaction that committed
# after the request looked it up (an account deleted while another of its requests writes).
VANISHED = "23503"


def sqlstates(exc: BaseException) -> Iterator[str]:
    """Every SQLSTATE in ``exc`` and the errors it wraps or was raised from."""
    seen: set[int] = set()
    pending: list[object] = [exc]
    while pending:
        error = pending.pop()
        if not isinstance(error, BaseException) or id(error) in seen:
            continue
        seen.add(id(error))
        state = getattr(error, "sqlstate", None)
        if isinstance(state, str):
            yield state
        pending += [getattr(error, "orig", None), error.__cause__]


def is_transient(exc: BaseException) -> bool:
    """Whether PostgreSQL aborted the transaction for a concurrent one (a retry would succeed)."""
    return any(state in TRANSIENT for state in sqlstates(exc))


def lost_race(exc: BaseException) -> ApiError | None:
    """The answer to a transaction that lost a race with a concurrent one, or None (then it is a bug).

    Aborted for a concurrent transaction: 503, a retry succeeds. Refused because a row it refers to
    was deleted meanwhile: 409, a retry would not succeed, the client reloads. Handlers that can say
    which row (the caller's own account: 401) catch it first; this is the answer for the rest.
    """
    if is_transient(exc):
        return concurrent_change()
    if VANISHED in sqlstates(exc):
        return ApiError(409, "conflict", "Something this change refers to was deleted at the same moment; reload.")
    return None


def concurrent_change() -> ApiError:
    """503 with Retry-After for a transaction aborted by a concurrent one: the client tries again."""
    return ApiError(
        503,
        "concurrent_change",
        "A change made at the same moment got in the way; try again.",
        headers={"Retry-After": "1"},
    )
