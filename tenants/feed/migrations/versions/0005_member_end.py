"""When a membership ends, the member's stored PDS session goes with it.

Membership ends by deleting the ``members`` row. The sealed PDS session is what lets the API
write to the account's repository; keeping it for someone who left would keep their credentials
for nothing, and let an access token issued before the end keep writing until it expires.

Revision ID: 0005_member_end
Revises: 0004_feed_hot_path
Create Date: 2026-11-25
"""

from alembic import op

revision = "0005_member_end"
down_revision = "0004_feed_hot_path"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """A statement trigger deleting the sessions of removed members; sessions of past removals too."""
    op.execute(
        """
        CREATE FUNCTION feed_forget_sessions() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM pds_sessions s USING old_members o WHERE s.did = o.did;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        """CREATE TRIGGER members_forget_sessions AFTER DELETE ON members REFERENCING OLD TABLE AS old_members
           FOR EACH STATEMENT EXECUTE FUNCTION feed_forget_sessions()"""
    )
    op.execute("DELETE FROM pds_sessions s WHERE NOT EXISTS (SELECT 1 FROM members m WHERE m.did = s.did)")


def downgrade() -> None:
    """Drop the trigger (sessions deleted meanwhile stay deleted)."""
    op.execute("DROP TRIGGER IF EXISTS members_forget_sessions ON members")
    op.execute("DROP FUNCTION IF EXISTS feed_forget_sessions()")
