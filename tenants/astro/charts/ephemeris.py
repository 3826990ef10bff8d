"""Apparent geocentric longitudes of the nine grahas, sidereal (Lahiri).

The planets come from PyEphem (MIT licence; VSOP87 planetary theory and the ELP 2000-82 lunar
theory compiled in, nothing downloaded). It is imported on the first chart, not at start-up, so
a gateway that never draws a chart never pays for it. PyEphem applies its own ΔT; we shift the
instant we hand it so that the dynamical time it computes for equals ours.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from tenants.astro.charts.ayanamsa import lahiri_mean, mean_obliquity, nutation
from tenants.astro.charts.timescale import centuries_tt, delta_t

PLANETS = ("Sun", "Moon", "Mars", "Mercury", "Jupiter", "Venus", "Saturn")
BODIES = (*PLANETS, "Rahu", "Ketu")
_EPHEM_EPOCH_JD = 2415020.0  # PyEphem counts days from 1899 December 31, 12h
_SPEED_STEP = 1.0 / 24.0  # days either side for the daily motion


@dataclass(frozen=True)
class Frame:
    """The quantities of one instant every position needs."""

    jd_ut: float
    t: float  # Julian centuries TT since J2000
    dpsi: float  # nutation in longitude, degrees
    true_obliquity: float  # degrees
    ayanamsa: float  # mean Lahiri ayanamsa, degrees


@dataclass(frozen=True)
class Position:
    """A sidereal longitude (degrees) and daily motion (degrees/day)."""

    longitude: float
    speed: float

    @property
    def retrograde(self) -> bool:
        return self.speed < 0


def frame(jd_ut: float) -> Frame:
    """Nutation, obliquity and ayanamsa at ``jd_ut``."""
    t = centuries_tt(jd_ut)
    dpsi, deps = nutation(t)
    return Frame(jd_ut, t, dpsi, mean_obliquity(t) + deps, lahiri_mean(t))


def _bodies() -> dict[str, Any]:
    # Fresh objects each time: compute() mutates them, and charts may run on several threads.
    import ephem  # lazy: see the module docstring

    return {name: getattr(ephem, name)() for name in PLANETS}


def _ephem_date(jd_ut: float) -> float:
    import ephem

    date = jd_ut - _EPHEM_EPOCH_JD
    return date + (delta_t(jd_ut) - float(ephem.delta_t(date))) / 86400.0


def _tropical(f: Frame) -> dict[str, float]:
    """Apparent longitudes referred to the true equinox of date, degrees."""
    date = _ephem_date(f.jd_ut)
    eps = math.radians(f.true_obliquity)
    sin_e, cos_e = math.sin(eps), math.cos(eps)
    out: dict[str, float] = {}
    for name, body in _bodies().items():
        body.compute(date, epoch=date)
        ra, dec = float(body.g_ra), float(body.g_dec)
        lon = math.atan2(math.sin(ra) * cos_e + math.tan(dec) * sin_e, math.cos(ra))
        out[name] = math.degrees(lon) % 360.0
    return out


def mean_node(t: float) -> float:
    """Tropical longitude of the Moon's mean ascending node, mean equinox of date (ELP 2000-82)."""
    return (125.0445479 - 1934.1362891 * t + 0.0020754 * t * t + t**3 / 467441.0 - t**4 / 60616000.0) % 360.0


def _sidereal(f: Frame) -> dict[str, float]:
    true_ayanamsa = f.ayanamsa + f.dpsi
    out = {name: (lon - true_ayanamsa) % 360.0 for name, lon in _tropical(f).items()}
    # The mean node is already referred to the mean equinox, so only the mean ayanamsa applies.
    out["Rahu"] = (mean_node(f.t) - f.ayanamsa) % 360.0
    out["Ketu"] = (out["Rahu"] + 180.0) % 360.0
    return out


def _difference(a: float, b: float) -> float:
    return (a - b + 180.0) % 360.0 - 180.0


def sidereal_longitudes(jd_ut: float) -> dict[str, float]:
    """Sidereal longitude of every body at one instant (no motion)."""
    return _sidereal(frame(jd_ut))


def positions(jd_ut: float) -> dict[str, Position]:
    """Sidereal longitude and daily motion of every body (motion by central difference)."""
    now = _sidereal(frame(jd_ut))
    before = _sidereal(frame(jd_ut - _SPEED_STEP))
    after = _sidereal(frame(jd_ut + _SPEED_STEP))
    return {name: Position(now[name], _difference(after[name], before[name]) / (2 * _SPEED_STEP)) for name in BODIES}
