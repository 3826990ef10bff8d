"""A server's question-of-the-week schedule outlives the account that saved it last.

``qotw_configs.owner_id`` cascaded, so deleting that one account stopped the whole server's
question of the week. It becomes nullable, set to NULL when the account goes; the schedule
keeps running and the next manager who saves it becomes its owner.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK = "qotw_configs_owner_id_fkey"  # PostgreSQL's name for 0001's unnamed constraint


def _owner_fk(ondelete: str) -> None:
    op.drop_constraint(FK, "qotw_configs", type_="foreignkey")
    op.create_foreign_key(FK, "qotw_configs", "users", ["owner_id"], ["id"], ondelete=ondelete)


def upgrade() -> None:
    op.alter_column("qotw_configs", "owner_id", nullable=True)
    _owner_fk("SET NULL")


def downgrade() -> None:
    # 0001 cannot hold a schedule without an owner: those go, as they would have with the account.
    op.execute("DELETE FROM qotw_configs WHERE owner_id IS NULL")
    op.alter_column("qotw_configs", "owner_id", nullable=False)
    _owner_fk("CASCADE")
