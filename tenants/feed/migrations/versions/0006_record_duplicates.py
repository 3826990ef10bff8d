"""One like, repost, follow and block per account and subject; further records of a pair wait aside.

A repository can hold two like records of one post, or two follows of one account (a client's
double submit, or two clients); they can't be cleaned up from here. Counting every record made
the like count, the likers, the notifications and (for reposts) the timelines show the account
twice, and deleting one of two follows made the viewer state say "not following" while the other
still followed. As Bluesky's AppView does, each table keeps one record per pair, unique, and the
others wait in ``record_duplicates``; when the kept one is deleted, the earliest waiting one takes
its place with the effects of an insert (indexer/processors/duplicates.py).

This migration moves the duplicates already stored aside (keeping each pair's earliest record)
with their timeline items and notifications, points viewer states at the kept records and
recounts what they counted in.

Revision ID: 0006_record_duplicates
Revises: 0005_member_end
Create Date: 2026-12-02
"""

from alembic import op

revision = "0006_record_duplicates"
down_revision = "0005_member_end"
branch_labels = None
depends_on = None

# table -> (subject column, the index the unique one replaces, viewer columns on the author's side)
TABLES = {
    "likes": ("subject_uri", None, ("viewer_post_state", "like_uri", "post_uri")),
    "reposts": ("subject_uri", None, ("viewer_post_state", "repost_uri", "post_uri")),
    "follows": ("subject_did", "follows_author_idx", ("viewer_actor_state", "follow_uri", "subject_did")),
    "blocks": ("subject_did", "blocks_author_idx", ("viewer_actor_state", "blocking_uri", "subject_did")),
}
# The subject's side of a graph record: (table, viewer column).
AIMED = {"follows": "followed_by_uri", "blocks": "blocked_by_uri"}
MOVED = "SELECT uri FROM record_duplicates WHERE collection = '{table}'"


def _move_aside(table: str, subject: str) -> None:
    cid = "subject_cid" if subject == "subject_uri" else "NULL"
    op.execute(
        f"""
        WITH ranked AS (
            SELECT uri, row_number() OVER (PARTITION BY author_did, {subject} ORDER BY created_at, uri) AS n
            FROM {table}
        ), moved AS (
            DELETE FROM {table} t USING ranked r WHERE t.uri = r.uri AND r.n > 1 RETURNING t.*
        )
        INSERT INTO record_duplicates (uri, collection, cid, author_did, subject, subject_cid, created_at, indexed_at)
        SELECT uri, '{table}', cid, author_did, {subject}, {cid}, created_at, indexed_at FROM moved
        """
    )


def _repoint(table: str, subject: str, state: str, column: str, key: str, viewer: str) -> None:
    """Viewer states naming a record set aside name the pair's kept record instead."""
    author, target = ("viewer_did", key) if viewer == "author" else (key, "viewer_did")
    op.execute(
        f"""
        UPDATE {state} s SET {column} = t.uri FROM {table} t
        WHERE s.{column} IN ({MOVED.format(table=table)}) AND t.author_did = s.{author} AND t.{subject} = s.{target}
        """
    )


def upgrade() -> None:
    """The side table, the duplicates moved into it, then the unique indexes and the recounts."""
    op.execute(
        """
        CREATE TABLE record_duplicates (
            uri text PRIMARY KEY,
            collection text NOT NULL CHECK (collection IN ('likes', 'reposts', 'follows', 'blocks')),
            cid text NOT NULL,
            author_did text NOT NULL,
            subject text NOT NULL,
            subject_cid text,
            created_at timestamptz NOT NULL,
            indexed_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        "CREATE INDEX record_duplicates_pair_idx ON record_duplicates "
        "(collection, author_did, subject, created_at, uri)"
    )
    for table, (subject, replaced, (state, column, key)) in TABLES.items():
        _move_aside(table, subject)
        op.execute(f"CREATE UNIQUE INDEX {table}_pair_idx ON {table} (author_did, {subject})")
        if replaced:
            op.execute(f"DROP INDEX {replaced}")
        _repoint(table, subject, state, column, key, "author")
        if table in AIMED:
            _repoint(table, subject, state, AIMED[table], "subject_did", "subject")
        op.execute(f"DELETE FROM notifications WHERE record_uri IN ({MOVED.format(table=table)})")
    op.execute("DELETE FROM feed_items WHERE uri IN (SELECT uri FROM record_duplicates WHERE collection = 'reposts')")
    touched = "SELECT subject FROM record_duplicates WHERE collection = '{0}'"
    op.execute(
        f"""
        UPDATE posts p SET like_count = (SELECT count(*) FROM likes t WHERE t.subject_uri = p.uri),
                           repost_count = (SELECT count(*) FROM reposts t WHERE t.subject_uri = p.uri)
        WHERE p.uri IN ({touched.format("likes")} UNION {touched.format("reposts")})
        """
    )
    op.execute(
        f"""
        UPDATE profiles p SET followers_count = (SELECT count(*) FROM follows f WHERE f.subject_did = p.did),
                              follows_count = (SELECT count(*) FROM follows f WHERE f.author_did = p.did)
        WHERE p.did IN ({touched.format("follows")}
                        UNION SELECT author_did FROM record_duplicates WHERE collection = 'follows')
        """
    )


def downgrade() -> None:
    """The waiting records back beside the kept ones (their timeline items and notifications are not restored)."""
    for table, (subject, replaced, _) in TABLES.items():
        op.execute(f"DROP INDEX IF EXISTS {table}_pair_idx")
        if replaced:
            op.execute(f"CREATE INDEX {replaced} ON {table} (author_did, subject_did)")
        cid = ", subject_cid" if subject == "subject_uri" else ""
        op.execute(
            f"""
            INSERT INTO {table} (uri, cid, author_did, {subject}{cid}, created_at, indexed_at)
            SELECT uri, cid, author_did, subject{cid}, created_at, indexed_at
            FROM record_duplicates WHERE collection = '{table}' ON CONFLICT (uri) DO NOTHING
            """
        )
    op.execute(
        """
        UPDATE posts p SET like_count = (SELECT count(*) FROM likes t WHERE t.subject_uri = p.uri),
                           repost_count = (SELECT count(*) FROM reposts t WHERE t.subject_uri = p.uri)
        WHERE p.uri IN (SELECT subject FROM record_duplicates WHERE collection IN ('likes', 'reposts'))
        """
    )
    op.execute(
        """
        UPDATE profiles p SET followers_count = (SELECT count(*) FROM follows f WHERE f.subject_did = p.did),
                              follows_count = (SELECT count(*) FROM follows f WHERE f.author_did = p.did)
        WHERE p.did IN (SELECT subject FROM record_duplicates WHERE collection = 'follows'
                        UNION SELECT author_did FROM record_duplicates WHERE collection = 'follows')
        """
    )
    op.execute("DROP TABLE record_duplicates")
