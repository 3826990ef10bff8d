"""Feed API: PDS sessions, members' materialised timelines, full-text search, lexicon views in SQL.

``timeline_items`` is each member's following timeline, kept by statement triggers on
``feed_items``, ``follows`` and ``members`` so that reading a page is one index range scan
whatever the number of accounts followed (fan-out on write; members are few, posts many).
The ``feed_*`` SQL functions build ``app.bsky`` lexicon views inside PostgreSQL so a hot read
is one round trip whose JSON text is passed through untouched.

Revision ID: 0002_feed_api
Revises: 0001_feed_schema
Create Date: 2025-11-25
"""

from alembic import op

revision = "0002_feed_api"
down_revision = "0001_feed_schema"
branch_labels = None
depends_on = None

TABLES = [
    """
    CREATE TABLE pds_sessions (
        did text PRIMARY KEY,
        pds_url text NOT NULL,
        handle text NOT NULL,
        access_jwt bytea NOT NULL,
        refresh_jwt bytea NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "ALTER TABLE members ADD COLUMN notifications_seen_at timestamptz",
    """
    CREATE TABLE timeline_items (
        member_did text NOT NULL,
        sort_at timestamptz NOT NULL,
        item_uri text NOT NULL,
        PRIMARY KEY (member_did, sort_at, item_uri)
    )
    """,
    "CREATE INDEX timeline_items_item_idx ON timeline_items (item_uri)",
    "CREATE INDEX posts_fts_idx ON posts USING gin (to_tsvector('simple', text))",
    """CREATE INDEX profiles_fts_idx ON profiles USING gin (to_tsvector('simple',
        coalesce(handle, '') || ' ' || coalesce(display_name, '') || ' ' || coalesce(description, '')))""",
    "CREATE INDEX reposts_author_uri_idx ON reposts (author_did, created_at DESC, uri DESC)",
]

TRIGGERS = [
    # New feed items reach the timelines of the members following their originator (and their own).
    """
    CREATE FUNCTION feed_fanout_items() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO timeline_items (member_did, sort_at, item_uri)
        SELECT f.author_did, n.sort_at, n.uri FROM new_items n
        JOIN follows f ON f.subject_did = n.originator_did JOIN members m ON m.did = f.author_did
        UNION
        SELECT n.originator_did, n.sort_at, n.uri FROM new_items n JOIN members m ON m.did = n.originator_did
        ON CONFLICT DO NOTHING;
        RETURN NULL;
    END $$
    """,
    """CREATE TRIGGER feed_items_fanout AFTER INSERT ON feed_items REFERENCING NEW TABLE AS new_items
       FOR EACH STATEMENT EXECUTE FUNCTION feed_fanout_items()""",
    """
    CREATE FUNCTION feed_unfan_items() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM timeline_items t USING old_items o WHERE t.item_uri = o.uri;
        RETURN NULL;
    END $$
    """,
    """CREATE TRIGGER feed_items_unfan AFTER DELETE ON feed_items REFERENCING OLD TABLE AS old_items
       FOR EACH STATEMENT EXECUTE FUNCTION feed_unfan_items()""",
    """
    CREATE FUNCTION feed_fanout_follows() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO timeline_items (member_did, sort_at, item_uri)
        SELECT n.author_did, i.sort_at, i.uri FROM new_follows n
        JOIN members m ON m.did = n.author_did JOIN feed_items i ON i.originator_did = n.subject_did
        ON CONFLICT DO NOTHING;
        RETURN NULL;
    END $$
    """,
    """CREATE TRIGGER follows_fanout AFTER INSERT ON follows REFERENCING NEW TABLE AS new_follows
       FOR EACH STATEMENT EXECUTE FUNCTION feed_fanout_follows()""",
    # An unfollow takes the account's items away unless another follow record of the same pair remains.
    """
    CREATE FUNCTION feed_unfan_follows() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM timeline_items t USING old_follows o, feed_items i
        WHERE i.originator_did = o.subject_did AND t.member_did = o.author_did
          AND t.sort_at = i.sort_at AND t.item_uri = i.uri AND o.author_did <> o.subject_did
          AND NOT EXISTS (SELECT 1 FROM follows f WHERE f.author_did = o.author_did AND f.subject_did = o.subject_did);
        RETURN NULL;
    END $$
    """,
    """CREATE TRIGGER follows_unfan AFTER DELETE ON follows REFERENCING OLD TABLE AS old_follows
       FOR EACH STATEMENT EXECUTE FUNCTION feed_unfan_follows()""",
    """
    CREATE FUNCTION feed_fanout_members() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO timeline_items (member_did, sort_at, item_uri)
        SELECT n.did, i.sort_at, i.uri FROM new_members n
        JOIN feed_items i ON i.originator_did = n.did
            OR i.originator_did IN (SELECT f.subject_did FROM follows f WHERE f.author_did = n.did)
        ON CONFLICT DO NOTHING;
        RETURN NULL;
    END $$
    """,
    """CREATE TRIGGER members_fanout AFTER INSERT ON members REFERENCING NEW TABLE AS new_members
       FOR EACH STATEMENT EXECUTE FUNCTION feed_fanout_members()""",
    """
    CREATE FUNCTION feed_unfan_members() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM timeline_items t USING old_members o WHERE t.member_did = o.did;
        RETURN NULL;
    END $$
    """,
    """CREATE TRIGGER members_unfan AFTER DELETE ON members REFERENCING OLD TABLE AS old_members
       FOR EACH STATEMENT EXECUTE FUNCTION feed_unfan_members()""",
]

VIEWS = [
    """
    CREATE FUNCTION feed_ts(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    $$
    """,
    """
    CREATE FUNCTION feed_cdn(kind text, did text, cid text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN cid IS NULL THEN NULL
               ELSE 'https://cdn.bsky.app/img/' || kind || '/plain/' || did || '/' || cid || '@jpeg' END
    $$
    """,
    """
    CREATE FUNCTION feed_blob_cid(blob jsonb) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT coalesce(blob -> 'ref' ->> '$link', blob ->> 'cid')
    $$
    """,
    # app.bsky.actor.defs#viewerState of ``viewer`` towards ``subject`` (null without a viewer).
    """
    CREATE FUNCTION feed_actor_viewer(subject text, viewer text) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
        BEGIN RETURN (SELECT CASE WHEN viewer IS NULL THEN NULL ELSE coalesce(
            (SELECT jsonb_strip_nulls(jsonb_build_object(
                'muted', false, 'blockedBy', s.blocked_by_uri IS NOT NULL, 'blocking', s.blocking_uri,
                'following', s.follow_uri, 'followedBy', s.followed_by_uri))
             FROM viewer_actor_state s WHERE s.viewer_did = viewer AND s.subject_did = subject),
            '{"muted": false, "blockedBy": false}'::jsonb) END);
    END $$
    """,
    # profileViewBasic (level 0), profileView (1) or profileViewDetailed (2).
    """
    CREATE FUNCTION feed_profile(subject text, viewer text, level int) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
        BEGIN RETURN (SELECT jsonb_strip_nulls(jsonb_build_object(
            'did', d.did, 'handle', coalesce(p.handle, 'handle.invalid'), 'displayName', p.display_name,
            'avatar', feed_cdn('avatar', d.did, p.avatar_cid), 'viewer', feed_actor_viewer(d.did, viewer),
            'labels', '[]'::jsonb, 'createdAt', p.record ->> 'createdAt',
            'description', CASE WHEN level >= 1 THEN p.description END,
            'indexedAt', CASE WHEN level >= 1 THEN feed_ts(p.updated_at) END,
            'banner', CASE WHEN level >= 2 THEN feed_cdn('banner', d.did, p.banner_cid) END,
            'followersCount', CASE WHEN level >= 2 THEN coalesce(p.followers_count, 0) END,
            'followsCount', CASE WHEN level >= 2 THEN coalesce(p.follows_count, 0) END,
            'postsCount', CASE WHEN level >= 2 THEN coalesce(p.posts_count, 0) END))
        FROM (SELECT subject AS did) d LEFT JOIN profiles p ON p.did = d.did);
    END $$
    """,
    """
    CREATE FUNCTION feed_blocked(a text, b text) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
        BEGIN RETURN (SELECT a IS NOT NULL AND EXISTS (SELECT 1 FROM viewer_actor_state s WHERE s.viewer_did = a
            AND s.subject_did = b AND (s.blocking_uri IS NOT NULL OR s.blocked_by_uri IS NOT NULL)));
    END $$
    """,
    # Media embeds (images, external, video) as their #view.
    """
    CREATE FUNCTION feed_media_view(did text, embed jsonb) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
        BEGIN RETURN (SELECT CASE embed ->> '$type'
        WHEN 'app.bsky.embed.images' THEN jsonb_build_object('$type', 'app.bsky.embed.images#view',
            'images', coalesce((SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                'thumb', feed_cdn('feed_thumbnail', did, feed_blob_cid(i -> 'image')),
                'fullsize', feed_cdn('feed_fullsize', did, feed_blob_cid(i -> 'image')),
                'alt', coalesce(i ->> 'alt', ''), 'aspectRatio', i -> 'aspectRatio')))
                FROM jsonb_array_elements(CASE WHEN jsonb_typeof(embed -> 'images') = 'array'
                                          THEN embed -> 'images' ELSE '[]' END) i), '[]'))
        WHEN 'app.bsky.embed.external' THEN jsonb_build_object('$type', 'app.bsky.embed.external#view',
            'external', jsonb_strip_nulls(jsonb_build_object(
                'uri', coalesce(embed -> 'external' ->> 'uri', ''),
                'title', coalesce(embed -> 'external' ->> 'title', ''),
                'description', coalesce(embed -> 'external' ->> 'description', ''),
                'thumb', feed_cdn('feed_thumbnail', did, feed_blob_cid(embed -> 'external' -> 'thumb')))))
        WHEN 'app.bsky.embed.video' THEN jsonb_strip_nulls(jsonb_build_object('$type', 'app.bsky.embed.video#view',
            'cid', coalesce(feed_blob_cid(embed -> 'video'), ''),
            'playlist', 'https://video.bsky.app/watch/' || did || '/' || coalesce(feed_blob_cid(embed -> 'video'), '')
                        || '/playlist.m3u8',
            'alt', embed ->> 'alt', 'aspectRatio', embed -> 'aspectRatio'))
        END);
    END $$
    """,
    # app.bsky.embed.record#view of a quoted post: viewRecord, or viewNotFound / viewBlocked.
    """
    CREATE FUNCTION feed_record_view(ref jsonb, viewer text) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
        BEGIN RETURN (SELECT jsonb_build_object('$type', 'app.bsky.embed.record#view', 'record', coalesce(
            (SELECT CASE WHEN feed_blocked(viewer, q.author_did) THEN jsonb_build_object(
                    '$type', 'app.bsky.embed.record#viewBlocked', 'uri', q.uri, 'blocked', true,
                    'author', jsonb_build_object('did', q.author_did,
                                                 'viewer', feed_actor_viewer(q.author_did, viewer)))
                ELSE jsonb_build_object('$type', 'app.bsky.embed.record#viewRecord', 'uri', q.uri, 'cid', q.cid,
                    'author', feed_profile(q.author_did, viewer, 0), 'value', q.record, 'labels', '[]'::jsonb,
                    'likeCount', q.like_count, 'repostCount', q.repost_count, 'replyCount', q.reply_count,
                    'quoteCount', q.quote_count, 'indexedAt', feed_ts(q.indexed_at)) END
             FROM posts q WHERE q.uri = ref ->> 'uri'),
            jsonb_build_object('$type', 'app.bsky.embed.record#viewNotFound',
                               'uri', coalesce(ref ->> 'uri', ''), 'notFound', true))));
    END $$
    """,
    """
    CREATE FUNCTION feed_embed_view(did text, embed jsonb, viewer text) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
        BEGIN RETURN (SELECT CASE embed ->> '$type'
        WHEN 'app.bsky.embed.record' THEN feed_record_view(embed -> 'record', viewer)
        WHEN 'app.bsky.embed.recordWithMedia' THEN jsonb_build_object(
            '$type', 'app.bsky.embed.recordWithMedia#view',
            'record', feed_record_view(embed -> 'record' -> 'record', viewer),
            'media', feed_media_view(did, embed -> 'media'))
        ELSE feed_media_view(did, embed) END);
    END $$
    """,
    # A post's self-labels (com.atproto.label.defs#selfLabels) as label objects.
    """
    CREATE FUNCTION feed_self_labels(p posts) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
        BEGIN RETURN (SELECT coalesce(jsonb_agg(jsonb_build_object('src', p.author_did, 'uri', p.uri, 'cid', p.cid,
                                                     'val', v ->> 'val', 'cts', feed_ts(p.created_at))), '[]')
        FROM jsonb_array_elements(CASE WHEN jsonb_typeof(p.labels -> 'values') = 'array'
                                  THEN p.labels -> 'values' ELSE '[]' END) v
        WHERE jsonb_typeof(v -> 'val') = 'string');
    END $$
    """,
    # app.bsky.feed.defs#postView of a stored post.
    """
    CREATE FUNCTION feed_post(p posts, viewer text) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
        BEGIN RETURN (SELECT jsonb_build_object(
            '$type', 'app.bsky.feed.defs#postView', 'uri', p.uri, 'cid', p.cid,
            'author', feed_profile(p.author_did, viewer, 0), 'record', p.record,
            'replyCount', p.reply_count, 'repostCount', p.repost_count, 'likeCount', p.like_count,
            'quoteCount', p.quote_count, 'indexedAt', feed_ts(p.indexed_at), 'labels', feed_self_labels(p),
            'viewer', CASE WHEN viewer IS NULL THEN '{}'::jsonb ELSE coalesce(
                (SELECT jsonb_strip_nulls(jsonb_build_object('like', s.like_uri, 'repost', s.repost_uri))
                 FROM viewer_post_state s WHERE s.viewer_did = viewer AND s.post_uri = p.uri), '{}') END)
            || CASE WHEN p.embed IS NULL THEN '{}'::jsonb
               ELSE coalesce(jsonb_build_object('embed', feed_embed_view(p.author_did, p.embed, viewer)), '{}') END);
    END $$
    """,
    # A post reference for unions: postView, blockedPost or notFoundPost.
    """
    CREATE FUNCTION feed_post_ref(ref text, viewer text) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
        BEGIN RETURN (SELECT coalesce(
            (SELECT CASE WHEN feed_blocked(viewer, p.author_did) THEN jsonb_build_object(
                    '$type', 'app.bsky.feed.defs#blockedPost', 'uri', p.uri, 'blocked', true,
                    'author', jsonb_build_object('did', p.author_did,
                                                 'viewer', feed_actor_viewer(p.author_did, viewer)))
                ELSE feed_post(p, viewer) END
             FROM posts p WHERE p.uri = ref),
            jsonb_build_object('$type', 'app.bsky.feed.defs#notFoundPost', 'uri', ref, 'notFound', true)));
    END $$
    """,
    # app.bsky.feed.defs#feedViewPost of a feed item (a post, or a repost with its reason).
    """
    CREATE FUNCTION feed_item(p posts, repost_uri text, viewer text) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
        BEGIN RETURN (SELECT jsonb_build_object('post', feed_post(p, viewer))
            || CASE WHEN p.reply_parent_uri IS NULL THEN '{}'::jsonb
               ELSE jsonb_build_object('reply', jsonb_build_object(
                   'root', feed_post_ref(p.reply_root_uri, viewer),
                   'parent', feed_post_ref(p.reply_parent_uri, viewer))) END
            || coalesce((SELECT jsonb_build_object('reason', jsonb_build_object(
                '$type', 'app.bsky.feed.defs#reasonRepost', 'by', feed_profile(r.author_did, viewer, 0),
                'uri', r.uri, 'cid', r.cid, 'indexedAt', feed_ts(r.indexed_at)))
                FROM reposts r WHERE r.uri = repost_uri), '{}'::jsonb));
    END $$
    """,
]

FUNCTIONS = [
    "feed_item(posts, text, text)",
    "feed_post_ref(text, text)",
    "feed_post(posts, text)",
    "feed_self_labels(posts)",
    "feed_embed_view(text, jsonb, text)",
    "feed_record_view(jsonb, text)",
    "feed_media_view(text, jsonb)",
    "feed_blocked(text, text)",
    "feed_profile(text, text, int)",
    "feed_actor_viewer(text, text)",
    "feed_blob_cid(jsonb)",
    "feed_cdn(text, text, text)",
    "feed_ts(timestamptz)",
]
DROP_TRIGGERS = [
    ("feed_items_fanout", "feed_items", "feed_fanout_items"),
    ("feed_items_unfan", "feed_items", "feed_unfan_items"),
    ("follows_fanout", "follows", "feed_fanout_follows"),
    ("follows_unfan", "follows", "feed_unfan_follows"),
    ("members_fanout", "members", "feed_fanout_members"),
    ("members_unfan", "members", "feed_unfan_members"),
]


def upgrade() -> None:
    """Create the API's tables, triggers, indexes and view functions; fill timelines of existing members."""
    for statement in (*TABLES, *TRIGGERS, *VIEWS):
        op.execute(statement)
    op.execute(
        """
        INSERT INTO timeline_items (member_did, sort_at, item_uri)
        SELECT m.did, i.sort_at, i.uri FROM members m JOIN feed_items i ON i.originator_did = m.did
            OR i.originator_did IN (SELECT f.subject_did FROM follows f WHERE f.author_did = m.did)
        ON CONFLICT DO NOTHING
        """
    )


def downgrade() -> None:
    """Drop what upgrade created."""
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
    for trigger, table, function in DROP_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    for index in ("reposts_author_uri_idx", "profiles_fts_idx", "posts_fts_idx"):
        op.execute(f"DROP INDEX IF EXISTS {index}")
    op.execute("DROP TABLE IF EXISTS timeline_items")
    op.execute("ALTER TABLE members DROP COLUMN IF EXISTS notifications_seen_at")
    op.execute("DROP TABLE IF EXISTS pds_sessions")
