"""Lexicon shapes of the records the feed keeps, checked and normalised into small dataclasses.

A record that does not match its lexicon (``app.bsky.feed.post``, ``.like``, ``.repost``,
``app.bsky.graph.follow``, ``.block``, ``app.bsky.actor.profile``) raises :class:`Malformed` with a
short reason; the caller counts the reason and skips the record.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.instants import as_utc

POST = "app.bsky.feed.post"
LIKE = "app.bsky.feed.like"
REPOST = "app.bsky.feed.repost"
FOLLOW = "app.bsky.graph.follow"
BLOCK = "app.bsky.graph.block"
PROFILE = "app.bsky.actor.profile"
COLLECTIONS = (POST, LIKE, REPOST, FOLLOW, BLOCK, PROFILE)

MAX_TEXT_BYTES = 3000  # app.bsky.feed.post#text maxLength
MAX_PROFILE_BYTES = 2560  # app.bsky.actor.profile#description maxLength
MAX_TAGS = 8
# Inline hashtags, for posts whose client wrote no tag facets.
HASHTAG = re.compile(r"(?:^|\s)[#＃]([^\s#＃]{1,64})")
TAG_TRAILING = ".,;:!?'\")]}"
# Deepest nesting of a record kept whole (posts, profiles): far beyond any lexicon's shape, and
# well inside the 255 levels orjson writes (the rows sent to PostgreSQL wrap the record twice).
MAX_DEPTH = 64


class Malformed(ValueError):
    """A record or event that fails its shape; ``str(exc)`` is the reason counted."""


@dataclass(slots=True)
class Post:
    """A normalised ``app.bsky.feed.post``."""

    text: str
    created_at: datetime
    reply_parent: str | None
    reply_root: str | None
    quote: str | None
    mentions: list[str]
    tags: list[str]
    langs: list[str] | None
    embed: Any
    facets: Any
    labels: Any
    raw: dict[str, Any] = field(repr=False)


@dataclass(slots=True)
class Subject:
    """A like or a repost: a strong reference to a post."""

    uri: str
    cid: str | None
    created_at: datetime


@dataclass(slots=True)
class Graph:
    """A follow or a block of an account."""

    did: str
    created_at: datetime


@dataclass(slots=True)
class Profile:
    """A normalised ``app.bsky.actor.profile`` (all fields optional in the lexicon)."""

    display_name: str | None
    description: str | None
    avatar_cid: str | None
    banner_cid: str | None
    raw: dict[str, Any] = field(repr=False)


Record = Post | Subject | Graph | Profile


def did_of(uri: str) -> str:
    """The repository DID of an AT URI (``at://<did>/<collection>/<rkey>``)."""
    end = uri.find("/", 5)
    return uri[5:] if end < 0 else uri[5:end]


def is_at_uri(value: Any) -> bool:
    """True for a string shaped like an AT URI naming a DID repository."""
    return isinstance(value, str) and value.startswith("at://did:") and len(value) < 8192


def parse_datetime(value: Any) -> datetime:
    """An atproto ``datetime`` string as an aware datetime (UTC when the zone is missing)."""
    if not isinstance(value, str) or len(value) > 64:
        raise Malformed("bad_datetime")
    try:
        return as_utc(datetime.fromisoformat(value))
    except ValueError:
        raise Malformed("bad_datetime") from None


def _strong_ref(value: Any) -> tuple[str, str | None]:
    if not isinstance(value, dict) or not is_at_uri(value.get("uri")):
        raise Malformed("bad_subject")
    cid = value.get("cid")
    if cid is not None and not isinstance(cid, str):
        raise Malformed("bad_subject")
    return value["uri"], cid


def _blob_cid(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    ref = value.get("ref")
    if isinstance(ref, dict) and isinstance(ref.get("$link"), str):
        return str(ref["$link"])
    cid = value.get("cid")  # legacy blob shape
    return cid if isinstance(cid, str) else None


def _quote_of(embed: Any) -> str | None:
    if not isinstance(embed, dict):
        return None
    kind = embed.get("$type")
    record = embed.get("record")
    if kind == "app.bsky.embed.recordWithMedia" and isinstance(record, dict):
        record = record.get("record")
    if kind in ("app.bsky.embed.record", "app.bsky.embed.recordWithMedia") and isinstance(record, dict):
        uri = record.get("uri")
        if isinstance(uri, str) and is_at_uri(uri) and "/app.bsky.feed.post/" in uri:
            return uri
    return None


def _facet_features(facets: Any) -> tuple[list[str], list[str]]:
    mentions: list[str] = []
    tags: list[str] = []
    if facets is None:
        return mentions, tags
    if not isinstance(facets, list):
        raise Malformed("bad_facets")
    for facet in facets:
        if not isinstance(facet, dict) or not isinstance(facet.get("features"), list):
            raise Malformed("bad_facets")
        for feature in facet["features"]:
            if not isinstance(feature, dict):
                raise Malformed("bad_facets")
            kind = feature.get("$type")
            if kind == "app.bsky.richtext.facet#mention" and isinstance(feature.get("did"), str):
                mentions.append(feature["did"])
            elif kind == "app.bsky.richtext.facet#tag" and isinstance(feature.get("tag"), str):
                tags.append(feature["tag"].lower())
    return mentions, tags


def _check_depth(record: dict[str, Any]) -> None:
    """Refuse a record nested deeper than ``MAX_DEPTH`` (walked with a stack, not recursion)."""
    pending: list[tuple[Any, int]] = [(record, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise Malformed("too_deep")
        children = value.values() if isinstance(value, dict) else value
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def _post(record: dict[str, Any]) -> Post:
    _check_depth(record)
    text = record.get("text", "")
    if not isinstance(text, str):
        raise Malformed("bad_text")
    if len(text) > MAX_TEXT_BYTES // 4 and len(text.encode()) > MAX_TEXT_BYTES:
        raise Malformed("text_too_long")
    created_at = parse_datetime(record.get("createdAt"))
    parent = root = None
    reply = record.get("reply")
    if reply is not None:
        if not isinstance(reply, dict):
            raise Malformed("bad_reply")
        parent = _strong_ref(reply.get("parent"))[0]
        root = _strong_ref(reply.get("root"))[0]
    mentions, tags = _facet_features(record.get("facets"))
    extra = record.get("tags")
    if extra is not None:
        if not isinstance(extra, list) or len(extra) > MAX_TAGS or not all(isinstance(t, str) for t in extra):
            raise Malformed("bad_tags")
        tags.extend(t.lower() for t in extra)
    if "#" in text or "＃" in text:
        tags.extend(m.rstrip(TAG_TRAILING).lower() for m in HASHTAG.findall(text))
    langs = record.get("langs")
    if langs is not None and (not isinstance(langs, list) or not all(isinstance(x, str) for x in langs)):
        raise Malformed("bad_langs")
    embed = record.get("embed")
    return Post(
        text=text,
        created_at=created_at,
        reply_parent=parent,
        reply_root=root,
        quote=_quote_of(embed),
        mentions=mentions,
        tags=sorted(set(t for t in tags if t)),
        langs=langs[:3] if langs is not None else None,
        embed=embed,
        facets=record.get("facets"),
        labels=record.get("labels"),
        raw=record,
    )


def _subject(record: dict[str, Any]) -> Subject:
    uri, cid = _strong_ref(record.get("subject"))
    if "/app.bsky.feed.post/" not in uri:
        raise Malformed("bad_subject")
    return Subject(uri, cid, parse_datetime(record.get("createdAt")))


def _graph(record: dict[str, Any]) -> Graph:
    subject = record.get("subject")
    if not isinstance(subject, str) or not subject.startswith("did:") or len(subject) > 2048:
        raise Malformed("bad_subject")
    return Graph(subject, parse_datetime(record.get("createdAt")))


def _optional_text(record: dict[str, Any], key: str, limit: int) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value.encode()) > limit:
        raise Malformed(f"bad_{key}")
    return value


def _profile(record: dict[str, Any]) -> Profile:
    _check_depth(record)
    return Profile(
        display_name=_optional_text(record, "displayName", 640),
        description=_optional_text(record, "description", MAX_PROFILE_BYTES),
        avatar_cid=_blob_cid(record.get("avatar")),
        banner_cid=_blob_cid(record.get("banner")),
        raw=record,
    )


_PARSERS: dict[str, Callable[[dict[str, Any]], Record]] = {
    POST: _post,
    LIKE: _subject,
    REPOST: _subject,
    FOLLOW: _graph,
    BLOCK: _graph,
    PROFILE: _profile,
}


def parse_record(collection: str, record: Any) -> Record:
    """Check ``record`` against its collection's lexicon and normalise it."""
    if not isinstance(record, dict):
        raise Malformed("bad_record")
    kind = record.get("$type")
    if kind is not None and kind != collection:
        raise Malformed("wrong_type")
    parser = _PARSERS.get(collection)
    if parser is None:
        raise Malformed("unknown_collection")
    return parser(record)
