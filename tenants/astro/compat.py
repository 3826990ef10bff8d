"""Ashtakoota (guna milan): eight kootas from two Moons, 36 points at most.

Classically the count is made for a bride and a groom. The rules follow the common North
Indian practice; published tables disagree in places (Vashya, Gana), so each choice is
stated where it is made. Members of a community do not declare such roles, so
:func:`mutual` scores both orientations and keeps the better one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tenants.astro.charts.zodiac import NAKSHATRAS, SIGNS, nakshatra_index, sign_index

MAX_POINTS = 36
_VARNAS = ("Kshatriya", "Vaishya", "Shudra", "Brahmin")  # by element: fire, earth, air, water
_VARNA_RANK = {"Brahmin": 3, "Kshatriya": 2, "Vaishya": 1, "Shudra": 0}
_VASHYA_BY_SIGN = (
    "Chatushpada", "Chatushpada", "Manava", "Jalachara", "Vanachara", "Manava",
    "Manava", "Keeta", "Manava", "Chatushpada", "Manava", "Jalachara",
)  # fmt: skip
# Second halves: Sagittarius turns quadruped, Capricorn turns aquatic.
_VASHYA_SECOND_HALF = {8: "Chatushpada", 9: "Jalachara"}
_VASHYA_CONTROLLED = {  # (controller, controlled): one point
    ("Vanachara", "Manava"), ("Vanachara", "Jalachara"), ("Manava", "Chatushpada"), ("Manava", "Keeta"),
}  # fmt: skip
_VASHYA_PREY = {("Manava", "Jalachara"), ("Vanachara", "Chatushpada")}  # half a point
_TARA_BAD = {3, 5, 7}  # Vipat, Pratyari, Vadha
_YONI_OF = (0, 1, 2, 3, 3, 4, 5, 2, 5, 6, 6, 7, 8, 9, 8, 9, 10, 10, 4, 11, 12, 11, 13, 0, 13, 7, 1)
_YONIS = (
    "Horse", "Elephant", "Sheep", "Serpent", "Dog", "Cat", "Rat",
    "Cow", "Buffalo", "Tiger", "Deer", "Monkey", "Mongoose", "Lion",
)  # fmt: skip
# The traditional yoni chart: 4 same, 3 friendly, 2 neutral, 1 unfriendly, 0 sworn enemies.
_YONI_POINTS = (
    (4, 2, 2, 3, 2, 2, 2, 1, 0, 1, 1, 3, 2, 1),
    (2, 4, 3, 3, 2, 2, 2, 2, 3, 1, 2, 3, 2, 0),
    (2, 3, 4, 2, 1, 2, 1, 3, 3, 1, 2, 0, 3, 1),
    (3, 3, 2, 4, 2, 1, 1, 1, 1, 2, 2, 2, 0, 2),
    (2, 2, 1, 2, 4, 2, 1, 2, 2, 1, 0, 2, 1, 1),
    (2, 2, 2, 1, 2, 4, 0, 2, 2, 1, 3, 3, 2, 1),
    (2, 2, 1, 1, 1, 0, 4, 2, 2, 2, 2, 2, 1, 2),
    (1, 2, 3, 1, 2, 2, 2, 4, 3, 0, 3, 2, 2, 1),
    (0, 3, 3, 1, 2, 2, 2, 3, 4, 1, 2, 2, 2, 1),
    (1, 1, 1, 2, 1, 1, 2, 0, 1, 4, 1, 1, 2, 1),
    (1, 2, 2, 2, 0, 3, 2, 3, 2, 1, 4, 2, 2, 1),
    (3, 3, 0, 2, 2, 3, 2, 2, 2, 1, 2, 4, 3, 2),
    (2, 2, 3, 0, 1, 2, 1, 2, 2, 2, 2, 3, 4, 2),
    (1, 0, 1, 2, 1, 1, 2, 1, 1, 1, 1, 2, 2, 4),
)
_SIGN_LORDS = (
    "Mars", "Venus", "Mercury", "Moon", "Sun", "Mercury",
    "Venus", "Mars", "Jupiter", "Saturn", "Saturn", "Jupiter",
)  # fmt: skip
# Natural friendships (Parashara): friends; everyone not listed as friend or enemy is neutral.
_FRIENDS = {
    "Sun": {"Moon", "Mars", "Jupiter"}, "Moon": {"Sun", "Mercury"}, "Mars": {"Sun", "Moon", "Jupiter"},
    "Mercury": {"Sun", "Venus"}, "Jupiter": {"Sun", "Moon", "Mars"}, "Venus": {"Mercury", "Saturn"},
    "Saturn": {"Mercury", "Venus"},
}  # fmt: skip
_ENEMIES = {
    "Sun": {"Venus", "Saturn"}, "Moon": set(), "Mars": {"Mercury"}, "Mercury": {"Moon"},
    "Jupiter": {"Mercury", "Venus"}, "Venus": {"Sun", "Moon"}, "Saturn": {"Sun", "Moon", "Mars"},
}  # fmt: skip
# Points by the two lords' views of each other: both friends 5 … both enemies 0.
_MAITRI = {
    ("friend", "friend"): 5.0, ("friend", "neutral"): 4.0, ("neutral", "neutral"): 3.0,
    ("enemy", "friend"): 1.0, ("enemy", "neutral"): 0.5, ("enemy", "enemy"): 0.0,
}  # fmt: skip
_GANAS = ("Deva", "Manushya", "Rakshasa")
_GANA_OF = (0, 1, 2, 1, 0, 1, 0, 0, 2, 2, 1, 1, 0, 2, 0, 2, 0, 2, 2, 1, 1, 0, 2, 2, 1, 1, 0)
# [groom][bride]: Deva groom with Manushya bride 6, the reverse 5; Rakshasa groom with Deva bride 1.
_GANA_POINTS = ((6, 6, 0), (5, 6, 0), (1, 0, 6))
_BHAKOOT_BAD = {2, 12, 5, 9, 6, 8}
_NADIS = ("Adi", "Madhya", "Antya")
_NADI_CYCLE = (0, 1, 2, 2, 1, 0)  # the nakshatras zigzag through the three nadis


@dataclass(frozen=True)
class Moon:
    """What the kootas read from a natal Moon: its sign, nakshatra and vashya group."""

    sign: int
    nakshatra: int
    vashya: str

    @classmethod
    def at(cls, longitude: float) -> Moon:
        """The Moon at a sidereal longitude (the vashya group changes mid-sign in two signs)."""
        sign = sign_index(longitude)
        vashya = _VASHYA_BY_SIGN[sign]
        if longitude % 30.0 >= 15.0 and sign in _VASHYA_SECOND_HALF:
            vashya = _VASHYA_SECOND_HALF[sign]
        return cls(sign, nakshatra_index(longitude), vashya)


def _koota(name: str, points: float, maximum: int, bride: str, groom: str) -> dict[str, Any]:
    return {"koota": name, "points": points, "max": maximum, "bride": bride, "groom": groom}


def _varna(bride: Moon, groom: Moon) -> dict[str, Any]:
    b, g = _VARNAS[bride.sign % 4], _VARNAS[groom.sign % 4]
    return _koota("varna", 1.0 if _VARNA_RANK[g] >= _VARNA_RANK[b] else 0.0, 1, b, g)


def _vashya(bride: Moon, groom: Moon) -> dict[str, Any]:
    b, g = bride.vashya, groom.vashya
    if b == g:
        points = 2.0
    elif (b, g) in _VASHYA_PREY or (g, b) in _VASHYA_PREY:
        points = 0.5
    elif (b, g) in _VASHYA_CONTROLLED or (g, b) in _VASHYA_CONTROLLED:
        points = 1.0
    else:
        points = 0.0
    return _koota("vashya", points, 2, b, g)


def tara_number(start: int, end: int) -> int:
    """The tara (1–9) of nakshatra ``end`` counted from ``start`` (both 0-based), inclusive."""
    return ((end - start) % 27) % 9 + 1


def _tara(bride: Moon, groom: Moon) -> dict[str, Any]:
    to_groom = tara_number(bride.nakshatra, groom.nakshatra)
    to_bride = tara_number(groom.nakshatra, bride.nakshatra)
    points = 1.5 * (to_groom not in _TARA_BAD) + 1.5 * (to_bride not in _TARA_BAD)
    return _koota("tara", points, 3, NAKSHATRAS[bride.nakshatra], NAKSHATRAS[groom.nakshatra])


def _yoni(bride: Moon, groom: Moon) -> dict[str, Any]:
    b, g = _YONI_OF[bride.nakshatra], _YONI_OF[groom.nakshatra]
    return _koota("yoni", float(_YONI_POINTS[b][g]), 4, _YONIS[b], _YONIS[g])


def _view(of: str, other: str) -> str:
    if other in _FRIENDS[of]:
        return "friend"
    return "enemy" if other in _ENEMIES[of] else "neutral"


def _maitri(bride: Moon, groom: Moon) -> dict[str, Any]:
    b, g = _SIGN_LORDS[bride.sign], _SIGN_LORDS[groom.sign]
    if b == g:
        points = 5.0
    else:
        views = sorted((_view(b, g), _view(g, b)))
        points = _MAITRI[(views[0], views[1])]
    return _koota("graha_maitri", points, 5, b, g)


def _gana(bride: Moon, groom: Moon) -> dict[str, Any]:
    b, g = _GANA_OF[bride.nakshatra], _GANA_OF[groom.nakshatra]
    return _koota("gana", float(_GANA_POINTS[g][b]), 6, _GANAS[b], _GANAS[g])


def _bhakoot(bride: Moon, groom: Moon) -> dict[str, Any]:
    count = (groom.sign - bride.sign) % 12 + 1
    return _koota("bhakoot", 0.0 if count in _BHAKOOT_BAD else 7.0, 7, SIGNS[bride.sign], SIGNS[groom.sign])


def _nadi(bride: Moon, groom: Moon) -> dict[str, Any]:
    b, g = _NADI_CYCLE[bride.nakshatra % 6], _NADI_CYCLE[groom.nakshatra % 6]
    return _koota("nadi", 0.0 if b == g else 8.0, 8, _NADIS[b], _NADIS[g])


KOOTAS = (_varna, _vashya, _tara, _yoni, _maitri, _gana, _bhakoot, _nadi)


def ashtakoota(bride: Moon, groom: Moon) -> dict[str, Any]:
    """The eight kootas and their total for a bride's and a groom's Moon."""
    kootas = [koota(bride, groom) for koota in KOOTAS]
    return {"score": sum(k["points"] for k in kootas), "max": MAX_POINTS, "kootas": kootas}


def mutual(viewer: Moon, other: Moon) -> dict[str, Any]:
    """The better of both orientations, saying which one it is (``viewer_as``)."""
    as_bride = ashtakoota(viewer, other)
    as_groom = ashtakoota(other, viewer)
    if as_groom["score"] > as_bride["score"]:
        return {**as_groom, "viewer_as": "groom"}
    return {**as_bride, "viewer_as": "bride"}
