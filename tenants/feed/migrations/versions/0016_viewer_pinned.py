"""``postView.viewer.pinned``: the viewer's own pinned post says so, at no cost to the hot path.

Feed pages read a post's viewer state from one ``viewer_post_state`` row (its prebuilt
``view_part``, migration 0004). The member's pin becomes a flag on that row: triggers on
``profiles`` (the record naming the pin) and ``members`` (an account becoming a viewer) keep one
pinned row per member, so a page shows ``"pinned":true`` with the join it already makes. Only a
member's own post counts, as Bluesky's AppView (``viewerPinned``); its other posts leave the
field out where the AppView says false, which clients read the same.

Revision ID: 0016_viewer_pinned
Revises: 0015_pinned_post
Create Date: 2026-12-07
"""

from alembic import op

revision = "0016_viewer_pinned"
down_revision = "0015_pinned_post"
branch_labels = None
depends_on = None

VIEW_PART = """ALTER TABLE viewer_post_state ADD COLUMN view_part text GENERATED ALWAYS AS (
    coalesce('"like":' || feed_json_text(like_uri), '')
    || CASE WHEN like_uri IS NOT NULL AND repost_uri IS NOT NULL THEN ',' ELSE '' END
    || coalesce('"repost":' || feed_json_text(repost_uri), ''){pinned}) STORED"""
PINNED_PART = """
    || CASE WHEN NOT pinned THEN ''
            WHEN like_uri IS NULL AND repost_uri IS NULL THEN '"pinned"\\:true' ELSE ',"pinned"\\:true' END"""

POST = """
CREATE OR REPLACE FUNCTION feed_post(p posts, viewer text) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
    BEGIN RETURN (SELECT jsonb_build_object(
        '$type', 'app.bsky.feed.defs#postView', 'uri', p.uri, 'cid', p.cid,
        'author', feed_profile(p.author_did, viewer, 0), 'record', p.record,
        'replyCount', p.reply_count, 'repostCount', p.repost_count, 'likeCount', p.like_count,
        'quoteCount', p.quote_count, 'indexedAt', feed_ts(p.indexed_at), 'labels', feed_self_labels(p),
        'viewer', CASE WHEN viewer IS NULL THEN '{}'::jsonb ELSE coalesce(
            (SELECT jsonb_strip_nulls(jsonb_build_object('like', s.like_uri, 'repost', s.repost_uri{pinned}))
             FROM viewer_post_state s WHERE s.viewer_did = viewer AND s.post_uri = p.uri), '{}') END)
        || CASE WHEN p.embed IS NULL THEN '{}'::jsonb
           ELSE coalesce(jsonb_build_object('embed', feed_embed_view(p.author_did, p.embed, viewer)), '{}') END);
END $$
"""
POST_PINNED = ", 'pinned', CASE WHEN s.pinned THEN true END"

UPGRADE = [
    "ALTER TABLE viewer_post_state ADD COLUMN pinned boolean NOT NULL DEFAULT false",
    # A generated column's expression can't be altered in place: dropped and made again.
    "ALTER TABLE viewer_post_state DROP COLUMN view_part",
    VIEW_PART.replace("{pinned}", PINNED_PART),
    # Finds a member's pinned row without reading every row of theirs.
    "CREATE INDEX viewer_post_state_pinned_idx ON viewer_post_state (viewer_did) WHERE pinned",
    # The post an account's profile record pins, when it is a strong reference to its own post
    # (the same rule getAuthorFeed's includePins reads).
    """CREATE FUNCTION feed_own_pin(did text, record jsonb) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN jsonb_typeof(record -> 'pinnedPost' -> 'cid') = 'string'
            AND starts_with(record -> 'pinnedPost' ->> 'uri', 'at://' || did || '/app.bsky.feed.post/')
            THEN record -> 'pinnedPost' ->> 'uri' END $$""",
    # Moves a member's pinned flag to ``pin`` (NULL: none); rows left with nothing are removed,
    # as the indexer prunes them (tenants/feed/indexer/processors/subject.py).
    """CREATE FUNCTION feed_set_pin(viewer text, pin text) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM viewer_post_state WHERE viewer_did = viewer AND pinned AND post_uri IS DISTINCT FROM pin
            AND like_uri IS NULL AND repost_uri IS NULL;
        UPDATE viewer_post_state SET pinned = false
            WHERE viewer_did = viewer AND pinned AND post_uri IS DISTINCT FROM pin;
        IF pin IS NOT NULL AND EXISTS (SELECT 1 FROM members WHERE did = viewer) THEN
            INSERT INTO viewer_post_state (viewer_did, post_uri, pinned) VALUES (viewer, pin, true)
            ON CONFLICT (viewer_did, post_uri) DO UPDATE SET pinned = true WHERE NOT viewer_post_state.pinned;
        END IF;
    END $$""",
    """CREATE FUNCTION feed_profile_pin() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM feed_set_pin(NEW.did, feed_own_pin(NEW.did, NEW.record));
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER profiles_pin_insert AFTER INSERT ON profiles FOR EACH ROW
        WHEN (feed_own_pin(NEW.did, NEW.record) IS NOT NULL) EXECUTE FUNCTION feed_profile_pin()""",
    """CREATE TRIGGER profiles_pin_update AFTER UPDATE OF record ON profiles FOR EACH ROW
        WHEN (feed_own_pin(NEW.did, NEW.record) IS DISTINCT FROM feed_own_pin(OLD.did, OLD.record))
        EXECUTE FUNCTION feed_profile_pin()""",
    # Signing in makes an account a viewer; its profile may have been stored long before.
    """CREATE FUNCTION feed_member_pin() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM feed_set_pin(NEW.did, (SELECT feed_own_pin(p.did, p.record) FROM profiles p WHERE p.did = NEW.did));
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER members_pin AFTER INSERT ON members FOR EACH ROW EXECUTE FUNCTION feed_member_pin()",
    # The pins already stored.
    """SELECT feed_set_pin(m.did, feed_own_pin(p.did, p.record)) FROM members m JOIN profiles p ON p.did = m.did
        WHERE feed_own_pin(p.did, p.record) IS NOT NULL""",
    POST.replace("{pinned}", POST_PINNED),
]

DOWNGRADE = [
    POST.replace("{pinned}", ""),
    "DROP TRIGGER members_pin ON members",
    "DROP FUNCTION feed_member_pin()",
    "DROP TRIGGER profiles_pin_update ON profiles",
    "DROP TRIGGER profiles_pin_insert ON profiles",
    "DROP FUNCTION feed_profile_pin()",
    "DROP FUNCTION feed_set_pin(text, text)",
    "DROP FUNCTION feed_own_pin(text, jsonb)",
    "DELETE FROM viewer_post_state WHERE like_uri IS NULL AND repost_uri IS NULL",
    "ALTER TABLE viewer_post_state DROP COLUMN view_part",
    VIEW_PART.replace("{pinned}", ""),
    "ALTER TABLE viewer_post_state DROP COLUMN pinned",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
