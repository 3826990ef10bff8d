"""Local birth time to UTC with the offset that held at that place on that date (``zoneinfo``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.errors import ApiError

NOON = time(12, 0)


@dataclass(frozen=True)
class LocalBirth:
    """The birth instant in UTC (local noon when the time is unknown) and its local day."""

    moment: datetime
    day_start: datetime
    day_end: datetime
    utc_offset: str
    time_known: bool


def format_offset(offset: timedelta | None) -> str:
    """``+05:30``, or ``+00:19:32`` for the local mean times of old."""
    seconds = int((offset or timedelta()).total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ApiError(422, "unknown_timezone", f"The time zone {name!r} is not known.") from None


def _resolve(local: datetime, fold: int | None) -> datetime:
    """The aware local time, refusing wall times a clock change skipped or repeated without a choice."""
    first, second = local.replace(fold=0), local.replace(fold=1)
    if first.astimezone(UTC).astimezone(local.tzinfo).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise ApiError(
            422,
            "nonexistent_local_time",
            "The clocks skipped this local time that night (a daylight-saving change); check the time.",
        )
    if first.utcoffset() != second.utcoffset() and fold is None:
        raise ApiError(
            409,
            "ambiguous_local_time",
            "This local time happened twice that night (clocks went back); send fold 0 for the first, 1 for "
            "the second.",
            details={
                "candidates": [
                    {"fold": f, "utc_offset": format_offset(d.utcoffset()), "utc": d.astimezone(UTC).isoformat()}
                    for f, d in ((0, first), (1, second))
                ]
            },
        )
    return second if fold == 1 else first


def future_birth() -> ApiError:
    """422 for a birth that hasn't happened yet."""
    return ApiError(422, "future_birth", "The birth date and time are in the future.")


def to_utc(birth_date: date, birth_time: time | None, zone_name: str, fold: int | None, now: datetime) -> LocalBirth:
    """Convert a local birth date and time (None: unknown) at a time zone, refusing future births."""
    if birth_date > now.date() + timedelta(days=1):
        # Later than tomorrow anywhere (UTC+14): future, and 9999-12-31 has no next day to compute.
        raise future_birth()
    zone = _zone(zone_name)
    day_start = datetime.combine(birth_date, time(0, 0), tzinfo=zone)
    day_end = datetime.combine(birth_date + timedelta(days=1), time(0, 0), tzinfo=zone)
    local = _resolve(datetime.combine(birth_date, birth_time or NOON, tzinfo=zone), fold)
    moment = local.astimezone(UTC)
    if (moment if birth_time is not None else day_start.astimezone(UTC)) > now:
        raise future_birth()
    return LocalBirth(
        moment=moment,
        day_start=day_start.astimezone(UTC),
        day_end=day_end.astimezone(UTC),
        utc_offset=format_offset(local.utcoffset()),
        time_known=birth_time is not None,
    )
