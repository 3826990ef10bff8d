"""Restore on a server with PostgreSQL's own defaults (as an external one has): every tenant's dump
comes back, and a dump that can't be read, or a replay that fails, changes nothing."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from gateway import backup, bootstrap, registry
from shared.db import provision
from shared.db.urls import libpq, tenant_url
from shared.settings import Settings
from tests.support.database import test_database as database_server


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Every tenant provisioned and migrated on a server of its own (not the session's: its pools)."""
    base = tmp_path_factory.mktemp("restore")
    with database_server(base) as (url, _server):
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, secret_key=secrets.token_urlsafe(48), database_url=url, data_dir=base / "var",
            db_prefix="obrestore",
        )  # fmt: skip
        bootstrap.init_databases(settings, url)
        bootstrap.upgrade_databases(settings, url)
        yield settings
        provision.drop(url, settings.db_prefix, list(registry.TENANTS))


def dsn(settings: Settings, tenant: str) -> str:
    url = tenant_url(settings.database_url or "", settings.db_prefix, tenant, settings.require_secret(), "postgresql")
    return libpq(url)


@pytest.mark.parametrize("tenant", sorted(registry.TENANTS))
def test_every_tenants_dump_restores(box: Settings, tenant: str) -> None:
    # Sequences a column owns (scanned before their table on a default server) and the feed's
    # index on a function (built with an empty search_path) failed the restore.
    backup.restore(box, tenant, backup.backup(box, tenant, keep=7), force=True)


def test_a_view_dropped_by_an_earlier_cascade_is_no_obstacle(box: Settings) -> None:
    with psycopg.connect(dsn(box, "astro"), autocommit=True) as conn:
        for i in range(12):
            conn.execute(f"CREATE TABLE wipe_probe_{i:02d} (id int)")
        conn.execute("CREATE VIEW wipe_probe_view AS SELECT * FROM wipe_probe_00")
    dump = backup.backup(box, "astro", keep=7)
    backup.restore(box, "astro", dump, force=True)
    with psycopg.connect(dsn(box, "astro"), autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('wipe_probe_view')").fetchone() == ("wipe_probe_view",)
        conn.execute("DROP VIEW wipe_probe_view")
        for i in range(12):
            conn.execute(f"DROP TABLE wipe_probe_{i:02d}")


def test_a_truncated_dump_changes_nothing(box: Settings, tmp_path: Path) -> None:
    with psycopg.connect(dsn(box, "wishlist"), autocommit=True) as conn:
        conn.execute("CREATE TABLE truncated_probe (id int PRIMARY KEY, word text)")
        conn.execute("INSERT INTO truncated_probe SELECT g, md5(g::text) FROM generate_series(1, 20000) g")
    try:
        dump = backup.backup(box, "wishlist", keep=7)
        with psycopg.connect(dsn(box, "wishlist"), autocommit=True) as conn:
            conn.execute("INSERT INTO truncated_probe VALUES (0, 'written after the dump')")
        truncated = tmp_path / "truncated.dump"
        truncated.write_bytes(dump.read_bytes()[:-1])  # an interrupted copy (scp, a full disk)
        with pytest.raises(RuntimeError, match="nothing changed"):
            backup.restore(box, "wishlist", truncated, force=True)
        with psycopg.connect(dsn(box, "wishlist")) as conn:
            assert conn.execute("SELECT count(*) FROM truncated_probe WHERE id = 0").fetchone() == (1,)
            assert conn.execute("SELECT count(*) FROM pg_indexes WHERE tablename = 'truncated_probe'").fetchone() == (
                1,
            )
    finally:
        with psycopg.connect(dsn(box, "wishlist"), autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS truncated_probe")


def test_keeping_no_dumps_still_keeps_the_new_one(box: Settings) -> None:
    assert backup.backup(box, "wishlist", keep=0).exists()


def test_another_tenants_dump_is_refused(box: Settings) -> None:
    with psycopg.connect(dsn(box, "astro"), autocommit=True) as conn:
        conn.execute("CREATE TABLE origin_probe (id int)")
    try:
        wishlist_dump = backup.backup(box, "wishlist", keep=7)
        with pytest.raises(RuntimeError, match=r"is a dump of obrestore_wishlist, not of astro's database; nothing"):
            backup.restore(box, "astro", wishlist_dump, force=True)
        with psycopg.connect(dsn(box, "astro")) as conn:
            assert conn.execute("SELECT to_regclass('origin_probe')").fetchone() == ("origin_probe",)
    finally:
        with psycopg.connect(dsn(box, "astro"), autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS origin_probe")
