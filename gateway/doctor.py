"""``onebox doctor``: is the box inside its budget, and what to change when it is not.

Run on the VPS while ``onebox run`` runs. Each section prints facts; anything over a cap or a
budget becomes a problem with the setting to change, and any problem makes the exit status 1.
"""

from __future__ import annotations

import os
import shutil
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg.rows import dict_row

from gateway import pgcheck, registry, supervision
from gateway.bootstrap import POSTGRES_CONF
from gateway.opsconfig import OpsSettings, Program, programs
from gateway.procmem import MB, NOTHING, Usage, mb, usage
from shared.db.urls import admin_url, libpq, resolve_admin_url
from shared.settings import Settings


@dataclass
class Report:
    """What doctor found: printed lines and the problems among them."""

    echo: Callable[[str], None]
    problems: list[str] = field(default_factory=list)

    def section(self, title: str) -> None:
        self.echo(f"\n== {title}")

    def problem(self, text: str) -> None:
        self.problems.append(text)
        self.echo(f"  PROBLEM: {text}")


# supervisord's event listeners of ops/supervisord.conf, and what is lost while one is down.
LISTENERS = {
    "memmon": "no memory cap is enforced",
    "restarts": "restarts and their reasons are not recorded for /health",
}


def processes(report: Report, settings: Settings, ops: OpsSettings) -> dict[str, int]:
    """Each supervised process against its cap; returns running programs' pids."""
    url = supervision.socket_url(settings.data_dir)
    report.section(f"Processes (supervisord at {url[7:]})")
    try:
        server = supervision.rpc(url)
        infos = server.supervisor.getAllProcessInfo()
        own = server.supervisor.getPID()
    except (OSError, ValueError, xmlrpc.client.Error) as exc:
        report.problem(f"supervisord is not answering ({exc.__class__.__name__}): start the stack with `onebox run`")
        return {}
    facts = supervision.read_restarts(settings.data_dir)
    known = {p.name: p for p in programs(ops)}
    report.echo(f"  {'program':<18}{'state':<10}{'pid':>8}{'RSS MB':>9}{'PSS MB':>9}{'cap MB':>8}  restarts")
    rows: list[tuple[str, str, int | None, Usage, int | None]] = [("supervisord", "RUNNING", own, usage(own), None)]
    for info in infos:
        program = known.get(info["name"])
        pid = info["pid"] or None
        # PostgreSQL is a tree of processes; the postmaster alone would hide the backends.
        used = usage(pid, children=info["name"] == "postgres") if pid else NOTHING
        rows.append((info["name"], info["statename"], pid, used, program.cap_mb if program else None))
    total = NOTHING
    for name, state, pid, used, cap in rows:
        total = total + used
        restarts = facts.get(name, {})
        last = f" (last: {restarts['last_reason']})" if restarts.get("last_reason") else ""
        report.echo(
            f"  {name:<18}{state:<10}{pid or '-':>8}{mb(used.rss):>9}{mb(used.pss):>9}{cap or '-':>8}"
            f"  {restarts.get('count', 0)}{last}"
        )
        _judge_process(report, settings, known.get(name), state, used)
        if name in LISTENERS and state != "RUNNING":
            report.problem(
                f"{name} is {state}: {LISTENERS[name]}; see var/log/{name}.log, then "
                f"`supervisorctl -s {url} start {name}`"
            )
    report.echo(f"  {'total':<36}{mb(total.rss):>9}{mb(total.pss):>9}   budget {ops.stack_budget_mb} MB PSS")
    if total.pss is not None and total.pss > ops.stack_budget_mb * MB:
        report.problem(
            f"the stack uses {mb(total.pss)} MB PSS, over ONEBOX_STACK_BUDGET_MB={ops.stack_budget_mb}: lower the "
            "caps, pool sizes or shared_buffers, or move a tenant to another host (ONEBOX_TENANTS)"
        )
    return {name: pid for name, state, pid, _, _ in rows if pid and state == "RUNNING"}


def _judge_process(report: Report, settings: Settings, program: Program | None, state: str, used: Usage) -> None:
    """Problems of one of our programs: not running, or over its cap."""
    if program is None:
        return
    cap = program.cap_mb
    expected_stopped = program.name == "postgres" and settings.database_url
    if state != "RUNNING" and not expected_stopped:
        report.problem(
            f"{program.name} is {state}: see var/log/{program.name}.log, then "
            f"`supervisorctl -s {supervision.socket_url(settings.data_dir)} start {program.name}`"
        )
    if cap is not None and used.rss > cap * MB:
        report.problem(
            f"{program.name} RSS {mb(used.rss)} MB is over its {cap} MB cap and memmon will restart it: "
            f"raise {program.cap_variable} if this is its normal size, or find what grows (var/log/{program.name}.log)"
        )
    elif cap is not None and used.rss > 0.9 * cap * MB:
        report.echo(f"  note: {program.name} is within 10% of its cap ({program.cap_variable})")


def database(report: Report, settings: Settings, ops: OpsSettings, pids: dict[str, int]) -> None:
    """PostgreSQL's memory, its settings against ops/postgres.conf, and connections against the budget."""
    try:
        with psycopg.connect(libpq(admin_url(resolve_admin_url(settings))), connect_timeout=5) as conn:
            conf = pgcheck.read_conf(POSTGRES_CONF)
            cur = conn.cursor(row_factory=dict_row)
            rows = cur.execute(pgcheck.SETTINGS_SQL, (list(conf),)).fetchall()
            extra = ("max_connections", "superuser_reserved_connections", "shared_buffers", "work_mem")
            values = {r["name"]: r for r in cur.execute(pgcheck.SETTINGS_SQL, (list(extra),)).fetchall()}
            in_use = conn.execute(
                "SELECT coalesce(nullif(application_name, ''), usename::text, backend_type), count(*) "
                "FROM pg_stat_activity WHERE backend_type = 'client backend' GROUP BY 1 ORDER BY 2 DESC"
            ).fetchall()
    except psycopg.Error as exc:
        report.section("PostgreSQL")
        report.problem(f"PostgreSQL is not reachable ({str(exc).strip()[:160]}): see var/log/postgres.log")
        return
    _pg_memory(report, settings, ops, pids, values)
    _pg_settings(report, settings, conf, rows)
    _connections(report, settings, ops, values, in_use)


def _pg_memory(report: Report, settings: Settings, ops: OpsSettings, pids: dict[str, int], values: Any) -> None:
    report.section("PostgreSQL memory")
    show = {name: values[name]["display"] for name in values}
    report.echo(
        f"  shared_buffers {show['shared_buffers']}, work_mem {show['work_mem']} per sort/hash, "
        f"max_connections {show['max_connections']}"
    )
    if settings.database_url:
        report.echo("  external server (ONEBOX_DATABASE_URL): its memory is not measured on this box")
        return
    used = usage(pids["postgres"], children=True) if "postgres" in pids else NOTHING
    report.echo(
        f"  {used.count} processes: RSS {mb(used.rss)} MB, PSS {mb(used.pss)} MB (budget {ops.pg_budget_mb} MB)"
    )
    if used.pss is not None and used.pss > ops.pg_budget_mb * MB:
        report.problem(
            f"PostgreSQL uses {mb(used.pss)} MB PSS, over ONEBOX_PG_BUDGET_MB={ops.pg_budget_mb}: lower "
            "shared_buffers, work_mem or max_connections in ops/postgres.conf, then restart postgres"
        )


def _pg_settings(report: Report, settings: Settings, conf: dict[str, str], rows: list[dict[str, Any]]) -> None:
    report.section("PostgreSQL settings (running server against ops/postgres.conf)")
    mismatches, unknown = pgcheck.compare(conf, rows)
    report.echo(f"  {len(conf) - len(mismatches) - len(unknown)} of {len(conf)} settings match")
    for m in mismatches:
        hint = "restart postgres to apply" if m.pending_restart else "the server was started with another value"
        text = f"{m.name} is {m.running}, ops/postgres.conf says {m.wanted} ({hint})"
        # An external server is the operator's to tune; the embedded one must follow the file.
        if settings.database_url:
            report.echo(f"  note: {text}")
        else:
            report.problem(text)
    for name in unknown:
        report.echo(f"  note: the server does not know {name} (another PostgreSQL version?)")


def _connections(report: Report, settings: Settings, ops: OpsSettings, values: Any, in_use: list[Any]) -> None:
    report.section("Connections")
    enabled = [name for name in (settings.tenants or list(registry.TENANTS)) if name in registry.TENANTS]
    workers = [
        p.name
        for p in programs(ops)
        if p.tenant in enabled and p.worker in registry.load(p.tenant).workers  # idle ones hold none
    ]
    budget = pgcheck.pool_budget(
        settings,
        ops,
        {name: registry.load(name).pool_size for name in enabled},
        workers,
        int(values["max_connections"]["setting"]),
        int(values["superuser_reserved_connections"]["setting"]),
    )
    used = sum(count for _, count in in_use)
    report.echo(f"  in use now: {used} of max_connections {budget.max_connections}")
    for application, count in in_use:
        report.echo(f"    {count:>4}  {application}")
    report.echo(f"  budget (the most all processes may open): {budget.total}, limit {budget.limit}")
    for what, count in budget.parts:
        report.echo(f"    {count:>4}  {what}")
    report.echo(f"    {budget.reserve:>4}  reserve (superuser_reserved_connections + ONEBOX_CONNECTION_RESERVE)")
    if not budget.ok:
        report.problem(pgcheck.budget_advice(budget, settings, ops))


def disk(report: Report, settings: Settings) -> None:
    """What ``var/`` holds and how much room the filesystem has left."""
    data = settings.data_dir.resolve()
    report.section(f"Disk ({data})")
    for entry in sorted(data.iterdir()) if data.exists() else []:
        report.echo(f"  {entry.name:<12}{mb(_size(entry)):>10} MB")
    free = shutil.disk_usage(data if data.exists() else Path.cwd())
    report.echo(f"  filesystem: {free.free / 2**30:.1f} GB free of {free.total / 2**30:.1f} GB")
    if free.free < max(2**30, free.total // 10):
        report.problem(
            "less than 10% (or 1 GB) of the disk is free: lower ONEBOX_BACKUP_KEEP, move var/backups off the box, "
            "or lower max_wal_size in ops/postgres.conf"
        )


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    total = 0
    for root, _dirs, files in os.walk(path, onerror=lambda _err: None):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue  # a WAL segment recycled while we walked
    return total


def lag(report: Report, settings: Settings) -> None:
    """Workers' lag as the tenants report it in ``/health`` (the feed indexer's behind-the-stream time)."""
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    url = f"http://{host}:{settings.port}/health"
    report.section(f"Indexer lag (from {url})")
    try:
        doc = httpx.get(url, timeout=10).json()
    except (httpx.HTTPError, ValueError) as exc:
        report.problem(f"the gateway is not answering ({type(exc).__name__}): see var/log/gateway.log")
        return
    found = list(_lag_facts(doc.get("tenants", {}), ""))
    for path, value in found:
        report.echo(f"  {path} = {value}")
    if not found:
        report.echo("  no tenant reports lag (the feed indexer is not enabled here or not running yet)")
    for name, tenant in doc.get("tenants", {}).items():
        if not tenant.get("ok", True):
            report.problem(f"tenant {name} is unhealthy in /health: {tenant}")


def _lag_facts(doc: Any, prefix: str) -> Any:
    if isinstance(doc, dict):
        for key, value in doc.items():
            path = f"{prefix}.{key}" if prefix else key
            if "lag" in key.lower() and not isinstance(value, dict):
                yield path, value
            else:
                yield from _lag_facts(value, path)


def run(settings: Settings, ops: OpsSettings, echo: Callable[[str], None]) -> int:
    """Print every section; 0 when nothing is over budget, 1 otherwise."""
    report = Report(echo)
    echo(f"onebox doctor: data in {settings.data_dir.resolve()}")
    pids = processes(report, settings, ops)
    database(report, settings, ops, pids)
    disk(report, settings)
    lag(report, settings)
    report.section("Verdict")
    if not report.problems:
        echo("  OK: every process, PostgreSQL and the pools are within budget")
        return 0
    echo(f"  {len(report.problems)} problem(s):")
    for text in report.problems:
        echo(f"  - {text}")
    return 1
