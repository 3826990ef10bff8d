"""Input at the edges for the feed's REST and XRPC routes: odd digits, far datetimes, ids past 64 bits."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from tests.tenants.feed.api.fixtures import MemberFactory

POST_URI = "at://did:plc:alice/app.bsky.feed.post/abc"
EDGES = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]


def assert_4xx(response: httpx.Response) -> None:
    """A 4xx in the onebox shape, or under /xrpc/ in XRPC's."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    body = response.json()
    if "/xrpc/" in str(response.request.url):
        assert isinstance(body["error"], str) and "message" in body
    else:
        assert isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str)


@pytest.mark.parametrize("value", ["²", "9" * 5000])
@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/feed/global", "limit"),
        ("/xrpc/app.bsky.feed.getAuthorFeed?actor=alice.test", "limit"),
        (f"/api/post/{POST_URI}/thread", "depth"),
        (f"/xrpc/app.bsky.feed.getPostThread?uri={POST_URI}", "parentHeight"),
    ],
)
async def test_integer_parameters_that_are_digits_but_not_ints_are_400(
    http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection, path: str, name: str, value: str
) -> None:
    # "²".isdigit() is True but int("²") raises; so does int() of 4,301 digits and more.
    await member("alice")
    sep = "&" if "?" in path else "?"
    assert_4xx(await http.get(f"{path}{sep}{name}={value}"))


@pytest.mark.parametrize("edge", EDGES)
async def test_search_dates_outside_the_datetime_range_are_400(
    http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection, edge: str
) -> None:
    # In range as written, outside years 1-9999 in UTC: asyncpg overflowed converting it.
    await member("alice")
    assert_4xx(await http.get("/api/search", params={"q": "x", "since": edge}))
    assert_4xx(await http.get("/xrpc/app.bsky.feed.searchPosts", params={"q": f"x until:{edge}"}))


@pytest.mark.parametrize("edge", EDGES)
async def test_update_seen_outside_the_datetime_range_is_400(
    http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection, edge: str
) -> None:
    alice = await member("alice")
    assert_4xx(await http.post("/xrpc/app.bsky.notification.updateSeen", json={"seenAt": edge}, headers=alice.auth))


@pytest.mark.parametrize(
    "seen_at",
    [
        "2026-12-01T10:00:00Z",
        "2026-12-01T10:00:00.1235678912345Z",
        "2026-12-01T10:00:00+01:45",
        "0985-04-12T23:20:50-07:00",
    ],
)
async def test_update_seen_takes_every_form_of_the_lexicon_datetime(
    http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection, seen_at: str
) -> None:
    """The forms atproto's interop files call valid (the refused ones are in the XRPC error table)."""
    alice = await member("alice")
    response = await http.post("/xrpc/app.bsky.notification.updateSeen", json={"seenAt": seen_at}, headers=alice.auth)
    assert response.status_code == 200, response.text


async def test_mark_read_with_an_id_past_bigint_is_4xx(
    http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection
) -> None:
    alice = await member("alice")
    assert_4xx(await http.post("/api/notifications/read", json={"ids": [2**63]}, headers=alice.auth))


async def test_create_record_with_a_created_at_before_year_1_utc_is_400(
    http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection
) -> None:
    # Refused before the PDS is asked: stored, it would read back as 1 BC, which asyncpg can't.
    alice = await member("alice")
    record = {"text": "hi", "createdAt": "0001-01-01T00:00:00+14:00"}
    body = {"repo": alice.did, "collection": "app.bsky.feed.post", "record": record}
    assert_4xx(await http.post("/xrpc/com.atproto.repo.createRecord", json=body, headers=alice.auth))
