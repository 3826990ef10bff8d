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


def concurrent_change() -> ApiError:
    """503 with Retry-After for a transaction aborted by a concurrent one: the client tries again."""
    return ApiError(
        503,
        "concurrent_change",
        "A change made at the same moment got in the way; try again.",
        headers={"Retry-After": "1"},
    )
