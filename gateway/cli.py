"""The ``onebox`` command line."""

from __future__ import annotations

import os
import shutil
import sys

import psycopg
import typer
from sqlalchemy.exc import OperationalError

from gateway import bootstrap, registry
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

    from gateway.app import create_app
    from gateway.logs import configure

    settings = _settings()
    configure(settings.log_format, settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        loop="uvloop",
        http="httptools",
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
    settings = _settings()
    with bootstrap.database_available(settings) as url:
        created = bootstrap.init_databases(settings, url)
    typer.echo("created: " + ", ".join(created) if created else "already provisioned")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Run every tenant's migrations to head."""
    settings = _settings()
    with bootstrap.database_available(settings) as url:
        bootstrap.upgrade_databases(settings, url)
    typer.echo("migrations at head")


@db_app.command("status")
def db_status() -> None:
    """Show each tenant's current and head migration."""
    settings = _settings()
    with bootstrap.database_available(settings):
        rows = bootstrap.migration_status(settings)
    for name, current, head in rows:
        state = "ok" if current == head else "behind"
        typer.echo(f"{name:<12} current={current} head={head} {state}")


@app.command()
def setup() -> None:
    """Prepare everything `run` needs: secrets, database server, roles, migrations."""
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
    setup()
    settings = _settings()
    conf = bootstrap.ROOT / "ops" / "supervisord.conf"
    (settings.data_dir / "log").mkdir(parents=True, exist_ok=True)
    server = bootstrap.embedded(settings)
    env = {
        **os.environ,
        "ONEBOX_ROOT": str(bootstrap.ROOT),
        "ONEBOX_BIN": os.path.dirname(sys.executable),
        "ONEBOX_VAR": str(settings.data_dir.resolve()),
        "ONEBOX_PG_COMMAND": " ".join(server.server_args()),
        "ONEBOX_PG_AUTOSTART": "false" if settings.database_url else "true",
    }
    if not settings.database_url:
        server.init()
    supervisord = shutil.which("supervisord", path=env["ONEBOX_BIN"]) or "supervisord"
    os.execvpe(supervisord, [supervisord, "-n", "-c", str(conf)], env)


def _add_workers() -> None:
    """``onebox <tenant> <worker>`` for every registered tenant's workers."""
    for name in registry.TENANTS:
        tenant = registry.load(name)
        if not tenant.workers:
            continue
        group = typer.Typer(help=f"Workers of the {name} tenant.", no_args_is_help=True)
        for worker_name, worker in tenant.workers.items():

            def command(_worker: Worker = worker) -> None:
                _worker(_settings())

            command.__doc__ = worker.__doc__
            group.command(worker_name)(command)
        app.add_typer(group, name=name)


def main() -> None:
    """Entry point of the console script."""
    _add_workers()
    try:
        app()
    except (RuntimeError, OperationalError, psycopg.OperationalError) as exc:
        # Configuration and connection problems are the operator's to fix: say what, not a traceback.
        typer.echo(f"onebox: {exc}", err=True)
        raise SystemExit(2) from None
