"""`onebox backup` then `onebox restore` brings a tenant's database back exactly as dumped."""

from __future__ import annotations

from pathlib import Path

import psycopg

from tests.ops.stack import Stack


def test_backup_change_restore_finds_the_original(stack: Stack) -> None:
    dsn = stack.tenant_dsn("wishlist")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE backup_probe (id int PRIMARY KEY, word text NOT NULL)")
        conn.execute("INSERT INTO backup_probe VALUES (1, 'original')")

    result = stack.cli("backup", "wishlist")
    assert result.returncode == 0, result.stderr
    dump = Path(result.stdout.split(": ", 1)[1].rsplit(" (", 1)[0])
    assert dump.parent == stack.data_dir / "backups" / "wishlist" and dump.stat().st_mode & 0o077 == 0

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("UPDATE backup_probe SET word = 'changed'")
        conn.execute("CREATE TABLE made_after_the_dump (id int)")

    refused = stack.cli("restore", "wishlist", str(dump))
    assert refused.returncode != 0
    assert "pass --force" in refused.stderr
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT word FROM backup_probe").fetchone() == ("changed",)

    restored = stack.cli("restore", "wishlist", str(dump), "--force")
    assert restored.returncode == 0, restored.stderr
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT word FROM backup_probe").fetchone() == ("original",)
        assert conn.execute("SELECT to_regclass('made_after_the_dump')").fetchone() == (None,)
        # The tenant's own tables came back too (the dump is the whole database, not one table).
        assert conn.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)


def test_one_tenants_failure_leaves_the_others_backed_up(stack: Stack) -> None:
    # A file where astro's backup folder belongs: mkdir fails with an OSError, which used to end
    # the whole run before wishlist (next in ONEBOX_TENANTS) was dumped.
    blocker = stack.data_dir / "backups" / "astro"
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("not a folder")
    try:
        result = stack.cli("backup", ONEBOX_TENANTS="astro,wishlist")
    finally:
        blocker.unlink()
    assert result.returncode != 0
    assert "astro: FAILED" in result.stderr and "File exists" in result.stderr, result.stderr
    assert "backup failed for astro; the others were written" in result.stderr
    (line,) = result.stdout.splitlines()
    assert line.startswith("wishlist: ")
    assert Path(line.split(": ", 1)[1].rsplit(" (", 1)[0]).is_file()
    assert "Traceback" not in result.stderr
