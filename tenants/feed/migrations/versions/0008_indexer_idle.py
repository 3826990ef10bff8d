"""The indexer says why it is idle (no Jetstream configured), so health tells idle from running.

Revision ID: 0008_indexer_idle
Revises: 0007_search_recent
Create Date: 2026-12-02
"""

from alembic import op

revision = "0008_indexer_idle"
down_revision = "0007_search_recent"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE indexer_state ADD COLUMN idle_reason text")


def downgrade() -> None:
    op.execute("ALTER TABLE indexer_state DROP COLUMN idle_reason")
