"""Sidereal time, the ascendant and whole-sign houses."""

from __future__ import annotations

import math

from tenants.astro.charts.ephemeris import Frame
from tenants.astro.charts.timescale import J2000


def apparent_sidereal_time(f: Frame) -> float:
    """Greenwich apparent sidereal time in degrees (IAU 1982 mean time + equation of the equinoxes)."""
    d = f.jd_ut - J2000
    t = d / 36525.0
    gmst = 280.46061837 + 360.98564736629 * d + 0.000387933 * t * t - t**3 / 38710000.0
    return (gmst + f.dpsi * math.cos(math.radians(f.true_obliquity))) % 360.0


def ascendant(f: Frame, latitude: float, longitude: float) -> float:
    """Sidereal longitude of the ascendant (degrees) for a place (degrees, east positive)."""
    ramc = math.radians(apparent_sidereal_time(f) + longitude)
    eps = math.radians(f.true_obliquity)
    phi = math.radians(latitude)
    tropical = math.degrees(
        math.atan2(math.cos(ramc), -(math.sin(ramc) * math.cos(eps) + math.tan(phi) * math.sin(eps)))
    )
    return (tropical - f.ayanamsa - f.dpsi) % 360.0


def whole_sign_house(sign: int, ascendant_sign: int) -> int:
    """House 1–12 of a sign counted from the ascendant's sign (whole-sign houses)."""
    return (sign - ascendant_sign) % 12 + 1
