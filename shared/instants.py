"""Instants from client or network input, checked to be ones PostgreSQL and asyncpg can carry.

``9999-12-31T23:30:00-01:00`` is a valid ISO datetime, but its UTC value is in year 10000:
PostgreSQL stores it and asyncpg then cannot read it back (``OverflowError``). Converting to UTC
first finds it while the input can still be refused.
"""

from __future__ import annotations

from datetime import UTC, datetime


def as_utc(value: datetime) -> datetime:
    """``value`` (naive: taken as UTC) in UTC; ValueError when UTC puts it outside years 1-9999."""
    if value.tzinfo is UTC:  # as written ("Z"): already in range (the indexer's hot path)
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the instant is outside the years 1-9999 in UTC") from None
