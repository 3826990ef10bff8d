"""``onebox backup`` and ``onebox restore``: one consistent ``pg_dump`` per tenant database.

Dumps run as the tenant's own role (its credentials reach nothing else) in custom format, into
``var/backups/<tenant>/<tenant>-<UTC time>.dump``; the newest ``ONEBOX_BACKUP_KEEP`` are kept.
pg_dump reads one snapshot, so a dump is consistent while the box keeps serving.

A restore must leave the database exactly as dumped: ``pg_restore --clean`` only drops what the
dump contains, so a table created after the dump would survive and break the next migration.
So the restore drops every object the tenant owns and replays the dump in one transaction: the
dump is first turned into SQL in full (a truncated or corrupt file stops there, before anything
is dropped), then ``psql --single-transaction`` runs the drop and the SQL: it either completes or
changes nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from sqlalchemy.engine import URL

from gateway import bootstrap
from shared.db.embedded import bin_dir
from shared.db.urls import libpq, resolve_admin_url, tenant_url
from shared.settings import Settings

SHIPPED_VERSIONS = (16, 18)

# Everything the tenant role owns in its schema, dropped before the dump is replayed. The
# statements are all written out before the first runs (a name looked up after an earlier
# CASCADE dropped its object would print as a bare OID), tables first; sequences a column owns
# go with their table (dropping one first is refused).
WIPE = """
DO $$
DECLARE stmt text;
BEGIN
  FOREACH stmt IN ARRAY ARRAY(
    SELECT statement FROM (
      SELECT 1 AS step, format('DROP %s IF EXISTS %s CASCADE',
                  CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                 WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
                  c.oid::regclass) AS statement
      FROM pg_class c
      WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
        AND c.relowner = current_user::regrole AND NOT c.relispartition
        AND NOT (c.relkind = 'S' AND EXISTS (
            SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
              AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))
      UNION ALL
      SELECT 2, format('DROP ROUTINE IF EXISTS %s CASCADE', p.oid::regprocedure)
      FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND p.proowner = current_user::regrole
      UNION ALL
      SELECT 3, format('DROP TYPE IF EXISTS %s CASCADE', t.oid::regtype)
      FROM pg_type t
      WHERE t.typnamespace = 'public'::regnamespace AND t.typowner = current_user::regrole
        AND t.typtype IN ('e', 'd', 'r', 'c') AND (t.typrelid = 0 OR
            (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
    ) s ORDER BY step, statement)
  LOOP
    EXECUTE stmt;
  END LOOP;
END $$;
"""

TABLES = """
SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'onebox_bus_payloads'
"""


def _tenant_url(settings: Settings, tenant: str) -> URL:
    admin = resolve_admin_url(settings)
    return tenant_url(admin, settings.db_prefix, tenant, settings.require_secret(), driver="postgresql")


def _client(url: URL, tenant: str) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password, and an environment that carries it (never on a command line)."""
    env = {
        **os.environ,
        "PGPASSWORD": url.password or "",
        "PGAPPNAME": f"onebox-backup:{tenant}",
        "PGCONNECT_TIMEOUT": "10",
        # Fail fast behind a long transaction rather than queue every request behind our locks.
        "PGOPTIONS": "-c lock_timeout=10s",
    }
    # URL.set(password=None) keeps the password (None means "unchanged"): it reached ps(1).
    return libpq(url._replace(password=None)), env


def tool(settings: Settings, url: URL, name: str) -> str:
    """``pg_dump``/``pg_restore``/``psql`` at least as new as the server (the wheel's, else PATH)."""
    if not settings.database_url:
        return str(bootstrap.embedded(settings).tool(name))
    with psycopg.connect(libpq(url), connect_timeout=10) as conn:
        major = int(str(conn.execute("SHOW server_version_num").fetchone()[0])) // 10000  # type: ignore[index]
    for version in SHIPPED_VERSIONS:
        if version >= major and (bin_dir(version) / name).exists():
            return str(bin_dir(version) / name)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"no {name} for PostgreSQL {major}: install its client tools (postgresql-client-{major})")
    return found


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        raise RuntimeError(f"{Path(command[0]).name} failed: {result.stderr.strip()[-2000:]}")


def backup(settings: Settings, tenant: str, keep: int) -> Path:
    """Dump ``tenant``'s database; returns the new file (older ones beyond ``keep`` are removed).

    Every failure is a ``RuntimeError`` naming its cause (a folder that can't be written, a server
    that can't be reached, a dump past its time), so backing up every tenant goes on to the next.
    """
    try:
        return _dump(settings, tenant, keep)
    except (OSError, psycopg.Error, subprocess.TimeoutExpired) as exc:
        raise RuntimeError(str(exc)) from exc


def _dump(settings: Settings, tenant: str, keep: int) -> Path:
    url = _tenant_url(settings, tenant)
    dsn, env = _client(url, tenant)
    folder = settings.data_dir / "backups" / tenant
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    now = datetime.now(UTC)
    target = folder / f"{tenant}-{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}Z.dump"
    partial = target.with_name(target.name + ".partial")
    try:
        _run([tool(settings, url, "pg_dump"), "--format=custom", f"--file={partial}", f"--dbname={dsn}"], env)
        partial.chmod(0o600)
        partial.replace(target)  # a crash mid-dump never leaves a file that looks complete
        # pg_dump fsyncs the file itself (its default without --no-sync); the rename is durable
        # only once the folder is, or a power cut could lose a dump already rotated against.
        _fsync_dir(folder)
    finally:
        partial.unlink(missing_ok=True)
    rotate(folder, tenant, keep)
    return target


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def rotate(folder: Path, tenant: str, keep: int) -> list[Path]:
    """Remove all but the ``keep`` newest dumps of ``tenant``; returns what was removed.

    Only the dumps ``backup`` names (``<tenant>-<UTC time>.dump``) rotate: one an operator named
    by hand (``wishlist-before-upgrade.dump``) would sort as the newest for ever, and is theirs.
    """
    stamped = re.compile(rf"{re.escape(tenant)}-\d{{8}}T\d{{9}}Z\.dump")
    dumps = sorted(path for path in folder.glob(f"{tenant}-*.dump") if stamped.fullmatch(path.name))
    old = dumps[: max(0, len(dumps) - max(keep, 1))]  # never the dump just written
    for path in old:
        path.unlink()
    return old


def _tail(stderr: bytes) -> str:
    return stderr.decode(errors="replace").strip()[-2000:]


def _check_origin(settings: Settings, url: URL, tenant: str, dump: Path) -> None:
    """Refuse a dump of another tenant's database (one tenant's tables replayed into another's).

    The archive's table of contents names the database it was dumped from. Any prefix is
    accepted (a tenant moved from a box with another ``ONEBOX_DB_PREFIX``); the tenant must match.
    """
    listed = subprocess.run(
        [tool(settings, url, "pg_restore"), "--list", str(dump)], capture_output=True, timeout=600
    )  # fmt: skip
    if listed.returncode != 0:
        raise RuntimeError(f"pg_restore could not read {dump}, nothing changed: {_tail(listed.stderr)}")
    found = re.search(rb"^;\s+dbname:\s*(\S+)\s*$", listed.stdout, re.MULTILINE)
    origin = found.group(1).decode(errors="replace") if found else None
    if origin is None or not origin.endswith(f"_{tenant}"):
        raise RuntimeError(
            f"{dump.name} is a dump of {origin or 'an unknown database'}, not of {tenant}'s database; nothing changed"
        )


def restore(settings: Settings, tenant: str, dump: Path, force: bool) -> None:
    """Replace ``tenant``'s database content with ``dump``; refuses a non-empty database unless ``force``."""
    if not dump.is_file():
        raise RuntimeError(f"{dump} is not a file")
    url = _tenant_url(settings, tenant)
    with psycopg.connect(libpq(url), connect_timeout=10) as conn:
        tables = int(conn.execute(TABLES).fetchone()[0])  # type: ignore[index]
    if tables and not force:
        raise RuntimeError(
            f"{url.database} already holds {tables} table(s); pass --force to replace them with {dump.name}"
        )
    _check_origin(settings, url, tenant, dump)
    dsn, env = _client(url, tenant)
    # The SQL is as big as the database: beside it in var/, not in a small /tmp (0700 either way).
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="restore-", dir=settings.data_dir) as scratch:
        wipe, replay = Path(scratch) / "wipe.sql", Path(scratch) / "replay.sql"
        wipe.write_text(WIPE)
        read = subprocess.run(
            [tool(settings, url, "pg_restore"), "--no-owner", "--no-privileges", f"--file={replay}", str(dump)],
            capture_output=True, timeout=3600,
        )  # fmt: skip
        if read.returncode != 0:
            raise RuntimeError(f"pg_restore could not read {dump}, nothing changed: {_tail(read.stderr)}")
        psql = [tool(settings, url, "psql"), "--no-psqlrc", "--quiet", "--single-transaction", "--set=ON_ERROR_STOP=1"]
        loaded = subprocess.run(
            [*psql, f"--dbname={dsn}", f"--file={wipe}", f"--file={replay}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, timeout=3600,
        )  # fmt: skip
    if loaded.returncode != 0:
        raise RuntimeError(f"restore failed, nothing changed: {_tail(loaded.stderr)}")
