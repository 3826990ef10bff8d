"""Signs, nakshatras with their padas, and navamsa (D9) signs of a sidereal longitude."""

from __future__ import annotations

SIGNS = (
    "Aries", "Taurus", "Gemini", "Cancer", "Leo", "Virgo",
    "Libra", "Scorpio", "Sagittarius", "Capricorn", "Aquarius", "Pisces",
)  # fmt: skip
NAKSHATRAS = (
    "Ashwini", "Bharani", "Krittika", "Rohini", "Mrigashira", "Ardra", "Punarvasu", "Pushya",
    "Ashlesha", "Magha", "Purva Phalguni", "Uttara Phalguni", "Hasta", "Chitra", "Swati",
    "Vishakha", "Anuradha", "Jyeshtha", "Mula", "Purva Ashadha", "Uttara Ashadha", "Shravana",
    "Dhanishta", "Shatabhisha", "Purva Bhadrapada", "Uttara Bhadrapada", "Revati",
)  # fmt: skip
NAKSHATRA_SPAN = 360.0 / 27.0  # 13°20′
PADA_SPAN = NAKSHATRA_SPAN / 4.0  # 3°20′, also the span of one navamsa

# Where a sign's nine navamsas start counting: fire signs from Aries, earth from Capricorn,
# air from Libra, water from Cancer (the element cycles fire, earth, air, water from Aries).
_NAVAMSA_START = {"fire": 0, "earth": 9, "air": 6, "water": 3}
_ELEMENTS = ("fire", "earth", "air", "water")


def sign_index(longitude: float) -> int:
    """0 (Aries) … 11 (Pisces)."""
    return int(longitude % 360.0 // 30.0)


def element(sign: int) -> str:
    """The element of a sign index."""
    return _ELEMENTS[sign % 4]


def nakshatra_index(longitude: float) -> int:
    """0 (Ashwini) … 26 (Revati)."""
    return min(int(longitude % 360.0 / NAKSHATRA_SPAN), 26)


def pada(longitude: float) -> int:
    """Quarter 1–4 of the nakshatra."""
    return min(int(longitude % 360.0 % NAKSHATRA_SPAN / PADA_SPAN), 3) + 1


def navamsa_sign(longitude: float) -> int:
    """Sign index of the navamsa (D9) the longitude falls in, by the element rule."""
    sign = sign_index(longitude)
    part = min(int(longitude % 30.0 / PADA_SPAN), 8)
    return (_NAVAMSA_START[element(sign)] + part) % 12


def describe(longitude: float) -> dict[str, object]:
    """Sign, degree in sign, nakshatra and pada of a sidereal longitude."""
    sign = sign_index(longitude)
    nak = nakshatra_index(longitude)
    return {
        "longitude": round(longitude % 360.0, 6),
        "sign": SIGNS[sign],
        "sign_index": sign,
        "degree": round(longitude % 30.0, 6),
        "nakshatra": NAKSHATRAS[nak],
        "nakshatra_index": nak,
        "pada": pada(longitude),
    }
