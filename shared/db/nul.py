"""U+0000, the one character PostgreSQL's ``text`` and ``jsonb`` cannot hold.

Input from our own clients that carries it is refused with a clear 400 (before any side effect,
so a write never half-happens); records indexed from the network keep everything but the NUL, so
a post is shown rather than lost. A NUL that still reaches the database is recognised by the
SQLSTATE it raises and answered the same way.
"""

from __future__ import annotations

from typing import Any

from shared.db.sqlstate import sqlstates
from shared.errors import ApiError

NUL = "\x00"
# character_not_in_repertoire (text parameters), untranslatable_character (jsonb's \u0000).
REFUSED = frozenset({"22021", "22P05"})


def has_nul(value: Any) -> bool:
    """Whether a decoded JSON value holds U+0000 in any string or key.

    Walks with a stack, not recursion: JSON nested a thousand deep is valid, and must not raise.
    """
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if NUL in item:
                return True
        elif isinstance(item, dict):
            if any(NUL in key for key in item):
                return True
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def strip_nul(value: Any) -> Any:
    """A decoded JSON value with U+0000 removed from every string and key (others untouched)."""
    if isinstance(value, str):
        return value.replace(NUL, "")
    if not isinstance(value, dict | list):
        return value
    root: dict[str, Any] | list[Any] = {} if isinstance(value, dict) else []
    # (source, its copy): each copy is placed in its parent before it is filled, so order holds.
    pending: list[tuple[Any, Any]] = [(value, root)]
    while pending:
        source, target = pending.pop()
        if isinstance(source, dict):
            for key, item in source.items():
                target[key.replace(NUL, "")] = _copy(item, pending)
        else:
            target.extend(_copy(item, pending) for item in source)
    return root


def _copy(item: Any, pending: list[tuple[Any, Any]]) -> Any:
    """``item`` without NUL if a string, an empty container queued to fill if one, else itself."""
    if isinstance(item, str):
        return item.replace(NUL, "")
    if isinstance(item, dict | list):
        copy: dict[str, Any] | list[Any] = {} if isinstance(item, dict) else []
        pending.append((item, copy))
        return copy
    return item


def nul_error() -> ApiError:
    """400 for input holding U+0000."""
    return ApiError(400, "unsupported_character", "Text must not contain the NUL character (U+0000).")


def is_nul_refusal(exc: BaseException) -> bool:
    """Whether ``exc`` (asyncpg's, or SQLAlchemy's wrapping it) is PostgreSQL refusing a NUL."""
    return any(state in REFUSED for state in sqlstates(exc))
