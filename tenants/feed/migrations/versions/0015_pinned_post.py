"""Profiles name their pinned post: ``profileViewDetailed.pinnedPost``, from the stored record.

The profile record (``app.bsky.actor.profile``) is stored whole; its ``pinnedPost`` strong
reference is shown when it names a post, as Bluesky's AppView does (``safePinnedPost``).
getAuthorFeed's ``includePins`` reads the same field (tenants/feed/xrpc/get_author_feed.py).

Revision ID: 0015_pinned_post
Revises: 0014_account_status
Create Date: 2026-12-06
"""

from alembic import op

revision = "0015_pinned_post"
down_revision = "0014_account_status"
branch_labels = None
depends_on = None

PROFILE = """
CREATE OR REPLACE FUNCTION feed_profile(subject text, viewer text, level int)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
    BEGIN RETURN (SELECT jsonb_strip_nulls(jsonb_build_object(
        'did', d.did, 'handle', coalesce(p.handle, 'handle.invalid'), 'displayName', p.display_name,
        'avatar', feed_cdn('avatar', d.did, p.avatar_cid), 'viewer', feed_actor_viewer(d.did, viewer),
        'labels', '[]'::jsonb, 'createdAt', p.record ->> 'createdAt',
        'description', CASE WHEN level >= 1 THEN p.description END,
        'indexedAt', CASE WHEN level >= 1 THEN feed_ts(p.updated_at) END,
        'banner', CASE WHEN level >= 2 THEN feed_cdn('banner', d.did, p.banner_cid) END,
        'followersCount', CASE WHEN level >= 2 THEN coalesce(p.followers_count, 0) END,
        'followsCount', CASE WHEN level >= 2 THEN coalesce(p.follows_count, 0) END,
        'postsCount', CASE WHEN level >= 2 THEN coalesce(p.posts_count, 0) END{pinned}))
    FROM (SELECT subject AS did) d LEFT JOIN profiles p ON p.did = d.did);
END $$
"""
# A strong reference to a post: an at-uri of the post collection and a CID, both strings.
PINNED = """,
        'pinnedPost', CASE WHEN level >= 2 AND jsonb_typeof(p.record -> 'pinnedPost' -> 'cid') = 'string'
            AND p.record -> 'pinnedPost' ->> 'uri' ~ '^at://[^/]+/app\\.bsky\\.feed\\.post/[^/]+$'
            THEN jsonb_build_object('uri', p.record -> 'pinnedPost' ->> 'uri',
                                    'cid', p.record -> 'pinnedPost' ->> 'cid') END"""


def upgrade() -> None:
    op.execute(PROFILE.replace("{pinned}", PINNED))


def downgrade() -> None:
    op.execute(PROFILE.replace("{pinned}", ""))
