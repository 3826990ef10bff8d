"""Local birth times to UTC: daylight-saving changes, historical offsets, unknown times, the future."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from shared.errors import ApiError
from tenants.astro.birthtime import to_utc

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_summer_and_winter_time() -> None:
    summer = to_utc(date(1990, 7, 1), time(12, 0), "Europe/Berlin", None, NOW)
    winter = to_utc(date(1990, 1, 1), time(12, 0), "Europe/Berlin", None, NOW)
    assert summer.moment == datetime(1990, 7, 1, 10, 0, tzinfo=UTC) and summer.utc_offset == "+02:00"
    assert winter.moment == datetime(1990, 1, 1, 11, 0, tzinfo=UTC) and winter.utc_offset == "+01:00"


def test_the_hour_skipped_in_spring_is_refused() -> None:
    with pytest.raises(ApiError) as caught:
        to_utc(date(2021, 3, 28), time(2, 30), "Europe/Berlin", None, NOW)
    assert caught.value.status == 422 and caught.value.code == "nonexistent_local_time"


def test_the_hour_repeated_in_autumn_needs_a_choice() -> None:
    with pytest.raises(ApiError) as caught:
        to_utc(date(2021, 10, 31), time(2, 30), "Europe/Berlin", None, NOW)
    assert caught.value.status == 409 and caught.value.code == "ambiguous_local_time"
    assert [c["utc_offset"] for c in caught.value.details["candidates"]] == ["+02:00", "+01:00"]
    first = to_utc(date(2021, 10, 31), time(2, 30), "Europe/Berlin", 0, NOW)
    second = to_utc(date(2021, 10, 31), time(2, 30), "Europe/Berlin", 1, NOW)
    assert first.moment == datetime(2021, 10, 31, 0, 30, tzinfo=UTC)
    assert second.moment == datetime(2021, 10, 31, 1, 30, tzinfo=UTC)


def test_historical_offsets() -> None:
    # Amsterdam kept its own mean time (+00:19:32, +01:19:32 in summer) until 1937.
    amsterdam = to_utc(date(1935, 6, 1), time(12, 0), "Europe/Amsterdam", None, NOW)
    assert amsterdam.utc_offset == "+01:19:32"
    assert amsterdam.moment == datetime(1935, 6, 1, 10, 40, 28, tzinfo=UTC)
    # India ran on war time (+06:30) from 1942 to 1945.
    kolkata = to_utc(date(1944, 3, 1), time(6, 30), "Asia/Kolkata", None, NOW)
    assert kolkata.utc_offset == "+06:30" and kolkata.moment == datetime(1944, 3, 1, 0, 0, tzinfo=UTC)
    # Before 1972 Liberia was at −00:44:30.
    monrovia = to_utc(date(1960, 1, 1), time(0, 0), "Africa/Monrovia", None, NOW)
    assert monrovia.utc_offset == "-00:44:30"


def test_unknown_time_uses_local_noon_and_the_local_day() -> None:
    birth = to_utc(date(1980, 5, 17), None, "Asia/Tokyo", None, NOW)
    assert birth.time_known is False
    assert birth.moment == datetime(1980, 5, 17, 3, 0, tzinfo=UTC)
    assert birth.day_start == datetime(1980, 5, 16, 15, 0, tzinfo=UTC)
    assert birth.day_end == datetime(1980, 5, 17, 15, 0, tzinfo=UTC)


def test_future_births_are_refused() -> None:
    with pytest.raises(ApiError) as caught:
        to_utc(date(2026, 1, 1), time(23, 0), "UTC", None, NOW)
    assert caught.value.code == "future_birth"
    # Today, time unknown, is fine in a zone where the day has begun.
    assert to_utc(date(2026, 1, 1), None, "Pacific/Kiritimati", None, NOW).time_known is False


def test_unknown_zone() -> None:
    with pytest.raises(ApiError) as caught:
        to_utc(date(2000, 1, 1), time(0, 0), "Mars/Olympus_Mons", None, NOW)
    assert caught.value.status == 422 and caught.value.code == "unknown_timezone"
