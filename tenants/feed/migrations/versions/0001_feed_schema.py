"""Feed data model: records indexed from Bluesky, per-member state, indexer bookkeeping.

Every record table is keyed by its AT URI so that live and backfilled copies, replays and
duplicates land on one row. Counts are aggregates of the stored rows (see tenants/feed/indexer/README.md).

Revision ID: 0001_feed_schema
Revises:
Create Date: 2025-11-25
"""

from alembic import op

from shared.auth.refresh import create_refresh_tokens_table

revision = "0001_feed_schema"
down_revision = None
branch_labels = None
depends_on = None

TABLES = [
    """
    CREATE TABLE profiles (
        did text PRIMARY KEY,
        handle text,
        display_name text,
        description text,
        avatar_cid text,
        banner_cid text,
        record jsonb,
        followers_count integer NOT NULL DEFAULT 0,
        follows_count integer NOT NULL DEFAULT 0,
        posts_count integer NOT NULL DEFAULT 0,
        is_member boolean NOT NULL DEFAULT false,
        account_status text,
        pds_url text,
        indexed_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE INDEX profiles_handle_idx ON profiles (lower(handle))",
    "CREATE INDEX profiles_member_idx ON profiles (did) WHERE is_member",
    """
    CREATE TABLE members (
        did text PRIMARY KEY,
        handle text,
        pds_url text,
        joined_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz
    )
    """,
    """
    CREATE TABLE posts (
        uri text PRIMARY KEY,
        cid text NOT NULL,
        author_did text NOT NULL,
        text text NOT NULL DEFAULT '',
        created_at timestamptz NOT NULL,
        indexed_at timestamptz NOT NULL DEFAULT now(),
        sort_at timestamptz NOT NULL,
        reply_parent_uri text,
        reply_root_uri text,
        quote_uri text,
        like_count integer NOT NULL DEFAULT 0,
        repost_count integer NOT NULL DEFAULT 0,
        reply_count integer NOT NULL DEFAULT 0,
        quote_count integer NOT NULL DEFAULT 0,
        embed jsonb,
        facets jsonb,
        labels jsonb,
        langs text[],
        tags text[] NOT NULL DEFAULT '{}',
        is_community boolean NOT NULL DEFAULT false,
        is_local boolean NOT NULL DEFAULT false,
        record jsonb NOT NULL
    )
    """,
    "CREATE INDEX posts_author_idx ON posts (author_did, sort_at DESC, uri DESC)",
    "CREATE INDEX posts_thread_idx ON posts (reply_root_uri, sort_at) WHERE reply_root_uri IS NOT NULL",
    "CREATE INDEX posts_parent_idx ON posts (reply_parent_uri) WHERE reply_parent_uri IS NOT NULL",
    "CREATE INDEX posts_quote_idx ON posts (quote_uri) WHERE quote_uri IS NOT NULL",
    "CREATE INDEX posts_community_idx ON posts (sort_at DESC, uri DESC) WHERE is_community",
    "CREATE INDEX posts_local_idx ON posts (sort_at DESC, uri DESC) WHERE is_local",
    "CREATE INDEX posts_tags_idx ON posts USING gin (tags) WHERE is_community",
    # One row per post and per repost: the following timeline and author feeds read only this.
    """
    CREATE TABLE feed_items (
        uri text PRIMARY KEY,
        type text NOT NULL CHECK (type IN ('post', 'repost')),
        post_uri text NOT NULL,
        originator_did text NOT NULL,
        sort_at timestamptz NOT NULL
    )
    """,
    "CREATE INDEX feed_items_originator_idx ON feed_items (originator_did, sort_at DESC, uri DESC)",
    "CREATE INDEX feed_items_post_idx ON feed_items (post_uri)",
    """
    CREATE TABLE likes (
        uri text PRIMARY KEY,
        cid text NOT NULL,
        author_did text NOT NULL,
        subject_uri text NOT NULL,
        subject_cid text,
        created_at timestamptz NOT NULL,
        indexed_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE INDEX likes_subject_idx ON likes (subject_uri, created_at DESC)",
    "CREATE INDEX likes_author_idx ON likes (author_did, created_at DESC)",
    """
    CREATE TABLE reposts (
        uri text PRIMARY KEY,
        cid text NOT NULL,
        author_did text NOT NULL,
        subject_uri text NOT NULL,
        subject_cid text,
        created_at timestamptz NOT NULL,
        indexed_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE INDEX reposts_subject_idx ON reposts (subject_uri, created_at DESC)",
    "CREATE INDEX reposts_author_idx ON reposts (author_did, created_at DESC)",
    """
    CREATE TABLE follows (
        uri text PRIMARY KEY,
        cid text NOT NULL,
        author_did text NOT NULL,
        subject_did text NOT NULL,
        created_at timestamptz NOT NULL,
        indexed_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE INDEX follows_author_idx ON follows (author_did, subject_did)",
    "CREATE INDEX follows_subject_idx ON follows (subject_did, created_at DESC)",
    """
    CREATE TABLE blocks (
        uri text PRIMARY KEY,
        cid text NOT NULL,
        author_did text NOT NULL,
        subject_did text NOT NULL,
        created_at timestamptz NOT NULL,
        indexed_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE INDEX blocks_author_idx ON blocks (author_did, subject_did)",
    "CREATE INDEX blocks_subject_idx ON blocks (subject_did)",
    """
    CREATE TABLE notifications (
        id bigserial PRIMARY KEY,
        recipient_did text NOT NULL,
        type text NOT NULL CHECK (type IN ('like', 'repost', 'follow', 'reply', 'mention', 'quote')),
        actor_did text NOT NULL,
        record_uri text NOT NULL,
        record_cid text,
        subject_uri text,
        is_read boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL,
        indexed_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (record_uri, recipient_did, type)
    )
    """,
    "CREATE INDEX notifications_recipient_idx ON notifications (recipient_did, created_at DESC, id DESC)",
    "CREATE INDEX notifications_unread_idx ON notifications (recipient_did) WHERE NOT is_read",
    # What each member (viewer) did to a post or an account: one lookup hydrates a whole page.
    """
    CREATE TABLE viewer_post_state (
        viewer_did text NOT NULL,
        post_uri text NOT NULL,
        like_uri text,
        repost_uri text,
        PRIMARY KEY (viewer_did, post_uri)
    )
    """,
    """
    CREATE TABLE viewer_actor_state (
        viewer_did text NOT NULL,
        subject_did text NOT NULL,
        follow_uri text,
        followed_by_uri text,
        blocking_uri text,
        blocked_by_uri text,
        PRIMARY KEY (viewer_did, subject_did)
    )
    """,
    """
    CREATE TABLE push_subscriptions (
        id bigserial PRIMARY KEY,
        member_did text NOT NULL REFERENCES members (did) ON DELETE CASCADE,
        endpoint text NOT NULL UNIQUE,
        p256dh text NOT NULL,
        auth text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_success_at timestamptz
    )
    """,
    "CREATE INDEX push_subscriptions_member_idx ON push_subscriptions (member_did)",
    # Deleted posts of followed accounts, so a backfill page fetched before the delete can't revive one.
    """
    CREATE TABLE tombstones (
        uri text PRIMARY KEY,
        deleted_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    """
    CREATE TABLE backfill_jobs (
        did text PRIMARY KEY,
        reason text NOT NULL,
        state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done', 'failed')),
        collections text[] NOT NULL,
        collection_index integer NOT NULL DEFAULT 0,
        page_cursor text,
        records integer NOT NULL DEFAULT 0,
        attempts integer NOT NULL DEFAULT 0,
        last_error text,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE INDEX backfill_jobs_queue_idx ON backfill_jobs (next_attempt_at) WHERE state = 'pending'",
    # One row per Jetstream subscription: the cursor (written with each batch) and the heartbeat.
    """
    CREATE TABLE indexer_state (
        name text PRIMARY KEY,
        cursor_us bigint,
        endpoint text,
        pid integer,
        started_at timestamptz,
        heartbeat_at timestamptz,
        stopped_at timestamptz,
        connected boolean NOT NULL DEFAULT false,
        events_total bigint NOT NULL DEFAULT 0,
        kept_total bigint NOT NULL DEFAULT 0,
        skipped_total bigint NOT NULL DEFAULT 0,
        malformed_total bigint NOT NULL DEFAULT 0,
        malformed jsonb NOT NULL DEFAULT '{}',
        events_per_s real NOT NULL DEFAULT 0,
        backfill_queue integer NOT NULL DEFAULT 0,
        push_sent bigint NOT NULL DEFAULT 0,
        push_failed bigint NOT NULL DEFAULT 0,
        rss_bytes bigint,
        last_error text,
        last_error_at timestamptz
    )
    """,
]

DROP_ORDER = [
    "indexer_state",
    "backfill_jobs",
    "tombstones",
    "push_subscriptions",
    "viewer_actor_state",
    "viewer_post_state",
    "notifications",
    "blocks",
    "follows",
    "reposts",
    "likes",
    "feed_items",
    "posts",
    "members",
    "profiles",
    "refresh_tokens",
]


def upgrade() -> None:
    """Create the feed schema."""
    create_refresh_tokens_table(op)
    for statement in TABLES:
        op.execute(statement)


def downgrade() -> None:
    """Drop the feed schema."""
    for table in DROP_ORDER:
        op.execute(f"DROP TABLE IF EXISTS {table}")
