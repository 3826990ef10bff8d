"""Backfill jobs count how often they were queued again, so a task of an older queuing stops.

A job re-queued while its task still ran (an account the member follows back while its profile
is being fetched) was then marked done by the old task's last page, and the new collections
were never fetched. Pages now save only into the generation their task claimed.

Revision ID: 0010_backfill_generation
Revises: 0009_search_filters
Create Date: 2026-12-02
"""

from alembic import op

revision = "0010_backfill_generation"
down_revision = "0009_search_filters"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE backfill_jobs ADD COLUMN generation integer NOT NULL DEFAULT 0")


def downgrade() -> None:
    op.execute("ALTER TABLE backfill_jobs DROP COLUMN generation")
