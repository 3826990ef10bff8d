"""Inactive accounts (taken down, suspended, deactivated, deleted) are hidden from every view.

``profiles_inactive_idx`` holds only the accounts whose ``account_status`` is set, so checking
an account costs a probe of an index of a few pages (or a hash of its rows), and adds nothing to
the rows of active accounts. Quoted posts and thread ancestors by such an account are shown as
not found, as Bluesky's AppView does. Statuses that AppView does not act on (``throttled``,
``desynchronized``: the repository is still hosted) are cleared; the indexer no longer stores them.

Revision ID: 0014_account_status
Revises: 0013_push_dropped
Create Date: 2026-12-03
"""

from alembic import op

revision = "0014_account_status"
down_revision = "0013_push_dropped"
branch_labels = None
depends_on = None

INACTIVE = "('takendown', 'suspended', 'deactivated', 'deleted')"
ACTIVE_AUTHOR = "NOT EXISTS (SELECT 1 FROM profiles ia WHERE ia.did = {did} AND ia.account_status IS NOT NULL)"

RECORD_VIEW = """
CREATE OR REPLACE FUNCTION feed_record_view(ref jsonb, viewer text) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
    BEGIN RETURN (SELECT jsonb_build_object('$type', 'app.bsky.embed.record#view', 'record', coalesce(
        (SELECT CASE WHEN feed_blocked(viewer, q.author_did) THEN jsonb_build_object(
                '$type', 'app.bsky.embed.record#viewBlocked', 'uri', q.uri, 'blocked', true,
                'author', jsonb_build_object('did', q.author_did,
                                             'viewer', feed_actor_viewer(q.author_did, viewer)))
            ELSE jsonb_build_object('$type', 'app.bsky.embed.record#viewRecord', 'uri', q.uri, 'cid', q.cid,
                'author', feed_profile(q.author_did, viewer, 0), 'value', q.record, 'labels', '[]'::jsonb,
                'likeCount', q.like_count, 'repostCount', q.repost_count, 'replyCount', q.reply_count,
                'quoteCount', q.quote_count, 'indexedAt', feed_ts(q.indexed_at)) END
         FROM posts q WHERE q.uri = ref ->> 'uri'{active}),
        jsonb_build_object('$type', 'app.bsky.embed.record#viewNotFound',
                           'uri', coalesce(ref ->> 'uri', ''), 'notFound', true))));
END $$
"""
POST_REF = """
CREATE OR REPLACE FUNCTION feed_post_ref(ref text, viewer text) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
    BEGIN RETURN (SELECT coalesce(
        (SELECT CASE WHEN feed_blocked(viewer, p.author_did) THEN jsonb_build_object(
                '$type', 'app.bsky.feed.defs#blockedPost', 'uri', p.uri, 'blocked', true,
                'author', jsonb_build_object('did', p.author_did,
                                             'viewer', feed_actor_viewer(p.author_did, viewer)))
            ELSE feed_post(p, viewer) END
         FROM posts p WHERE p.uri = ref{active}),
        jsonb_build_object('$type', 'app.bsky.feed.defs#notFoundPost', 'uri', ref, 'notFound', true)));
END $$
"""


def upgrade() -> None:
    op.execute(f"UPDATE profiles SET account_status = NULL WHERE account_status NOT IN {INACTIVE}")
    op.execute("CREATE INDEX profiles_inactive_idx ON profiles (did) WHERE account_status IS NOT NULL")
    op.execute(RECORD_VIEW.format(active=" AND " + ACTIVE_AUTHOR.format(did="q.author_did")))
    op.execute(POST_REF.format(active=" AND " + ACTIVE_AUTHOR.format(did="p.author_did")))


def downgrade() -> None:
    op.execute(POST_REF.format(active=""))
    op.execute(RECORD_VIEW.format(active=""))
    op.execute("DROP INDEX profiles_inactive_idx")
