"""Charts against the Swiss Ephemeris (pyswisseph, test-only): longitudes within 1′, signs exact."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
import swisseph as swe

from tenants.astro.charts import Birth, compute_chart, ephemeris, houses
from tenants.astro.charts.zodiac import navamsa_sign

ARCMINUTE = 1.0 / 60.0
SWE_IDS = {
    "Sun": swe.SUN,
    "Moon": swe.MOON,
    "Mars": swe.MARS,
    "Mercury": swe.MERCURY,
    "Jupiter": swe.JUPITER,
    "Venus": swe.VENUS,
    "Saturn": swe.SATURN,
    "Rahu": swe.MEAN_NODE,
}
# (UTC instant, latitude, longitude): spread over 1900–2100, both hemispheres, a Mercury and a
# Saturn retrograde, the turn of the century, and the ends of the supported range.
REFERENCE_BIRTHS = [
    (datetime(1900, 1, 1, 0, 0, tzinfo=UTC), 51.5, -0.13),
    (datetime(1917, 11, 7, 7, 45, tzinfo=UTC), 59.94, 30.31),
    (datetime(1947, 8, 14, 18, 30, tzinfo=UTC), 28.61, 77.21),
    (datetime(1969, 7, 20, 20, 17, tzinfo=UTC), 28.57, -80.65),
    (datetime(1984, 4, 2, 9, 5, tzinfo=UTC), -33.87, 151.21),
    (datetime(1991, 6, 18, 1, 40, tzinfo=UTC), 10.8, 76.97),
    (datetime(2000, 1, 1, 12, 0, tzinfo=UTC), 0.0, 0.0),
    (datetime(2012, 12, 21, 11, 11, tzinfo=UTC), 19.43, -99.13),
    (datetime(2024, 4, 8, 18, 18, tzinfo=UTC), 32.78, -96.8),
    (datetime(2055, 9, 30, 23, 59, tzinfo=UTC), -54.8, -68.3),
    (datetime(2100, 12, 31, 12, 0, tzinfo=UTC), 64.15, -21.94),
]


def _jd(moment: datetime) -> float:
    hours = moment.hour + moment.minute / 60 + moment.second / 3600
    return float(swe.julday(moment.year, moment.month, moment.day, hours))


def _reference(moment: datetime) -> dict[str, tuple[float, float]]:
    """Sidereal (Lahiri) longitude and speed of each body from the Swiss Ephemeris."""
    swe.set_sid_mode(swe.SIDM_LAHIRI)
    out: dict[str, tuple[float, float]] = {}
    for name, body in SWE_IDS.items():
        xx, _ = swe.calc_ut(_jd(moment), body, swe.FLG_MOSEPH | swe.FLG_SIDEREAL | swe.FLG_SPEED)
        out[name] = (xx[0], xx[3])
    out["Ketu"] = ((out["Rahu"][0] + 180.0) % 360.0, out["Rahu"][1])
    return out


def _gap(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


def _near_boundary(longitude: float, span: float, margin: float = 2.0 / 3600.0) -> bool:
    part = longitude % span
    return part < margin or span - part < margin


@pytest.mark.parametrize(("moment", "lat", "lon"), REFERENCE_BIRTHS)
def test_reference_birth_matches_swiss_ephemeris(moment: datetime, lat: float, lon: float) -> None:
    chart = compute_chart(Birth(moment, lat, lon))
    expected = _reference(moment)
    for body in chart["d1"]["bodies"]:
        ref_lon, ref_speed = expected[body["body"]]
        assert _gap(body["longitude"], ref_lon) < ARCMINUTE, body["body"]
        assert body["sign_index"] == int(ref_lon // 30)
        assert body["nakshatra_index"] == int(ref_lon // (360 / 27))
        assert body["pada"] == int(ref_lon % (360 / 27) // (360 / 108)) + 1
        assert body["retrograde"] == (ref_speed < 0)
    for body in chart["d9"]["bodies"]:
        ref_lon = expected[body["body"]][0]
        # The navamsa as a continuous count of 3°20′ parts: an independent form of the element rule.
        assert body["sign_index"] == int(ref_lon // (10 / 3)) % 12
    _, ascmc = swe.houses_ex(_jd(moment), lat, lon, b"W", swe.FLG_SIDEREAL)
    ascendant = chart["d1"]["ascendant"]
    assert _gap(ascendant["longitude"], ascmc[0]) < ARCMINUTE
    assert ascendant["sign_index"] == int(ascmc[0] // 30)
    for body in chart["d1"]["bodies"]:
        assert body["house"] == (body["sign_index"] - ascendant["sign_index"]) % 12 + 1


def test_every_body_within_an_arcminute_over_1900_to_2100() -> None:
    rng = random.Random(1900)
    start, span = (
        datetime(1900, 1, 1, tzinfo=UTC),
        (datetime(2101, 1, 1, tzinfo=UTC) - datetime(1900, 1, 1, tzinfo=UTC)),
    )
    worst: dict[str, float] = {}
    for _ in range(300):
        moment = start + span * rng.random()
        jd = _jd(moment) + moment.microsecond / 86_400_000_000
        mine = ephemeris.sidereal_longitudes(jd)
        swe.set_sid_mode(swe.SIDM_LAHIRI)
        for name, body in SWE_IDS.items():
            ref = swe.calc_ut(jd, body, swe.FLG_MOSEPH | swe.FLG_SIDEREAL)[0][0]
            worst[name] = max(worst.get(name, 0.0), _gap(mine[name], ref))
            if not _near_boundary(ref, 10 / 3):
                assert navamsa_sign(mine[name]) == int(ref // (10 / 3)) % 12
        lat, lon = rng.uniform(-60, 60), rng.uniform(-180, 180)
        _, ascmc = swe.houses_ex(jd, lat, lon, b"W", swe.FLG_SIDEREAL)
        worst["Ascendant"] = max(
            worst.get("Ascendant", 0.0), _gap(houses.ascendant(ephemeris.frame(jd), lat, lon), ascmc[0])
        )
    assert max(worst.values()) < ARCMINUTE, {k: round(v * 3600, 1) for k, v in worst.items()}


def test_lahiri_ayanamsa_matches_swiss_ephemeris_to_an_arcsecond() -> None:
    swe.set_sid_mode(swe.SIDM_LAHIRI)
    for year in range(1900, 2101, 25):
        jd = float(swe.julday(year, 6, 1, 0.0))
        theirs = swe.get_ayanamsa_ex_ut(jd, swe.FLG_MOSEPH)[1]
        frame = ephemeris.frame(jd)
        assert abs(frame.ayanamsa + frame.dpsi - theirs) < 1 / 3600, year


def test_navamsa_element_rule() -> None:
    # First navamsa of each sign: fire from Aries, earth from Capricorn, air from Libra, water from Cancer.
    starts = [navamsa_sign(sign * 30 + 0.1) for sign in range(12)]
    assert starts == [0, 9, 6, 3] * 3
    assert [navamsa_sign(0.1 + 10 / 3 * k) for k in range(9)] == list(range(9))  # Aries: Aries … Sagittarius
    assert navamsa_sign(59.9) == 5  # last ninth of Taurus: Capricorn + 8 = Virgo


def _moon_sign(moment: datetime) -> int:
    swe.set_sid_mode(swe.SIDM_LAHIRI)
    return int(swe.calc_ut(_jd(moment), swe.MOON, swe.FLG_MOSEPH | swe.FLG_SIDEREAL)[0][0] // 30)


def test_unknown_time_has_no_ascendant_and_flags_an_uncertain_moon() -> None:
    days = [datetime(2000, 1, 1, tzinfo=UTC) + timedelta(days=n) for n in range(10)]
    # Days (in UTC, the zone of this test) on which the Swiss Ephemeris's Moon keeps or changes sign.
    calm_day = next(d for d in days if _moon_sign(d) == _moon_sign(d + timedelta(days=1)))
    moving_day = next(d for d in days if _moon_sign(d) != _moon_sign(d + timedelta(days=1)))
    charts = {
        day: compute_chart(Birth(day + timedelta(hours=12), 48.85, 2.35, False, day, day + timedelta(days=1)))
        for day in (calm_day, moving_day)
    }
    for chart in charts.values():
        assert chart["time_known"] is False
        assert chart["d1"]["ascendant"] is None and chart["d9"]["ascendant"] is None
        assert all(b["house"] is None for b in chart["d1"]["bodies"] + chart["d9"]["bodies"])
    moons = {day: next(b for b in c["d1"]["bodies"] if b["body"] == "Moon") for day, c in charts.items()}
    assert moons[calm_day]["sign_uncertain"] is False
    assert moons[moving_day]["sign_uncertain"] is True
    # The Moon crosses a nakshatra about once a day: the flag must say whether it did.
    for day, moon in moons.items():
        swe.set_sid_mode(swe.SIDM_LAHIRI)
        ends = [
            swe.calc_ut(_jd(day + timedelta(days=k)), swe.MOON, swe.FLG_MOSEPH | swe.FLG_SIDEREAL)[0][0] for k in (0, 1)
        ]
        assert moon["nakshatra_uncertain"] == (int(ends[0] // (40 / 3)) != int(ends[1] // (40 / 3)))
    # A time-known chart never flags anything.
    known = compute_chart(Birth(moving_day + timedelta(hours=12), 48.85, 2.35))
    assert not any(b["sign_uncertain"] or b["nakshatra_uncertain"] for b in known["d1"]["bodies"])
