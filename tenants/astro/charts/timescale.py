"""Time scales: Julian days from UTC instants and ΔT (TT − UT) for 1900–2100."""

from __future__ import annotations

from datetime import UTC, datetime

UNIX_EPOCH_JD = 2440587.5
J2000 = 2451545.0
FIRST_YEAR = 1900
LAST_YEAR = 2100

# ΔT in seconds at 1 January of every fifth year, 1900–2025: observed values as published in
# the Astronomical Almanac and by the IERS (TT − UT1 = 32.184 s + (TAI − UTC) − (UT1 − UTC)).
_DELTA_T = (
    -2.7, 3.9, 10.5, 17.2, 21.2, 23.6, 24.0, 23.9, 24.3, 26.8, 29.2, 31.1, 33.2,
    35.7, 40.2, 45.5, 50.5, 54.3, 56.9, 60.8, 63.8, 64.7, 66.1, 67.6, 69.4, 69.1,
)  # fmt: skip
_STEP = 5
_TABLE_END = FIRST_YEAR + _STEP * (len(_DELTA_T) - 1)
# Beyond the observations ΔT is a forecast. The Earth's rotation has barely slowed since 2020,
# so we continue from the last value with no present rate plus the long-term quadratic
# braking of tidal friction (32.5 s per century², Stephenson, Morrison & Hohenkerk 2016).
_TIDAL = 32.5


def julian_day(moment: datetime) -> float:
    """Julian day (UT) of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: a birth moment must carry its UTC offset")
    return UNIX_EPOCH_JD + moment.astimezone(UTC).timestamp() / 86400.0


def decimal_year(jd_ut: float) -> float:
    """Calendar year with fraction (Julian years from J2000 are close enough for ΔT)."""
    return 2000.0 + (jd_ut - J2000) / 365.25


def delta_t(jd_ut: float) -> float:
    """ΔT = TT − UT in seconds for a date in 1900–2100."""
    year = decimal_year(jd_ut)
    if not FIRST_YEAR - 1 <= year <= LAST_YEAR + 1:
        raise ValueError(f"year {year:.0f} is outside {FIRST_YEAR}–{LAST_YEAR}")
    if year >= _TABLE_END:
        return _DELTA_T[-1] + _TIDAL * ((year - _TABLE_END) / 100.0) ** 2
    position = max(0.0, (year - FIRST_YEAR) / _STEP)
    index = min(int(position), len(_DELTA_T) - 2)
    fraction = position - index
    return _DELTA_T[index] + fraction * (_DELTA_T[index + 1] - _DELTA_T[index])


def centuries_tt(jd_ut: float) -> float:
    """Julian centuries of Terrestrial Time since J2000."""
    return (jd_ut + delta_t(jd_ut) / 86400.0 - J2000) / 36525.0
