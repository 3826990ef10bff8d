"""An older copy of a record can no longer undo a newer write.

Only posts had tombstones, and they only stopped backfill: a deleted follow, repost, like or
block came back from a backfill page fetched before the delete, and the echo of a record created
and deleted through onebox came back for a moment (notifying again). Tombstones now cover every
record kind, carry the revision of the delete, and are purged after the replay window.

A profile record or handle from a backfill page fetched before a live change overwrote the
change: profiles now say when their record and their handle were last written.

Revision ID: 0011_older_copies
Revises: 0010_backfill_generation
Create Date: 2026-12-02
"""

from alembic import op

revision = "0011_older_copies"
down_revision = "0010_backfill_generation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE tombstones ADD COLUMN rev text")
    op.execute("CREATE INDEX tombstones_deleted_idx ON tombstones (deleted_at)")
    op.execute("ALTER TABLE profiles ADD COLUMN record_at timestamptz, ADD COLUMN handle_at timestamptz")


def downgrade() -> None:
    op.execute("ALTER TABLE profiles DROP COLUMN record_at, DROP COLUMN handle_at")
    op.execute("DROP INDEX tombstones_deleted_idx")
    op.execute("ALTER TABLE tombstones DROP COLUMN rev")
