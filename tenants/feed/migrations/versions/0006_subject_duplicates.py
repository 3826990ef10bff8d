"""One like (and one repost) per account and post; further records of the pair wait aside.

A repository can hold two like records of one post (a client's double submit, or two clients);
they can't be cleaned up from here. Counting every record made such a post's like count, its
likers list, its notifications and (for reposts) its timeline items show the account twice. As
Bluesky's AppView does, ``likes`` and ``reposts`` keep one record per (subject, author), unique,
and the others wait in ``subject_duplicates``; when the kept one is deleted, the earliest waiting
one takes its place (indexer/processors/subject.py).

This migration moves the duplicates already stored aside (keeping each pair's earliest record),
with their timeline items and notifications, points viewer states at the kept records and
recounts the posts concerned.

Revision ID: 0006_subject_duplicates
Revises: 0005_member_end
Create Date: 2026-12-02
"""

from alembic import op

revision = "0006_subject_duplicates"
down_revision = "0005_member_end"
branch_labels = None
depends_on = None

# (table, viewer_post_state column, count column of posts)
KINDS = (("likes", "like_uri", "like_count"), ("reposts", "repost_uri", "repost_count"))


def upgrade() -> None:
    """The side table, the duplicates moved into it, then the unique indexes."""
    op.execute(
        """
        CREATE TABLE subject_duplicates (
            uri text PRIMARY KEY,
            collection text NOT NULL CHECK (collection IN ('likes', 'reposts')),
            cid text NOT NULL,
            author_did text NOT NULL,
            subject_uri text NOT NULL,
            subject_cid text,
            created_at timestamptz NOT NULL,
            indexed_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        "CREATE INDEX subject_duplicates_pair_idx ON subject_duplicates (collection, author_did, subject_uri, "
        "created_at, uri)"
    )
    for table, column, count in KINDS:
        op.execute(
            f"""
            WITH ranked AS (
                SELECT uri, row_number() OVER (PARTITION BY subject_uri, author_did ORDER BY created_at, uri) AS n
                FROM {table}
            ), moved AS (
                DELETE FROM {table} t USING ranked r WHERE t.uri = r.uri AND r.n > 1 RETURNING t.*
            )
            INSERT INTO subject_duplicates (uri, collection, cid, author_did, subject_uri, subject_cid, created_at,
                                            indexed_at)
            SELECT uri, '{table}', cid, author_did, subject_uri, subject_cid, created_at, indexed_at FROM moved
            """
        )
        op.execute(f"CREATE UNIQUE INDEX {table}_pair_idx ON {table} (subject_uri, author_did)")
        moved = f"SELECT uri FROM subject_duplicates WHERE collection = '{table}'"
        op.execute(
            f"""
            UPDATE viewer_post_state s SET {column} = t.uri FROM {table} t
            WHERE s.{column} IN ({moved}) AND t.subject_uri = s.post_uri AND t.author_did = s.viewer_did
            """
        )
        op.execute(f"DELETE FROM notifications WHERE record_uri IN ({moved})")
        op.execute(
            f"""
            UPDATE posts p SET {count} = (SELECT count(*) FROM {table} t WHERE t.subject_uri = p.uri)
            WHERE p.uri IN (SELECT subject_uri FROM subject_duplicates WHERE collection = '{table}')
            """
        )
    op.execute("DELETE FROM feed_items WHERE uri IN (SELECT uri FROM subject_duplicates WHERE collection = 'reposts')")


def downgrade() -> None:
    """The waiting records back beside the kept ones (their timeline items and notifications are not restored)."""
    for table, _, count in KINDS:
        op.execute(f"DROP INDEX IF EXISTS {table}_pair_idx")
        op.execute(
            f"""
            INSERT INTO {table} (uri, cid, author_did, subject_uri, subject_cid, created_at, indexed_at)
            SELECT uri, cid, author_did, subject_uri, subject_cid, created_at, indexed_at
            FROM subject_duplicates WHERE collection = '{table}' ON CONFLICT (uri) DO NOTHING
            """
        )
        op.execute(
            f"""
            UPDATE posts p SET {count} = (SELECT count(*) FROM {table} t WHERE t.subject_uri = p.uri)
            WHERE p.uri IN (SELECT subject_uri FROM subject_duplicates WHERE collection = '{table}')
            """
        )
    op.execute("DROP TABLE subject_duplicates")
