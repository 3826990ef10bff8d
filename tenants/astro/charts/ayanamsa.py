"""Nutation, obliquity and the Lahiri (Chitrapaksha) ayanamsa.

Sidereal longitude = apparent tropical longitude − true ayanamsa, where the true ayanamsa is
the mean ayanamsa plus the nutation in longitude. This is how the Swiss Ephemeris defines its
sidereal positions, so the two agree to a fraction of an arcsecond.
"""

from __future__ import annotations

import math

# IAU 1980 nutation, the 18 largest terms (Meeus, Astronomical Algorithms, table 22.A): the rest
# are each below 0.005″. Columns: multiples of D, M, M′, F, Ω; Δψ and Δε in 0.0001″ (+ per century).
_NUTATION = (
    (0, 0, 0, 0, 1, -171996, -174.2, 92025, 8.9),
    (-2, 0, 0, 2, 2, -13187, -1.6, 5736, -3.1),
    (0, 0, 0, 2, 2, -2274, -0.2, 977, -0.5),
    (0, 0, 0, 0, 2, 2062, 0.2, -895, 0.5),
    (0, 1, 0, 0, 0, 1426, -3.4, 54, -0.1),
    (0, 0, 1, 0, 0, 712, 0.1, -7, 0.0),
    (-2, 1, 0, 2, 2, -517, 1.2, 224, -0.6),
    (0, 0, 0, 2, 1, -386, -0.4, 200, 0.0),
    (0, 0, 1, 2, 2, -301, 0.0, 129, -0.1),
    (-2, -1, 0, 2, 2, 217, -0.5, -95, 0.3),
    (-2, 0, 1, 0, 0, -158, 0.0, 0, 0.0),
    (-2, 0, 0, 2, 1, 129, 0.1, -70, 0.0),
    (0, 0, -1, 2, 2, 123, 0.0, -53, 0.0),
    (2, 0, 0, 0, 0, 63, 0.0, 0, 0.0),
    (0, 0, 1, 0, 1, 63, 0.1, -33, 0.0),
    (2, 0, -1, 2, 2, -59, 0.0, 26, 0.0),
    (0, 0, -1, 0, 1, -58, -0.1, 32, 0.0),
    (0, 0, 1, 2, 1, -51, 0.0, 27, 0.0),
)

# Lahiri: the true ayanamsa was 23°15′00.658″ at 1956 March 21, 0h TT (Indian Calendar Reform
# Committee, as adopted by the Indian Astronomical Ephemeris).
_LAHIRI_T0 = (2435553.5 - 2451545.0) / 36525.0
_LAHIRI_TRUE_AT_T0 = 23.0 + 15.0 / 60.0 + 0.658 / 3600.0


def nutation(t: float) -> tuple[float, float]:
    """(Δψ, Δε) in degrees for ``t`` Julian centuries TT since J2000."""
    d = math.radians(297.85036 + 445267.111480 * t - 0.0019142 * t * t + t**3 / 189474.0)
    m = math.radians(357.52772 + 35999.050340 * t - 0.0001603 * t * t - t**3 / 300000.0)
    mp = math.radians(134.96298 + 477198.867398 * t + 0.0086972 * t * t + t**3 / 56250.0)
    f = math.radians(93.27191 + 483202.017538 * t - 0.0036825 * t * t + t**3 / 327270.0)
    om = math.radians(125.04452 - 1934.136261 * t + 0.0020708 * t * t + t**3 / 450000.0)
    dpsi = deps = 0.0
    for cd, cm, cmp, cf, com, s0, s1, c0, c1 in _NUTATION:
        arg = cd * d + cm * m + cmp * mp + cf * f + com * om
        dpsi += (s0 + s1 * t) * math.sin(arg)
        deps += (c0 + c1 * t) * math.cos(arg)
    return dpsi / 36_000_000.0, deps / 36_000_000.0


def mean_obliquity(t: float) -> float:
    """Mean obliquity of the ecliptic in degrees (IAU 2006)."""
    seconds = 84381.406 - 46.836769 * t - 0.0001831 * t * t + 0.00200340 * t**3 - 5.76e-7 * t**4
    return seconds / 3600.0


def general_precession(t: float) -> float:
    """Accumulated general precession in longitude since J2000, degrees (IAU 2006 p_A)."""
    seconds = 5028.796195 * t + 1.1054348 * t * t + 0.00007964 * t**3 - 0.000023857 * t**4
    return seconds / 3600.0


def lahiri_mean(t: float) -> float:
    """Mean Lahiri ayanamsa in degrees (without nutation)."""
    at_t0 = _LAHIRI_TRUE_AT_T0 - nutation(_LAHIRI_T0)[0]
    return at_t0 + general_precession(t) - general_precession(_LAHIRI_T0)
