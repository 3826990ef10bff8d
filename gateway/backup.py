"""``onebox backup`` and ``onebox restore``: one consistent ``pg_dump`` per tenant database.

Dumps run as the tenant's own role (its credentials reach nothing else) in custom format, into
``var/backups/<tenant>/<tenant>-<UTC time>.dump``; the newest ``ONEBOX_BACKUP_KEEP`` are kept.
pg_dump reads one snapshot, so a dump is consistent while the box keeps serving.

A restore must leave the database exactly as dumped: ``pg_restore --clean`` only drops what the
dump contains, so a table created after the dump would survive and break the next migration.
So the restore drops every object the tenant owns and replays the dump in one transaction
(``pg_restore -f -`` piped to ``psql --single-transaction``): it either completes or changes nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from sqlalchemy.engine import URL

from gateway import bootstrap
from shared.db.embedded import bin_dir
from shared.db.urls import libpq, resolve_admin_url, tenant_url
from shared.settings import Settings

SHIPPED_VERSIONS = (16, 18)

# Everything the tenant role owns in its schema, dropped before the dump is replayed.
WIPE = """
DO $$
DECLARE stmt text;
BEGIN
  FOR stmt IN
    SELECT format('DROP %s IF EXISTS %s CASCADE',
                  CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                 WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
                  c.oid::regclass)
    FROM pg_class c
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
      AND c.relowner = current_user::regrole AND NOT c.relispartition
    UNION ALL
    SELECT format('DROP ROUTINE IF EXISTS %s CASCADE', p.oid::regprocedure)
    FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND p.proowner = current_user::regrole
    UNION ALL
    SELECT format('DROP TYPE IF EXISTS %s CASCADE', t.oid::regtype)
    FROM pg_type t
    WHERE t.typnamespace = 'public'::regnamespace AND t.typowner = current_user::regrole
      AND t.typtype IN ('e', 'd', 'r', 'c') AND (t.typrelid = 0 OR
          (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
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
    return url.set(password=None).render_as_string(hide_password=False), env


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
    """Dump ``tenant``'s database; returns the new file (older ones beyond ``keep`` are removed)."""
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
    finally:
        partial.unlink(missing_ok=True)
    rotate(folder, tenant, keep)
    return target


def rotate(folder: Path, tenant: str, keep: int) -> list[Path]:
    """Remove all but the ``keep`` newest dumps of ``tenant``; returns what was removed."""
    dumps = sorted(folder.glob(f"{tenant}-*.dump"))
    old = dumps[: max(0, len(dumps) - keep)]
    for path in old:
        path.unlink()
    return old


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
    dsn, env = _client(url, tenant)
    script = subprocess.Popen(
        [tool(settings, url, "pg_restore"), "--no-owner", "--no-privileges", "--file=-", str(dump)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    psql = [tool(settings, url, "psql"), "--no-psqlrc", "--quiet", "--single-transaction", "--set=ON_ERROR_STOP=1"]
    loader = subprocess.Popen(
        [*psql, f"--dbname={dsn}", "--file=-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert script.stdout is not None and loader.stdin is not None
    try:
        loader.stdin.write(WIPE.encode())
        shutil.copyfileobj(script.stdout, loader.stdin)
    except BrokenPipeError:
        pass  # psql stopped at an error; its stderr says which
    finally:
        loader.stdin.close()
    loaded, produced = loader.wait(timeout=3600), script.wait(timeout=60)
    assert script.stderr is not None and loader.stderr is not None
    if produced != 0:
        raise RuntimeError(f"pg_restore could not read {dump}: {script.stderr.read().decode().strip()[-2000:]}")
    if loaded != 0:
        raise RuntimeError(f"restore failed, nothing changed: {loader.stderr.read().decode().strip()[-2000:]}")
