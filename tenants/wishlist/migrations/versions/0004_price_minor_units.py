"""Prices in their currency's minor units: JPY 1500, EUR 12.50, KWD 1.250.

The column held two decimal places for every currency, so a yen price read "1500.00" and a dinar's
third place could not be stored. It now keeps the scale each price is written with (the routes
write it to the currency's places), bounded as before to ten digits of whole units.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here as they were on the revision's date (tenants.wishlist.currencies may grow).
WHOLE = "'BIF','CLP','DJF','GNF','ISK','JPY','KMF','KRW','PYG','RWF','UGX','VND','VUV','XAF','XOF','XPF'"
THREE = "'BHD','IQD','JOD','KWD','LYD','OMR','TND'"


def upgrade() -> None:
    op.execute("ALTER TABLE items ALTER COLUMN price TYPE numeric")
    # A stored fraction of a yen is left as it was: rounding would change what someone wrote.
    op.execute(f"UPDATE items SET price = round(price) WHERE currency IN ({WHOLE}) AND price = round(price)")
    op.execute(f"UPDATE items SET price = round(price, 3) WHERE currency IN ({THREE})")
    op.create_check_constraint("items_price_places", "items", "scale(price) <= 3 AND price < 1e10")


def downgrade() -> None:
    op.drop_constraint("items_price_places", "items")
    op.execute("ALTER TABLE items ALTER COLUMN price TYPE numeric(12, 2) USING round(price, 2)")
