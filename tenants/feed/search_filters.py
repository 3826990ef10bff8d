"""Post search filters: ``app.bsky.feed.searchPosts``'s parameters and the operators Bluesky's search box takes.

The Bluesky app writes filters into ``q`` (``from:alice.bsky.social cats``, ``#garden``,
``since:2026-01-01``); SDKs send them as parameters (``author``, ``tag``, ``since``...). Both end
up in one :class:`PostFilters`; what is left of ``q`` is the words to match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime

from starlette.datastructures import QueryParams

from shared.instants import as_utc
from tenants.feed.params import invalid

# operator in q -> the parameter it stands for
OPERATORS = {"from": "author", "mentions": "mentions", "lang": "lang", "since": "since", "until": "until",
             "domain": "domain"}  # fmt: skip
OPERATOR = re.compile(r"^(?P<name>[a-z]+):(?P<value>\S+)$")
HASHTAG = re.compile(r"^#(?P<tag>[^\s#]{1,640})$")
LANG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
HOST = re.compile(r"^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?)*$")
MAX_TAGS = 10


@dataclass(frozen=True)
class PostFilters:
    """What a post must also be, besides matching the words (None: anything)."""

    author: str | None = None  # a handle, a DID, or "me"
    mentions: str | None = None
    lang: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    tags: tuple[str, ...] = field(default=())
    domain: str | None = None
    url: str | None = None


def instant(name: str, value: str) -> datetime:
    """A datetime or an ISO date (midnight UTC); naive times are UTC."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(name, "must be a datetime or a date (YYYY-MM-DD)") from None
    try:
        return as_utc(parsed)
    except ValueError as exc:
        raise invalid(name, str(exc)) from None


def _set(filters: PostFilters, name: str, value: str) -> PostFilters:
    value = value.removeprefix("@") if name in ("author", "mentions") else value
    if not value or len(value) > 2000:
        raise invalid(name, "is empty or too long")
    if name == "since":
        return replace(filters, since=instant(name, value))
    if name == "until":
        return replace(filters, until=instant(name, value))
    if name == "lang":
        if not LANG.match(value):
            raise invalid(name, "must be a language code such as en or pt-BR")
        return replace(filters, lang=value.lower())
    if name == "domain":
        host = value.lower().removeprefix("www.")
        if not HOST.match(host):
            raise invalid(name, "must be a host name such as example.com")
        return replace(filters, domain=host)
    if name == "author":
        return replace(filters, author=value)
    if name == "mentions":
        return replace(filters, mentions=value)
    return replace(filters, url=value)


def _tags(filters: PostFilters, tags: list[str]) -> PostFilters:
    cleaned = tuple(dict.fromkeys(tag.removeprefix("#").lower() for tag in tags if tag.removeprefix("#")))
    if any(len(tag) > 640 for tag in cleaned) or len(cleaned) > MAX_TAGS:
        raise invalid("tag", f"takes at most {MAX_TAGS} tags of up to 640 characters")
    return replace(filters, tags=cleaned)


def parse(params: QueryParams, q: str) -> tuple[str | None, PostFilters]:
    """The words of ``q`` (None when only filters are left) and the filters of ``q`` and the parameters.

    A parameter beats the same operator in ``q``. Unknown operators stay words, as in Bluesky.
    """
    filters = PostFilters()
    words: list[str] = []
    tags: list[str] = []
    for token in q.split():
        operator, hashtag = OPERATOR.match(token), HASHTAG.match(token)
        if operator and operator["name"] in OPERATORS:
            filters = _set(filters, OPERATORS[operator["name"]], operator["value"])
        elif hashtag:
            tags.append(hashtag["tag"])
        else:
            words.append(token)
    for name in ("author", "mentions", "lang", "since", "until", "domain", "url"):
        if value := params.get(name, "").strip():
            filters = _set(filters, name, value)
    filters = _tags(filters, [*tags, *params.getlist("tag")])
    text = " ".join(words)
    return (text or None), filters
