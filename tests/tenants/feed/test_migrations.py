"""Feed migrations that change stored data, run on data the previous revision could hold."""

from __future__ import annotations

import asyncio

import asyncpg

from gateway import registry
from shared.db import migrate
from shared.db.urls import tenant_url
from shared.settings import Settings
from tests.tenants.feed.conftest import add_member

MEMBER = "did:plc:member"
FAN = "did:plc:fan"
POST = f"at://{MEMBER}/app.bsky.feed.post/3kpost"
SEED = f"""
INSERT INTO posts (uri, cid, author_did, text, created_at, sort_at, like_count, repost_count, record)
VALUES ('{POST}', 'bafypost', '{MEMBER}', 'liked twice', now(), now(), 2, 2, '{{}}');
INSERT INTO likes (uri, cid, author_did, subject_uri, subject_cid, created_at) VALUES
    ('at://{FAN}/app.bsky.feed.like/3ka', 'bafya', '{FAN}', '{POST}', 'bafypost', now() - interval '2 minutes'),
    ('at://{FAN}/app.bsky.feed.like/3kb', 'bafyb', '{FAN}', '{POST}', 'bafypost', now() - interval '1 minute');
INSERT INTO reposts (uri, cid, author_did, subject_uri, subject_cid, created_at) VALUES
    ('at://{FAN}/app.bsky.feed.repost/3kc', 'bafyc', '{FAN}', '{POST}', 'bafypost', now() - interval '2 minutes'),
    ('at://{FAN}/app.bsky.feed.repost/3kd', 'bafyd', '{FAN}', '{POST}', 'bafypost', now() - interval '1 minute');
INSERT INTO feed_items (uri, type, post_uri, originator_did, sort_at) VALUES
    ('at://{FAN}/app.bsky.feed.repost/3kc', 'repost', '{POST}', '{FAN}', now()),
    ('at://{FAN}/app.bsky.feed.repost/3kd', 'repost', '{POST}', '{FAN}', now());
INSERT INTO viewer_post_state (viewer_did, post_uri, like_uri, repost_uri) VALUES
    ('{FAN}', '{POST}', 'at://{FAN}/app.bsky.feed.like/3kb', 'at://{FAN}/app.bsky.feed.repost/3kd');
INSERT INTO follows (uri, cid, author_did, subject_did, created_at) VALUES
    ('at://{FAN}/app.bsky.graph.follow/3ke', 'bafye', '{FAN}', '{MEMBER}', now() - interval '2 minutes'),
    ('at://{FAN}/app.bsky.graph.follow/3kf', 'bafyf', '{FAN}', '{MEMBER}', now() - interval '1 minute');
INSERT INTO profiles (did, followers_count, follows_count) VALUES ('{MEMBER}', 2, 0), ('{FAN}', 0, 2)
ON CONFLICT (did) DO UPDATE SET followers_count = EXCLUDED.followers_count, follows_count = EXCLUDED.follows_count;
INSERT INTO viewer_actor_state (viewer_did, subject_did, follow_uri) VALUES
    ('{FAN}', '{MEMBER}', 'at://{FAN}/app.bsky.graph.follow/3kf');
INSERT INTO viewer_actor_state (viewer_did, subject_did, followed_by_uri) VALUES
    ('{MEMBER}', '{FAN}', 'at://{FAN}/app.bsky.graph.follow/3kf');
INSERT INTO notifications (recipient_did, type, actor_did, record_uri, subject_uri, created_at) VALUES
    ('{MEMBER}', 'like', '{FAN}', 'at://{FAN}/app.bsky.feed.like/3ka', '{POST}', now()),
    ('{MEMBER}', 'like', '{FAN}', 'at://{FAN}/app.bsky.feed.like/3kb', '{POST}', now()),
    ('{MEMBER}', 'follow', '{FAN}', 'at://{FAN}/app.bsky.graph.follow/3ke', NULL, now()),
    ('{MEMBER}', 'follow', '{FAN}', 'at://{FAN}/app.bsky.graph.follow/3kf', NULL, now());
"""


async def test_0006_sets_the_duplicates_already_stored_aside(db: asyncpg.Connection, settings: Settings) -> None:
    migrations = registry.load("feed").migrations
    url = tenant_url(settings.database_url or "", settings.db_prefix, "feed", settings.require_secret())
    await asyncio.to_thread(migrate.downgrade, migrations, url, "0005_member_end")
    try:
        await add_member(db, MEMBER)
        await add_member(db, FAN)
        await db.execute(SEED)
    finally:
        await asyncio.to_thread(migrate.upgrade, migrations, url)
    assert await db.fetchval("SELECT array_agg(uri) FROM likes") == [f"at://{FAN}/app.bsky.feed.like/3ka"]
    assert await db.fetchval("SELECT array_agg(uri) FROM reposts") == [f"at://{FAN}/app.bsky.feed.repost/3kc"]
    waiting = await db.fetch("SELECT collection, uri FROM record_duplicates ORDER BY collection")
    assert [tuple(r) for r in waiting] == [
        ("follows", f"at://{FAN}/app.bsky.graph.follow/3kf"),
        ("likes", f"at://{FAN}/app.bsky.feed.like/3kb"),
        ("reposts", f"at://{FAN}/app.bsky.feed.repost/3kd"),
    ]
    assert tuple(await db.fetchrow("SELECT like_count, repost_count FROM posts")) == (1, 1)
    viewer = await db.fetchrow("SELECT like_uri, repost_uri FROM viewer_post_state WHERE viewer_did = $1", FAN)
    assert tuple(viewer) == (f"at://{FAN}/app.bsky.feed.like/3ka", f"at://{FAN}/app.bsky.feed.repost/3kc")
    kept_follow = f"at://{FAN}/app.bsky.graph.follow/3ke"
    assert await db.fetchval("SELECT array_agg(record_uri ORDER BY id) FROM notifications") == [
        f"at://{FAN}/app.bsky.feed.like/3ka",
        kept_follow,
    ]
    states = await db.fetch("SELECT follow_uri, followed_by_uri FROM viewer_actor_state ORDER BY viewer_did")
    assert [tuple(r) for r in states] == [(kept_follow, None), (None, kept_follow)]  # the fan's row, the member's
    counts = await db.fetch("SELECT did, followers_count, follows_count FROM profiles ORDER BY did")
    assert [tuple(r) for r in counts] == [(FAN, 0, 1), (MEMBER, 1, 0)]
    assert await db.fetchval("SELECT array_agg(uri) FROM feed_items WHERE type = 'repost'") == [
        f"at://{FAN}/app.bsky.feed.repost/3kc"
    ]


async def test_0016_flags_the_pins_members_already_had(db: asyncpg.Connection, settings: Settings) -> None:
    migrations = registry.load("feed").migrations
    url = tenant_url(settings.database_url or "", settings.db_prefix, "feed", settings.require_secret())
    pin = f'{{"pinnedPost": {{"uri": "{POST}", "cid": "bafypost"}}}}'
    await asyncio.to_thread(migrate.downgrade, migrations, url, "0015_pinned_post")
    try:
        await add_member(db, MEMBER)
        await add_member(db, FAN)
        like = f"at://{FAN}/app.bsky.feed.like/3ka"
        await db.execute(
            "INSERT INTO viewer_post_state (viewer_did, post_uri, like_uri) VALUES ($1, $2, $3)", FAN, POST, like
        )
        # The member pins their post; the fan pins the member's, which is not theirs to pin.
        await db.execute(
            "INSERT INTO profiles (did, record) VALUES ($1, $3::jsonb), ($2, $3::jsonb) "
            "ON CONFLICT (did) DO UPDATE SET record = EXCLUDED.record",
            MEMBER,
            FAN,
            pin,
        )
    finally:
        await asyncio.to_thread(migrate.upgrade, migrations, url)
    rows = await db.fetch("SELECT viewer_did, view_part FROM viewer_post_state ORDER BY viewer_did")
    assert [(r["viewer_did"], r["view_part"]) for r in rows] == [(FAN, f'"like":"{like}"'), (MEMBER, '"pinned":true')]
