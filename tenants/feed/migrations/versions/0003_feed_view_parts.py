"""Prebuilt view parts: each post's and profile's viewer-independent JSON, kept by row triggers.

A feed page then concatenates stored text (``posts.view_part``, ``profiles.view_part``) with
the few viewer-dependent fields (viewer states, quoted posts, reply refs) instead of building
every object from columns on each read. A part is the inside of a JSON object (no braces) with
nulls stripped; it is refreshed whenever a column it shows changes (counts included).

Revision ID: 0003_feed_view_parts
Revises: 0002_feed_api
Create Date: 2025-11-26
"""

from alembic import op

revision = "0003_feed_view_parts"
down_revision = "0002_feed_api"
branch_labels = None
depends_on = None

QUOTES = "('app.bsky.embed.record', 'app.bsky.embed.recordWithMedia')"

UPGRADE = [
    "ALTER TABLE posts ADD COLUMN view_part text",
    "ALTER TABLE profiles ADD COLUMN view_part text",
    # postView fields that do not depend on the viewer; quote embeds (viewer-dependent) are left out.
    f"""
    CREATE FUNCTION feed_post_part(p posts) RETURNS text LANGUAGE sql STABLE AS $$
        SELECT substr(t, 2, length(t) - 2) FROM (SELECT json_strip_nulls(json_build_object(
            '$type', 'app.bsky.feed.defs#postView', 'uri', p.uri, 'cid', p.cid, 'record', p.record,
            'embed', CASE WHEN p.embed IS NOT NULL AND p.embed ->> '$type' NOT IN {QUOTES}
                          THEN feed_media_view(p.author_did, p.embed) END,
            'replyCount', p.reply_count, 'repostCount', p.repost_count, 'likeCount', p.like_count,
            'quoteCount', p.quote_count, 'indexedAt', feed_ts(p.indexed_at),
            'labels', CASE WHEN p.labels IS NULL THEN '[]'::jsonb ELSE feed_self_labels(p) END))::text AS t) j
    $$
    """,
    # profileViewBasic fields without the viewer state (also used for accounts without a profile row).
    """
    CREATE FUNCTION feed_profile_part(did text, handle text, display_name text, avatar_cid text)
    RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT substr(t, 2, length(t) - 2) FROM (SELECT json_strip_nulls(json_build_object(
            'did', did, 'handle', coalesce(handle, 'handle.invalid'), 'displayName', display_name,
            'avatar', feed_cdn('avatar', did, avatar_cid), 'labels', '[]'::json))::text AS t) j
    $$
    """,
    """
    CREATE FUNCTION feed_post_part_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.view_part := feed_post_part(NEW);
        RETURN NEW;
    END $$
    """,
    """CREATE TRIGGER posts_view_part BEFORE INSERT OR UPDATE OF uri, cid, author_did, record, embed, labels,
       reply_count, repost_count, like_count, quote_count, indexed_at, created_at ON posts
       FOR EACH ROW EXECUTE FUNCTION feed_post_part_refresh()""",
    """
    CREATE FUNCTION feed_profile_part_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.view_part := feed_profile_part(NEW.did, NEW.handle, NEW.display_name, NEW.avatar_cid);
        RETURN NEW;
    END $$
    """,
    """CREATE TRIGGER profiles_view_part BEFORE INSERT OR UPDATE OF did, handle, display_name, avatar_cid
       ON profiles FOR EACH ROW EXECUTE FUNCTION feed_profile_part_refresh()""",
    "UPDATE posts p SET view_part = feed_post_part(p)",
    "UPDATE profiles SET view_part = feed_profile_part(did, handle, display_name, avatar_cid)",
]

DOWNGRADE = [
    "DROP TRIGGER IF EXISTS profiles_view_part ON profiles",
    "DROP TRIGGER IF EXISTS posts_view_part ON posts",
    "DROP FUNCTION IF EXISTS feed_profile_part_refresh()",
    "DROP FUNCTION IF EXISTS feed_post_part_refresh()",
    "DROP FUNCTION IF EXISTS feed_profile_part(text, text, text, text)",
    "DROP FUNCTION IF EXISTS feed_post_part(posts)",
    "ALTER TABLE profiles DROP COLUMN IF EXISTS view_part",
    "ALTER TABLE posts DROP COLUMN IF EXISTS view_part",
]


def upgrade() -> None:
    """Add the part columns, their functions and triggers; fill them for stored rows."""
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    """Drop what upgrade created."""
    for statement in DOWNGRADE:
        op.execute(statement)
