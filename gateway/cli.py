"""The ``onebox`` command line."""

from __future__ import annotations

import gc
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import OperationalError

from gateway import nginx, opsconfig, registry, supervision
from gateway.lean import import_socketio_server, skip_unused_imports
from shared.settings import Settings, load_settings
from shared.tenant import Worker

app = typer.Typer(
    help="onebox: several products on one small server.", no_args_is_help=True, pretty_exceptions_enable=False
)
db_app = typer.Typer(help="Databases: provisioning and migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _settings() -> Settings:
    return load_settings()


@app.command()
def serve(host: str | None = None, port: int | None = None) -> None:
    """Run the gateway (uvicorn, one process, every enabled tenant)."""
    import uvicorn

    settings = _settings()
    import_socketio_server(registry.enabled(settings))  # before gateway.app imports socketio
    from gateway.app import create_app
    from gateway.logs import configure
    from gateway.serving import uvicorn_options

    configure(settings.log_format, settings.log_level)
    application = create_app(settings)
    # Everything built so far lives as long as the process: moving it out of the collector's
    # generations keeps full collections short (60 ms -> a few ms under load, measured). A larger
    # youngest generation lets a burst's short-lived objects (2,000 WebSocket sends per like) die
    # before they are promoted; with the default 700, 150 ms full collections of 2,000 sockets'
    # state ran every few likes (fan-out p95 211 -> 65 ms, bench/feed_ws_fanout.py).
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    uvicorn.run(
        application,
        host=host or settings.host,
        port=port or settings.port,
        loop="uvloop",
        **uvicorn_options(),
        access_log=False,
        log_config=None,
        proxy_headers=settings.trust_proxy_headers,
        timeout_graceful_shutdown=10,
    )


@app.command()
def tenants() -> None:
    """List enabled tenants and their URL prefixes."""
    for tenant in registry.enabled(_settings()):
        aliases = ", ".join(tenant.aliases)
        workers = ", ".join(tenant.workers)
        line = f"{tenant.name:<12} /{tenant.name}/"
        line += f"  aliases: {aliases}" if aliases else ""
        line += f"  workers: {workers}" if workers else ""
        typer.echo(line)


@db_app.command("init")
def db_init() -> None:
    """Create each tenant's role and database (idempotent)."""
    from gateway import bootstrap

    settings = _settings()
    with bootstrap.database_available(settings) as url:
        created = bootstrap.init_databases(settings, url)
    typer.echo("created: " + ", ".join(created) if created else "already provisioned")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Run every tenant's migrations to head."""
    from gateway import bootstrap

    settings = _settings()
    with bootstrap.database_available(settings) as url:
        bootstrap.upgrade_databases(settings, url)
    typer.echo("migrations at head")


@db_app.command("status")
def db_status() -> None:
    """Show each tenant's current and head migration."""
    from gateway import bootstrap

    settings = _settings()
    with bootstrap.database_available(settings):
        rows = bootstrap.migration_status(settings)
    for name, current, head in rows:
        state = "ok" if current == head else "behind"
        typer.echo(f"{name:<12} current={current} head={head} {state}")


@app.command()
def setup() -> None:
    """Prepare everything `run` needs: secrets, database server, roles, migrations."""
    from gateway import bootstrap

    settings = _settings()
    bootstrap.ensure_secrets(settings.data_dir)
    settings = _settings()
    with bootstrap.database_available(settings) as url:
        bootstrap.init_databases(settings, url)
        bootstrap.upgrade_databases(settings, url)
    typer.echo("onebox is set up")


@app.command()
def run() -> None:
    """Set up, then run the whole stack under supervisord in the foreground."""
    from gateway import bootstrap

    setup()
    settings = _settings()
    conf = bootstrap.ROOT / "ops" / "supervisord.conf"
    for folder in ("log", "run"):
        (settings.data_dir / folder).mkdir(parents=True, exist_ok=True)
    supervision.reset(settings.data_dir)
    server = bootstrap.embedded(settings)
    env = {**os.environ, **opsconfig.supervisor_environment(settings, opsconfig.load_ops(settings), server)}
    if not settings.database_url:
        server.init()
    supervisord = shutil.which("supervisord", path=env["ONEBOX_BIN"]) or "supervisord"
    os.execvpe(supervisord, [supervisord, "-n", "-c", str(conf)], env)


@app.command()
def worker(tenant: str, name: str) -> None:
    """Run TENANT's worker NAME as supervisor does; idles when this host doesn't run it."""
    from gateway.worker import run as run_worker

    run_worker(tenant, name)


@app.command()
def doctor() -> None:
    """Check the running box: memory against caps, PostgreSQL against ops/postgres.conf, pools, disk, lag."""
    from gateway import doctor as checks

    settings = _settings()
    raise typer.Exit(checks.run(settings, opsconfig.load_ops(settings), typer.echo))


@app.command()
def backup(tenant: Annotated[str | None, typer.Argument(help="one tenant; default every enabled one")] = None) -> None:
    """pg_dump tenant databases into var/backups/<tenant>/, keeping the newest ONEBOX_BACKUP_KEEP."""
    from gateway import backup as backups

    settings = _settings()
    keep = opsconfig.load_ops(settings).backup_keep
    failed: list[str] = []
    for name in [tenant] if tenant else [t.name for t in registry.enabled(settings)]:
        registry.load(name)  # an unknown name is an error here, not a failed login later
        try:
            path = backups.backup(settings, name, keep)
        except RuntimeError as exc:
            if tenant:
                raise
            # One tenant's failure doesn't cost the others their backup.
            typer.echo(f"{name}: FAILED: {exc}", err=True)
            failed.append(name)
            continue
        typer.echo(f"{name}: {path} ({path.stat().st_size} bytes)")
    if failed:
        raise RuntimeError(f"backup failed for {', '.join(failed)}; the others were written")


@app.command("nginx-conf")
def nginx_conf(
    server_name: Annotated[str, typer.Option(help="the site's host name(s), space-separated")] = "_",
    tls_cert: Annotated[str, typer.Option(help="certificate chain (PEM)")] = nginx.DEFAULTS["TLS_CERT"],
    tls_key: Annotated[str, typer.Option(help="private key (PEM)")] = nginx.DEFAULTS["TLS_KEY"],
    upstream: Annotated[str | None, typer.Option(help="gateway host:port; default ONEBOX_HOST:ONEBOX_PORT")] = None,
) -> None:
    """Print ops/nginx/onebox.conf filled in for this host (for /etc/nginx/conf.d/onebox.conf)."""
    settings = _settings()
    gateway = upstream or f"{settings.host}:{settings.port}"
    typer.echo(nginx.render(SERVER_NAME=server_name, TLS_CERT=tls_cert, TLS_KEY=tls_key, UPSTREAM=gateway), nl=False)


@app.command()
def restore(
    tenant: str,
    dump: Path,
    force: Annotated[bool, typer.Option("--force", help="replace a database that already holds tables")] = False,
) -> None:
    """Restore TENANT's database from DUMP (a file written by `onebox backup`)."""
    from gateway import backup as backups

    registry.load(tenant)
    backups.restore(_settings(), tenant, dump, force)
    typer.echo(f"{tenant}: restored from {dump}")


def _add_workers() -> None:
    """``onebox <tenant> <worker>`` for every registered tenant's workers."""
    for name in registry.TENANTS:
        tenant = registry.load(name)
        if not tenant.workers:
            continue
        group = typer.Typer(help=f"Workers of the {name} tenant.", no_args_is_help=True)
        for worker_name, worker in tenant.workers.items():
            group.command(worker_name)(_worker_command(worker))
        app.add_typer(group, name=name)


def _worker_command(worker: Worker) -> Callable[[], None]:
    """A command without parameters running ``worker`` (a closure: typer turns any parameter into an option)."""

    def command() -> None:
        worker(_settings())

    command.__doc__ = worker.__doc__
    return command


def _operator_errors() -> tuple[type[BaseException], ...]:
    """Configuration and connection errors; psycopg's only when a command loaded it.

    Set-up machinery (Alembic, psycopg) is imported by the commands that set up, not here, so that
    `onebox serve` doesn't carry ~17 MB it never uses.
    """
    psycopg = sys.modules.get("psycopg")
    return (RuntimeError, OperationalError, *((psycopg.OperationalError,) if psycopg else ()))


def main() -> None:
    """Entry point of the console script."""
    skip_unused_imports()
    _add_workers()
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    try:
        app()
    except ValidationError as exc:
        # A setting with a bad value: name the variable the operator sets, not the field.
        for error in exc.errors():
            name = "ONEBOX_" + str(error["loc"][0]).upper() if error["loc"] else exc.title
            typer.echo(f"onebox: {name}: {error['msg']} (got {error.get('input')!r})", err=True)
        raise SystemExit(2) from None
    except Exception as exc:
        # Configuration and connection problems are the operator's to fix: say what, not a traceback.
        # (The tuple is made now: psycopg's errors count once a command has loaded it.)
        if not isinstance(exc, (SettingsError, *_operator_errors())):
            raise
        typer.echo(f"onebox: {exc}", err=True)
        raise SystemExit(2) from None
