"""The indexer keeps count of web push notices it dropped because its queue was full.

They were counted in memory and never written, so health reported a success rate that left out
notifications no device ever got.

Revision ID: 0013_push_dropped
Revises: 0012_record_revisions
Create Date: 2026-12-03
"""

from alembic import op

revision = "0013_push_dropped"
down_revision = "0012_record_revisions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE indexer_state ADD COLUMN push_dropped bigint NOT NULL DEFAULT 0")


def downgrade() -> None:
    op.execute("ALTER TABLE indexer_state DROP COLUMN push_dropped")
