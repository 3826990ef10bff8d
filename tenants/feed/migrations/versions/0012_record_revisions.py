"""An older copy of a post or profile can no longer overwrite a newer one.

Only deletes compared revisions (0011): a replayed or reordered Jetstream update, or a backfill
page fetched before a live edit, replaced an edited post with its older text. Posts and profiles
now keep the revision they were written from, and posts when they were written, so that an
upsert replaces a row only with a newer copy.

Revision ID: 0012_record_revisions
Revises: 0011_older_copies
Create Date: 2026-12-02
"""

from alembic import op

revision = "0012_record_revisions"
down_revision = "0011_older_copies"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE posts ADD COLUMN rev text, ADD COLUMN record_at timestamptz")
    op.execute("ALTER TABLE profiles ADD COLUMN rev text")


def downgrade() -> None:
    op.execute("ALTER TABLE profiles DROP COLUMN rev")
    op.execute("ALTER TABLE posts DROP COLUMN rev, DROP COLUMN record_at")
