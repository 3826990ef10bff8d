"""Every REST endpoint answers bad input with the exact 4xx and onebox error code, never a 500."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from tests.fakes.firehose import POST, Firehose, uri
from tests.tenants.feed.api.fixtures import FeedServer, MemberFactory, foreign_token, index, name_accounts

MISSING = "at://did:plc:nobody/app.bsky.feed.post/3kmissing"
NOT_URI = "not-an-at-uri"

# (method, path, body, status, code): every case is sent signed in as alice unless the path says otherwise.
CASES = [
    ("GET", "/api/feed/global?limit=0", None, 400, "invalid_parameter"),
    ("GET", "/api/feed/global?limit=101", None, 400, "invalid_parameter"),
    ("GET", "/api/feed/local?limit=ten", None, 400, "invalid_parameter"),
    ("GET", "/api/feed/global?cursor=garbage", None, 400, "invalid_cursor"),
    ("GET", "/api/feed/following?cursor=WyJ4Il0", None, 400, "invalid_cursor"),
    ("GET", f"/api/post/{NOT_URI}", None, 400, "invalid_parameter"),
    ("GET", "/api/post/at://did:plc:x/app.bsky.feed.like/3k", None, 400, "invalid_parameter"),
    ("GET", "/api/post/at://bob.test/app.bsky.feed.like/3k", None, 400, "invalid_parameter"),
    ("GET", "/api/post/at://-bob.test/app.bsky.feed.post/3k/thread", None, 400, "invalid_parameter"),
    ("GET", "/api/post/at://nobody.test/app.bsky.feed.post/3k/replies", None, 404, "not_found"),
    ("GET", f"/api/post/{MISSING}", None, 404, "not_found"),
    ("GET", f"/api/post/{MISSING}/thread", None, 404, "not_found"),
    ("GET", f"/api/post/{MISSING}/thread?depth=-1", None, 400, "invalid_parameter"),
    ("GET", f"/api/post/{MISSING}/replies?limit=500", None, 400, "invalid_parameter"),
    ("POST", "/api/post", {}, 422, "validation_error"),
    ("POST", "/api/post", {"text": "x" * 3001}, 422, "validation_error"),
    ("POST", "/api/post", {"text": "hi", "embed": {"$type": "app.bsky.embed.images", "images": 3}}, 400,
     "invalid_record"),
    ("POST", "/api/reply", {"text": "hi", "parentUri": NOT_URI}, 400, "invalid_parameter"),
    ("POST", "/api/reply", {"text": "hi", "parentUri": MISSING}, 404, "not_found"),
    ("DELETE", f"/api/post/{NOT_URI}", None, 400, "invalid_parameter"),
    ("GET", "/api/profile/nobody.test", None, 404, "not_found"),
    ("GET", "/api/profile/not a handle", None, 404, "not_found"),
    ("GET", "/api/profile/alice.test/shoes", None, 404, "not_found"),
    ("GET", "/api/profile/alice.test/followers?limit=0", None, 400, "invalid_parameter"),
    ("GET", "/api/profile/nobody.test/posts", None, 404, "not_found"),
    ("POST", "/api/like", {"uri": NOT_URI}, 400, "invalid_parameter"),
    ("POST", "/api/like", {"uri": MISSING}, 404, "not_found"),
    ("POST", "/api/like", {"uri": "at://bob.test/app.bsky.feed.repost/3k"}, 400, "invalid_parameter"),
    ("POST", "/api/like", {"url": MISSING}, 422, "validation_error"),
    ("POST", "/api/unrepost", {"uri": MISSING}, 404, "not_found"),
    ("POST", "/api/follow", {"did": "bob"}, 422, "validation_error"),
    ("POST", "/api/follow", {"did": "did:plc:alice"}, 400, "invalid_subject"),
    ("GET", "/api/search", None, 400, "invalid_parameter"),
    ("GET", "/api/search?q=weed&type=places", None, 400, "invalid_parameter"),
    ("GET", "/api/search?q=weed&cursor=abc", None, 400, "invalid_cursor"),
    ("GET", "/api/notifications?type=" + "x" * 101, None, 400, "invalid_parameter"),
    ("GET", "/api/notifications?type=like&type=follow", None, 400, "invalid_parameter"),
    ("POST", "/api/notifications/read", {"ids": "all"}, 422, "validation_error"),
    ("POST", "/api/push/subscribe", {"endpoint": "nope"}, 422, "validation_error"),
    # The indexer would POST there for the member: the box's loopback, the LAN, a metadata address.
    *(("POST", "/api/push/subscribe", {"endpoint": endpoint, "keys": {"p256dh": "B" * 87, "auth": "a" * 22}}, 400,
       code) for endpoint, code in (
        ("https://localhost:8000/api/x", "push_endpoint_forbidden"),
        ("https://10.0.0.7/push", "push_endpoint_forbidden"),
        ("https://169.254.169.254/latest/meta-data", "push_endpoint_forbidden"),
        ("https://[::1]/push", "push_endpoint_forbidden"),
        ("http://updates.push.services.mozilla.com/wpush/v2/x", "invalid_push_endpoint"),
        ("https://push.invalid/x", "invalid_push_endpoint"),
        ("https://:443/x", "invalid_push_endpoint"),
    )),
    ("DELETE", "/api/push/subscribe", {}, 422, "validation_error"),
    ("POST", "/api/push/broadcast", {"title": "t", "body": "b"}, 403, "forbidden"),
    ("POST", "/api/auth/refresh", {"refresh_token": "spent"}, 401, "invalid_refresh_token"),
    ("POST", "/api/post", {"text": "nul \u0000"}, 400, "unsupported_character"),
    ("GET", "/api/search?q=we%00ed", None, 400, "unsupported_character"),
    ("GET", "/api/profile/alice%00.test", None, 400, "unsupported_character"),
    ("POST", "/api/auth/login", {"identifier": "alice@example.com", "password": "x"}, 401, "invalid_credentials"),
    ("POST", "/api/auth/login", {"identifier": "not a handle", "password": "x"}, 401, "invalid_credentials"),
]  # fmt: skip
SIGNED_IN_ONLY = [
    ("GET", "/api/feed/following", None),
    ("POST", "/api/post", {"text": "hi"}),
    ("POST", "/api/reply", {"text": "hi", "parentUri": MISSING}),
    ("DELETE", f"/api/post/{MISSING}", None),
    ("POST", "/api/like", {"uri": MISSING}),
    ("POST", "/api/unlike", {"uri": MISSING}),
    ("POST", "/api/repost", {"uri": MISSING}),
    ("POST", "/api/follow", {"did": "did:plc:bob"}),
    ("POST", "/api/unfollow", {"did": "did:plc:bob"}),
    ("GET", "/api/notifications", None),
    ("POST", "/api/notifications/read", {}),
    ("GET", "/api/notifications/count", None),
    ("POST", "/api/push/subscribe", {"endpoint": "https://push.example/x",
                                     "keys": {"p256dh": "k" * 40, "auth": "a" * 16}}),
    ("DELETE", "/api/push/subscribe", {"endpoint": "https://push.example/x"}),
    ("POST", "/api/push/broadcast", {"title": "t", "body": "b"}),
]  # fmt: skip


async def test_bad_input_answers_exact_4xx(
    http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection
) -> None:
    alice = await member("alice")
    for method, path, body, status, code in CASES:
        response = await http.request(method, path, json=body, headers=alice.auth)
        assert response.status_code == status, (method, path, response.text)
        if code is not None:
            assert response.json()["error"]["code"] == code, (method, path, response.text)
    tampered = (await http.get("/api/feed/local")).json().get("cursor")
    assert tampered is None  # nothing stored: no next page
    malformed = await http.post("/api/like", content=b"{not json", headers=alice.auth)
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "malformed_json"


@pytest.mark.parametrize("who", ["nobody", "wishlist", "garbage"])
async def test_signed_in_routes_refuse_missing_foreign_and_bad_tokens(
    http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection, who: str
) -> None:
    alice = await member("alice")
    headers = {
        "nobody": {},
        "wishlist": {"Authorization": f"Bearer {foreign_token(alice.did)}"},
        "garbage": {"Authorization": "Bearer abc.def.ghi"},
    }[who]
    for method, path, body in SIGNED_IN_ONLY:
        response = await http.request(method, path, json=body, headers=headers)
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["error"]["code"] == "unauthorized"


async def test_tampered_cursor_and_gap_free_pages(
    http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection, hose: Firehose
) -> None:
    alice = await member("alice")
    events = [hose.post("did:plc:bob", f"post {n} #cannabis") for n in range(7)]
    await index(feed_db, events)
    await name_accounts(feed_db, {"did:plc:bob": "bob.test"})
    seen: list[str] = []
    cursor = None
    while True:
        page = (
            await http.get("/api/feed/global", params={"limit": 3, **({"cursor": cursor} if cursor else {})})
        ).json()
        seen += [item["post"]["uri"] for item in page["feed"]]
        cursor = page.get("cursor")
        if cursor is None:
            break
        # A post arriving between pages lands on top; later pages neither skip nor repeat anything.
        await index(feed_db, [hose.post("did:plc:bob", "late #cannabis")])
    expected = [uri("did:plc:bob", POST, e["commit"]["rkey"]) for e in reversed(events)]
    assert seen == expected
    first = (await http.get("/api/feed/global", params={"limit": 3})).json()["cursor"]
    flipped = first[:-2] + ("A" if first[-2] != "A" else "B") + first[-1]
    response = await http.get("/api/feed/global", params={"limit": 3, "cursor": flipped}, headers=alice.auth)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_cursor"


async def test_profile_sections_search_notifications_push_and_health(
    feed_server: FeedServer, http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection,
    hose: Firehose,
) -> None:  # fmt: skip
    alice, bob = await member("alice"), await member("bob")
    await http.post("/api/follow", json={"did": bob.did}, headers=alice.auth)
    posted = (await http.post("/api/post", json={"text": "growing tomatoes"}, headers=bob.auth)).json()
    await http.post("/api/like", json={"uri": posted["uri"]}, headers=alice.auth)
    profile = (await http.get("/api/profile/bob.test", headers=alice.auth)).json()
    assert profile["did"] == bob.did and profile["viewer"]["following"] and profile["followersCount"] == 1
    assert [p["post"]["uri"] for p in (await http.get("/api/profile/bob.test/posts")).json()["feed"]] == [posted["uri"]]
    likes = (await http.get(f"/api/profile/{alice.did}/likes")).json()["feed"]
    assert [item["post"]["uri"] for item in likes] == [posted["uri"]]
    followers = (await http.get(f"/api/profile/{bob.did}/followers")).json()
    assert [f["did"] for f in followers["followers"]] == [alice.did] and followers["subject"]["did"] == bob.did
    following = (await http.get(f"/api/profile/{alice.did}/following")).json()
    assert [f["did"] for f in following["following"]] == [bob.did]
    assert (await http.get("/api/profile/bob.test/media")).json()["feed"] == []
    assert (await http.get("/api/profile/bob.test/replies")).json()["feed"] == []
    found = (await http.get("/api/search", params={"q": "tomatoes"})).json()["posts"]
    assert [p["uri"] for p in found] == [posted["uri"]]
    users = (await http.get("/api/search", params={"q": "bo", "type": "users"})).json()["users"]
    assert [u["did"] for u in users] == [bob.did]
    users = (await http.get("/api/search", params={"q": "bo\\", "type": "users"})).json()["users"]
    assert [u["did"] for u in users] == [bob.did]

    count = (await http.get("/api/notifications/count", headers=bob.auth)).json()
    assert count == {"count": 2}  # alice's follow and like
    notes = (await http.get("/api/notifications", headers=bob.auth)).json()["notifications"]
    assert sorted(n["reason"] for n in notes) == ["follow", "like"]
    only = (await http.get("/api/notifications", params={"type": "like"}, headers=bob.auth)).json()
    assert [n["reason"] for n in only["notifications"]] == ["like"]
    read = await http.post("/api/notifications/read", json={}, headers=bob.auth)
    assert read.json() == {"updated": 2}
    assert (await http.get("/api/notifications/count", headers=bob.auth)).json() == {"count": 0}

    key = (await http.get("/api/push/vapid-public-key")).json()["publicKey"]
    assert len(key) == 87  # base64url of a 65-byte uncompressed P-256 point
    sub = {"endpoint": "https://push.example/sub/1", "keys": {"p256dh": "B" * 87, "auth": "a" * 22}}
    assert (await http.post("/api/push/subscribe", json=sub, headers=alice.auth)).status_code == 201
    assert await feed_db.fetchval("SELECT count(*) FROM push_subscriptions WHERE member_did = $1", alice.did) == 1
    gone = await http.request("DELETE", "/api/push/subscribe", json={"endpoint": sub["endpoint"]}, headers=alice.auth)
    assert gone.status_code == 204
    assert await feed_db.fetchval("SELECT count(*) FROM push_subscriptions") == 0

    health = (await http.get("/health")).json()
    assert health["status"] == "ok" and health["indexer"]["state"] == "never_started"
    assert "connections" in health["websocket"] and health["push"]["enabled"] is True
    for part in ("db", "ws", "indexer"):
        response = await http.get(f"/health/{part}")
        assert response.status_code == 200 and response.json()["ok"] is True, part
