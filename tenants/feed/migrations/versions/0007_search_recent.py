"""Posts newest first, for search: a word in most posts is found by walking back from the newest.

Search ranks the newest 1,000 posts that match (views/search.py). For a rare word PostgreSQL
reads the full-text index; for a common one it walks this index and stops after 1,000 matches,
where before it ranked every match (17 s for a word in all of 1,000,000 posts).

Revision ID: 0007_search_recent
Revises: 0006_record_duplicates
Create Date: 2026-12-02
"""

from alembic import op

revision = "0007_search_recent"
down_revision = "0006_record_duplicates"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX posts_sort_idx ON posts (sort_at DESC)")


def downgrade() -> None:
    op.execute("DROP INDEX posts_sort_idx")
