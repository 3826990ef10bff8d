"""Request bodies and query strings of the SeaCalendar API."""

from __future__ import annotations

import datetime as dt
import functools
from datetime import UTC, datetime
from typing import Annotated, Literal
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from shared.instants import as_utc

Snowflake = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,20}$")]
PositiveId = Annotated[int, Field(ge=1, le=2**63 - 1)]
HttpUrl = Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=2000)]
PollStatus = Literal["draft", "voting", "finalized", "cancelled", "expired"]


MAX_OPTIONS = 50


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OptionIn(Strict):
    """A candidate date (event polls) or a text choice (generic polls); ``id`` keeps an existing one."""

    id: PositiveId | None = None
    label: str = Field(default="", max_length=200)
    # Bounded so that the day after it exists (an all-day event ends there in the .ics).
    date: dt.date | None = Field(default=None, ge=dt.date(1900, 1, 1), le=dt.date(9998, 12, 31))
    start_time: dt.time | None = None
    end_time: dt.time | None = None

    @model_validator(mode="after")
    def _coherent(self) -> OptionIn:
        if self.date is None and not self.label:
            raise ValueError("an option needs a date or a label")
        if any(t is not None and t.tzinfo is not None for t in (self.start_time, self.end_time)):
            raise ValueError("give times without an offset: the poll's timezone says where they are")
        if self.end_time is not None and (self.start_time is None or self.end_time <= self.start_time):
            raise ValueError("end_time needs a start_time before it")
        return self


class VenueIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    address: str = Field(default="", max_length=500)
    url: HttpUrl | None = None


def _future(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("give the deadline with a time zone offset, e.g. 2026-12-01T18:00:00Z")
    value = as_utc(value)
    if value <= datetime.now(UTC):
        raise ValueError("the deadline must be in the future")
    return value


@functools.cache
def _zones() -> frozenset[str]:
    # The IANA names, not every file ZoneInfo opens: "right/UTC", "posix/..." and "posixrules"
    # load in Python but PostgreSQL refuses them in AT TIME ZONE; "localtime" is the server's own.
    return frozenset(available_timezones() - {"localtime"})


def _zone(value: str) -> str:
    if value not in _zones():
        raise ValueError("not an IANA time zone, e.g. Europe/Paris")
    return value


class PollCreate(Strict):
    type: Literal["event", "generic"] = "event"
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    options: list[OptionIn] = Field(min_length=1, max_length=MAX_OPTIONS)
    invitees: list[Snowflake] = Field(default_factory=list, max_length=500)
    voting_deadline: datetime | None = None
    is_private: bool = True
    timezone: str = Field(default="UTC", max_length=64)
    guild_id: Snowflake | None = None
    channel_id: Snowflake | None = None
    status: Literal["draft", "voting"] = "voting"
    venue: VenueIn | None = None

    @field_validator("voting_deadline")
    @classmethod
    def _deadline(cls, value: datetime | None) -> datetime | None:
        return _future(value)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return _zone(value)

    @model_validator(mode="after")
    def _options_fit_type(self) -> PollCreate:
        if self.type == "event" and any(o.date is None for o in self.options):
            raise ValueError("every option of an event poll needs a date")
        if any(o.id is not None for o in self.options):
            raise ValueError("new options have no id")
        return self


class PollUpdate(Strict):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    options: list[OptionIn] | None = Field(default=None, min_length=1, max_length=MAX_OPTIONS)
    invitees: list[Snowflake] | None = Field(default=None, max_length=500)
    voting_deadline: datetime | None = None
    is_private: bool | None = None
    timezone: str | None = Field(default=None, max_length=64)
    status: Literal["voting"] | None = None
    venue: VenueIn | None = None
    # Removing options that have votes is refused unless the caller agrees to drop those choices.
    clear_votes: bool = False

    @field_validator("voting_deadline")
    @classmethod
    def _deadline(cls, value: datetime | None) -> datetime | None:
        return _future(value)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return None if value is None else _zone(value)


class VoteIn(Strict):
    available: list[PositiveId] = Field(default_factory=list, max_length=50)
    maybe: list[PositiveId] = Field(default_factory=list, max_length=50)
    note: str = Field(default="", max_length=1000)

    @model_validator(mode="after")
    def _distinct(self) -> VoteIn:
        if len(set(self.available)) != len(self.available) or len(set(self.maybe)) != len(self.maybe):
            raise ValueError("an option is listed twice")
        if set(self.available) & set(self.maybe):
            raise ValueError("an option can't be both available and maybe")
        return self


class FinalizeIn(Strict):
    option_id: PositiveId
    venue: VenueIn | None = None


class PollQuery(Strict):
    status: PollStatus | None = None
    limit: int = Field(default=50, ge=1, le=200)
    before: PositiveId | None = None


class MemoryIn(Strict):
    kind: Literal["note", "link"] = "note"
    text: str = Field(default="", max_length=5000)
    url: HttpUrl | None = None

    @model_validator(mode="after")
    def _content(self) -> MemoryIn:
        if self.kind == "link" and self.url is None:
            raise ValueError("a link memory needs a url")
        if self.kind == "note" and not self.text:
            raise ValueError("a note memory needs text")
        return self


class GuildQuery(Strict):
    guild_id: Snowflake


class MemberSearch(Strict):
    guild_id: Snowflake
    query: str = Field(min_length=1, max_length=100)
    limit: int = Field(default=10, ge=1, le=25)


class QotwConfigIn(Strict):
    guild_id: Snowflake
    channel_id: Snowflake
    enabled: bool = True
    weekday: int = Field(ge=0, le=6)
    hour: int = Field(ge=0, le=23)


class QuestionIn(Strict):
    guild_id: Snowflake
    text: str = Field(min_length=1, max_length=500)


class ResponseIn(Strict):
    text: str = Field(min_length=1, max_length=2000)


class LoginBody(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class AccountDelete(Strict):
    # Proof without a recent sign-in; Discord-only accounts have no password and sign in again instead.
    current_password: str | None = Field(default=None, min_length=1, max_length=256)


class ProfileUpdate(Strict):
    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    username: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{3,32}$")
    password: str | None = Field(default=None, min_length=10, max_length=256)
    # Proof for changing the username or password without a recent sign-in.
    current_password: str | None = Field(default=None, min_length=1, max_length=256)
