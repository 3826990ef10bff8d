"""Reservations in their own table, and value checks on items, tags and wishlists.

Who reserved an item lives apart from the item, so no query over ``items`` can hand it to the
owner by accident: only the shared view joins ``reservations``, and only to say "reserved".

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_column("items", "reserved_by")
    op.drop_column("items", "reserved_at")
    op.create_table(
        "reservations",
        sa.Column("item_id", sa.BigInteger, sa.ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
    )
    op.create_index("reservations_user_id_idx", "reservations", ["user_id"])
    # The API validates all of these first; the checks are the backstop for other writers.
    op.create_check_constraint("items_price", "items", "price >= 0")
    op.create_check_constraint("items_currency", "items", "currency ~ '^[A-Z]{3}$'")
    op.create_check_constraint("items_price_currency", "items", "(price IS NULL) = (currency IS NULL)")
    op.create_check_constraint("items_url", "items", "url ~* '^https?://'")


def downgrade() -> None:
    for name in ("items_url", "items_price_currency", "items_currency", "items_price"):
        op.drop_constraint(name, "items", type_="check")
    op.drop_table("reservations")
    op.add_column("items", sa.Column("reserved_at", sa.DateTime(timezone=True)))
    op.add_column("items", sa.Column("reserved_by", sa.BigInteger, sa.ForeignKey("users.id", ondelete="SET NULL")))
