"""PostgreSQL against ops/postgres.conf and against the pools: the database half of ``onebox doctor``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.opsconfig import OpsSettings
from shared.settings import Settings

_MEMORY = {"B": 1, "kB": 2**10, "MB": 2**20, "GB": 2**30, "TB": 2**40}
_TIME = {"us": 0.001, "ms": 1.0, "s": 1000.0, "min": 60_000.0, "h": 3_600_000.0, "d": 86_400_000.0}
_TRUE = {"on", "true", "yes", "1"}
_FALSE = {"off", "false", "no", "0"}


def read_conf(path: Path) -> dict[str, str]:
    """``name = value`` pairs of a postgresql.conf-style file (comments and quotes removed)."""
    settings: dict[str, str] = {}
    for line in path.read_text().splitlines():
        match = re.match(r"\s*(\w+)\s*=?\s*('(?:[^']|'')*'|[^\s#]+)", line)
        if match and not line.lstrip().startswith("#"):
            value = match[2]
            if value.startswith("'"):
                value = value[1:-1].replace("''", "'")
            settings[match[1].lower()] = value
    return settings


def _scale(unit: str) -> float:
    """Bytes or milliseconds in one ``unit`` (``8kB`` is 8192 bytes)."""
    match = re.fullmatch(r"(\d*)(\w+)", unit)
    if not match:
        return 1.0
    factor = float(match[1] or 1)
    return factor * (_MEMORY.get(match[2]) or _TIME.get(match[2]) or 1.0)


def normalise(value: str, unit: str | None) -> str:
    """A comparable spelling: quantities in bytes or ms, booleans as on/off, words lower-case."""
    text = value.strip()
    number = re.fullmatch(r"(-?\d+(?:\.\d+)?)\s*([a-zA-Z]+)?", text)
    if number:
        suffix = number[2]
        scale = _scale(suffix) if suffix else _scale(unit) if unit else 1.0
        return f"{float(number[1]) * scale:g}"
    lowered = text.lower()
    if lowered in _TRUE:
        return "on"
    if lowered in _FALSE:
        return "off"
    return lowered if " " not in text else text


@dataclass(frozen=True)
class Mismatch:
    """A setting whose running value differs from ops/postgres.conf."""

    name: str
    running: str
    wanted: str
    pending_restart: bool


def compare(conf: dict[str, str], rows: list[dict[str, Any]]) -> tuple[list[Mismatch], list[str]]:
    """(mismatches, names the server doesn't know) for ``pg_settings`` rows against ``conf``."""
    by_name = {str(row["name"]).lower(): row for row in rows}
    mismatches: list[Mismatch] = []
    unknown: list[str] = []
    for name, wanted in conf.items():
        row = by_name.get(name)
        if row is None:
            unknown.append(name)
            continue
        unit = row["unit"]
        if normalise(str(row["setting"]), unit) != normalise(wanted, unit):
            mismatches.append(Mismatch(name, str(row["display"]), wanted, bool(row["pending_restart"])))
    return mismatches, unknown


SETTINGS_SQL = (
    "SELECT name, setting, unit, current_setting(name) AS display, pending_restart "
    "FROM pg_settings WHERE lower(name) = ANY(%s)"
)


@dataclass(frozen=True)
class Budget:
    """Connections every process may open, against what the server allows."""

    parts: list[tuple[str, int]]
    reserve: int
    max_connections: int

    @property
    def total(self) -> int:
        return sum(n for _, n in self.parts)

    @property
    def limit(self) -> int:
        """Connections the pools may use: max_connections minus the reserves."""
        return self.max_connections - self.reserve

    @property
    def ok(self) -> bool:
        return self.total <= self.limit


def pool_budget(
    settings: Settings,
    ops: OpsSettings,
    tenants: Mapping[str, int | None],
    workers: list[str],
    max_connections: int,
    superuser_reserved: int,
) -> Budget:
    """Gateway pools (size + overflow + one listener per tenant) plus each worker's connections.

    ``tenants`` maps each enabled tenant to the pool size it prefers (``Tenant.pool_size``).
    """
    sizes = {name: settings.pool_size_for(name, preferred) for name, preferred in tenants.items()}
    parts = [
        (f"gateway:{name} (pool {size} + overflow {settings.pool_overflow} + listener)",
         size + settings.pool_overflow + 1)
        for name, size in sizes.items()
    ]  # fmt: skip
    parts += [(f"{worker} (ONEBOX_WORKER_CONNECTIONS)", ops.worker_connections) for worker in workers]
    return Budget(parts, superuser_reserved + ops.connection_reserve, max_connections)


def budget_advice(budget: Budget, settings: Settings, ops: OpsSettings) -> str:
    """What to change when the pools don't fit."""
    over = budget.total - budget.limit
    return (
        f"connection budget {budget.total} > max_connections {budget.max_connections} - reserve {budget.reserve}"
        f" = {budget.limit} (over by {over}): lower ONEBOX_POOL_SIZE (now {settings.pool_size}), "
        f"ONEBOX_POOL_OVERFLOW (now {settings.pool_overflow}) or ONEBOX_POOL_SIZES {settings.pool_sizes or '{}'}, "
        f"or ONEBOX_WORKER_CONNECTIONS (now {ops.worker_connections}); or raise max_connections in "
        "ops/postgres.conf (each connection costs a few MB of the PostgreSQL budget)"
    )
