"""Request bodies and queries of the astro API."""

from __future__ import annotations

import re
from datetime import date, time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

EARLIEST_BIRTH = date(1900, 1, 1)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{2}:\d{2}$")


class BirthPlace(BaseModel):
    """``{"city", "country"?}``, ``{"geonameid"}`` (a candidate picked) or ``{"lat", "lon", "name"?}``."""

    model_config = ConfigDict(extra="forbid")

    city: str | None = Field(default=None, min_length=1, max_length=100)
    country: str | None = Field(default=None, pattern=r"^[A-Za-z]{2}$")
    geonameid: int | None = Field(default=None, ge=1, le=2**31 - 1)
    lat: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False)
    lon: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False)
    name: str | None = Field(default=None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _one_way(self) -> BirthPlace:
        by_coordinates = self.lat is not None or self.lon is not None
        if by_coordinates and (self.lat is None or self.lon is None):
            raise ValueError("give both lat and lon")
        if by_coordinates and (self.city is not None or self.geonameid is not None):
            raise ValueError("give either a city or coordinates, not both")
        if not by_coordinates and self.city is None and self.geonameid is None:
            raise ValueError("give a city, a geonameid, or lat and lon")
        if self.name is not None and not by_coordinates:
            raise ValueError("name labels coordinates; for a city use city")
        return self


class ProfileIn(BaseModel):
    """``PUT /api/profile``."""

    model_config = ConfigDict(extra="forbid")

    birth_date: date
    birth_time: time | None = None
    time_known: bool = True
    fold: Literal[0, 1] | None = None  # which of a repeated local time (clocks going back)
    birth_place: BirthPlace
    visibility: Literal["private", "members"] = "private"

    @field_validator("birth_date", mode="before")
    @classmethod
    def _date(cls, value: Any) -> date:
        if not isinstance(value, str) or not _DATE.match(value):
            raise ValueError("use YYYY-MM-DD")
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            raise ValueError("no such calendar date") from None
        if parsed < EARLIEST_BIRTH:
            raise ValueError("charts start at 1900-01-01")
        return parsed

    @field_validator("birth_time", mode="before")
    @classmethod
    def _time(cls, value: Any) -> time | None:
        if value is None:
            return None
        if not isinstance(value, str) or not _TIME.match(value):
            raise ValueError("use HH:MM (24-hour)")
        try:
            return time.fromisoformat(value)
        except ValueError:
            raise ValueError("no such time of day") from None

    @model_validator(mode="after")
    def _time_known(self) -> ProfileIn:
        if self.time_known and self.birth_time is None:
            raise ValueError('birth_time is required unless "time_known" is false')
        if not self.time_known and self.birth_time is not None:
            raise ValueError('leave birth_time out when "time_known" is false')
        return self


class MatchesQuery(BaseModel):
    """``GET /api/matches?limit=``."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=20, ge=1, le=100)


class InstanceQuery(BaseModel):
    """``GET /api/auth/mastodon?instance=``."""

    model_config = ConfigDict(extra="forbid")

    instance: str = Field(min_length=1, max_length=253)
