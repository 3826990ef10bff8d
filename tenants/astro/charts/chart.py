"""A birth chart: D1 (rasi) and D9 (navamsa), with uncertainty when the birth time is unknown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tenants.astro.charts import ephemeris, houses, zodiac
from tenants.astro.charts.timescale import julian_day

CHART_VERSION = 1


@dataclass(frozen=True)
class Birth:
    """When and where: the instant (the local noon when the time is unknown) and the local day."""

    moment: datetime
    latitude: float
    longitude: float
    time_known: bool = True
    day_start: datetime | None = None  # first instant of the local birth date (unknown time only)
    day_end: datetime | None = None  # first instant of the next local date


def _body(name: str, pos: ephemeris.Position) -> dict[str, Any]:
    entry: dict[str, Any] = {"body": name, **zodiac.describe(pos.longitude)}
    entry["speed"] = round(pos.speed, 6)
    entry["retrograde"] = pos.retrograde
    return entry


def _uncertain(birth: Birth) -> dict[str, tuple[bool, bool, bool]]:
    """Per body: does its (sign, nakshatra, navamsa) change during the local birth date?

    Only the ends of the day are compared: over one day no graha crosses a boundary and
    comes back, so a change between the ends is the only way it can change.
    """
    if birth.time_known or birth.day_start is None or birth.day_end is None:
        return {name: (False, False, False) for name in ephemeris.BODIES}
    first = ephemeris.sidereal_longitudes(julian_day(birth.day_start))
    last = ephemeris.sidereal_longitudes(julian_day(birth.day_end))
    return {
        name: (
            zodiac.sign_index(first[name]) != zodiac.sign_index(last[name]),
            zodiac.nakshatra_index(first[name]) != zodiac.nakshatra_index(last[name]),
            zodiac.navamsa_sign(first[name]) != zodiac.navamsa_sign(last[name]),
        )
        for name in ephemeris.BODIES
    }


def compute_chart(birth: Birth) -> dict[str, Any]:
    """The chart document stored in ``chart_data``: D1 and D9 with the ayanamsa used."""
    jd = julian_day(birth.moment)
    frame = ephemeris.frame(jd)
    positions = ephemeris.positions(jd)
    uncertain = _uncertain(birth)
    asc_lon = houses.ascendant(frame, birth.latitude, birth.longitude) if birth.time_known else None
    asc_sign = zodiac.sign_index(asc_lon) if asc_lon is not None else None
    asc_d9 = zodiac.navamsa_sign(asc_lon) if asc_lon is not None else None

    d1: list[dict[str, Any]] = []
    d9: list[dict[str, Any]] = []
    for name in ephemeris.BODIES:
        pos = positions[name]
        sign_unsure, nakshatra_unsure, navamsa_unsure = uncertain[name]
        entry = _body(name, pos)
        entry["house"] = houses.whole_sign_house(entry["sign_index"], asc_sign) if asc_sign is not None else None
        entry["sign_uncertain"] = sign_unsure
        entry["nakshatra_uncertain"] = nakshatra_unsure
        d1.append(entry)
        nav = zodiac.navamsa_sign(pos.longitude)
        d9.append(
            {
                "body": name,
                "sign": zodiac.SIGNS[nav],
                "sign_index": nav,
                "house": houses.whole_sign_house(nav, asc_d9) if asc_d9 is not None else None,
                "sign_uncertain": navamsa_unsure,
            }
        )
    return {
        "version": CHART_VERSION,
        "ayanamsa": {"name": "lahiri", "degrees": round(frame.ayanamsa + frame.dpsi, 6)},
        "time_known": birth.time_known,
        "d1": {"ascendant": zodiac.describe(asc_lon) if asc_lon is not None else None, "bodies": d1},
        "d9": {
            "ascendant": {"sign": zodiac.SIGNS[asc_d9], "sign_index": asc_d9} if asc_d9 is not None else None,
            "bodies": d9,
        },
    }
