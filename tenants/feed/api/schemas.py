"""Request bodies of the community REST API (camelCase as the app sends them, snake_case accepted)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

# A bigint id: a larger number can't be one, and would fail in the query instead of here.
NotificationId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)


class Login(Body):
    identifier: str = Field(min_length=1, max_length=253)
    password: str = Field(min_length=1, max_length=256)


class RefreshBody(Body):
    refresh_token: str = Field(min_length=1, max_length=200, alias="refreshToken")


class NewPost(Body):
    text: str = Field(min_length=1, max_length=3000)
    langs: list[str] | None = Field(default=None, max_length=3)
    facets: list[dict[str, Any]] | None = None
    embed: dict[str, Any] | None = None


class NewReply(NewPost):
    parent_uri: str = Field(alias="parentUri", max_length=8192)
    root_uri: str | None = Field(default=None, alias="rootUri", max_length=8192)


class PostRef(Body):
    uri: str = Field(min_length=1, max_length=8192)
    cid: str | None = Field(default=None, max_length=200)


class ActorRef(Body):
    did: str = Field(min_length=8, max_length=2048, pattern=r"^did:[a-z]+:[A-Za-z0-9._:%-]+$")


class MarkRead(Body):
    ids: list[NotificationId] | None = Field(default=None, max_length=1000)


class PushKeys(Body):
    p256dh: str = Field(min_length=20, max_length=200)
    auth: str = Field(min_length=8, max_length=100)


class PushSubscribe(Body):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    endpoint: str = Field(min_length=12, max_length=2000, pattern=r"^https?://")
    keys: PushKeys


class PushUnsubscribe(Body):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    endpoint: str = Field(min_length=12, max_length=2000)


class Broadcast(Body):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=1000)
    url: str | None = Field(default=None, max_length=2000)
