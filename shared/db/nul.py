"""U+0000, the one character PostgreSQL's ``text`` and ``jsonb`` cannot hold.

Input from our own clients that carries it is refused with a clear 400 (before any side effect,
so a write never half-happens); records indexed from the network keep everything but the NUL, so
a post is shown rather than lost. A NUL that still reaches the database is recognised by the
SQLSTATE it raises and answered the same way.
"""

from __future__ import annotations

from typing import Any

from shared.errors import ApiError

NUL = "\x00"
# character_not_in_repertoire (text parameters), untranslatable_character (jsonb's \u0000).
REFUSED = frozenset({"22021", "22P05"})


def has_nul(value: Any) -> bool:
    """Whether a decoded JSON value holds U+0000 in any string or key."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(NUL in key or has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(has_nul(item) for item in value)
    return False


def strip_nul(value: Any) -> Any:
    """A decoded JSON value with U+0000 removed from every string and key (others untouched)."""
    if isinstance(value, str):
        return value.replace(NUL, "")
    if isinstance(value, dict):
        return {key.replace(NUL, ""): strip_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [strip_nul(item) for item in value]
    return value


def nul_error() -> ApiError:
    """400 for input holding U+0000."""
    return ApiError(400, "unsupported_character", "Text must not contain the NUL character (U+0000).")


def is_nul_refusal(exc: BaseException) -> bool:
    """Whether ``exc`` (asyncpg's, or SQLAlchemy's wrapping it) is PostgreSQL refusing a NUL."""
    seen: set[int] = set()
    pending: list[object] = [exc]
    while pending:
        error = pending.pop()
        if not isinstance(error, BaseException) or id(error) in seen:
            continue
        seen.add(id(error))
        if getattr(error, "sqlstate", None) in REFUSED:
            return True
        pending += [getattr(error, "orig", None), error.__cause__]
    return False
