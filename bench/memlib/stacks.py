"""The box started two ways for bench/memory.py, both with ``onebox run`` so both are measured alike.

- consolidated: one ``onebox run`` exactly as an operator starts it (ops/supervisord.conf): one
  supervisord, one embedded PostgreSQL, one gateway with every tenant, the feed indexer and the bot.
- separate: four ``onebox run``, one per tenant (``ONEBOX_TENANTS=<t>``), as four separate apps
  would run: each its own data directory, embedded PostgreSQL (ops/postgres.conf, own port, only
  that tenant's role and database), gateway, supervisord with memmon and the restart listener, and
  that tenant's workers only. ``onebox run`` starts every worker program and idles those of
  tenants it doesn't serve; a separate app has no such process, so those are stopped and removed
  through supervisord as soon as it answers, before anything is measured. ``separate``
  can start the stacks of some tenants only: bench/memory.py also starts each stack alone.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from gateway import bootstrap, opsconfig, registry, supervision
from gateway.procmem import Usage, usage
from shared.db.urls import libpq, tenant_url
from shared.settings import Settings
from tests.support.database import free_port

BIN = Path(sys.executable).parent

Rows = list[tuple[str, Usage]]


@dataclass
class Stack:
    """One running ``onebox run``: supervisord's process, its environment and the tenants it serves."""

    name: str
    process: subprocess.Popen[bytes]
    env: dict[str, str]
    tenants: list[str]
    secret: str

    @property
    def data_dir(self) -> Path:
        return Path(self.env["ONEBOX_DATA_DIR"])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.env['ONEBOX_PORT']}"

    def programs(self) -> dict[str, dict[str, Any]]:
        """supervisord's view of every program (state, pid, restarts); empty until it answers."""
        try:
            return supervision.processes(self.data_dir, supervision.socket_url(self.data_dir))
        except OSError:
            return {}

    def idle_workers(self) -> list[str]:
        """Worker programs of tenants this stack doesn't serve (they would only idle here)."""
        ops = opsconfig.OpsSettings(_env_file=None)
        return [p.name for p in opsconfig.programs(ops) if p.tenant is not None and p.tenant not in self.tenants]

    def remove_idle_workers(self, present: dict[str, dict[str, Any]]) -> None:
        """Stop and remove the idle worker programs still in ``present`` (supervisord's program list)."""
        server = supervision.rpc(supervision.socket_url(self.data_dir), timeout=30).supervisor
        for name in self.idle_workers():
            if name in present:
                server.stopProcessGroup(name, True)
                server.removeProcessGroup(name)

    def label(self, program: str) -> str:
        """A program's row in the table: a one-tenant stack's gateway is ``gateway-<tenant>``."""
        return f"gateway-{self.tenants[0]}" if program == "gateway" and len(self.tenants) == 1 else program

    def measure(self) -> Rows:
        """RSS/PSS of supervisord and every running program (PostgreSQL with all its backends)."""
        pid = int((self.data_dir / "run" / "supervisord.pid").read_text())
        rows = [("supervisord", usage(pid))]
        for name, info in sorted(self.programs().items()):
            if info["pid"]:
                rows.append((self.label(name), usage(info["pid"], children=name == "postgres")))
        return rows

    def tenant_dsn(self, tenant: str) -> str:
        """libpq URL of ``tenant``'s database as its own role."""
        server = bootstrap.embedded(
            Settings(_env_file=None, data_dir=self.data_dir, pg_port=int(self.env["ONEBOX_PG_PORT"]))
        )
        return libpq(tenant_url(server.admin_url(), "onebox", tenant, self.secret, driver="postgresql"))

    def ready(self) -> bool:
        """True once idle workers are gone, no program is STARTING and the gateway answers /health."""
        if self.process.poll() is not None:
            raise RuntimeError(f"onebox run exited; see {self.data_dir / 'log'} and {self.data_dir.parent / 'run.log'}")
        present = self.programs()
        if not present:
            return False
        if set(self.idle_workers()) & set(present):
            self.remove_idle_workers(present)
            return False
        try:
            up = httpx.get(f"{self.url}/health", timeout=5).status_code < 600
        except httpx.HTTPError:
            up = False
        return up and all(info["state"] != "STARTING" for info in present.values())

    def terminate(self) -> None:
        """Ask supervisord to stop its programs and exit."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait_stopped(self) -> None:
        """Wait for supervisord to exit; kill its process group if it hangs."""
        try:
            self.process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@dataclass
class Box:
    """Every stack of one layout, and which one serves each tenant."""

    stacks: list[Stack]

    def stack(self, tenant: str) -> Stack:
        """The stack whose gateway serves ``tenant``."""
        return next(stack for stack in self.stacks if tenant in stack.tenants)

    @property
    def tenants(self) -> list[str]:
        """The tenants some stack of this box serves, in registry order."""
        return [name for name in registry.TENANTS if any(name in stack.tenants for stack in self.stacks)]

    @property
    def urls(self) -> dict[str, str]:
        """Base URL of the gateway serving each tenant."""
        return {name: self.stack(name).url for name in self.tenants}

    def measure(self) -> dict[str, Rows]:
        """Every stack's rows, taken one stack after the other (a second or two in all)."""
        return {stack.name: stack.measure() for stack in self.stacks}

    def programs(self) -> dict[str, dict[str, Any]]:
        """Every program of every stack, as ``stack/program``."""
        return {f"{s.name}/{name}": info for s in self.stacks for name, info in s.programs().items()}

    def restarts(self) -> dict[str, dict[str, Any]]:
        """Restart facts of every stack, as ``stack/program``."""
        return {
            f"{s.name}/{name}": fact
            for s in self.stacks
            for name, fact in supervision.read_restarts(s.data_dir).items()
        }

    def wait_ready(self, timeout: float = 240) -> None:
        """Until every stack is ready; ``onebox run`` sets each one up (migrations) first."""
        deadline = time.monotonic() + timeout
        waiting = list(self.stacks)
        while waiting and time.monotonic() < deadline:
            waiting = [stack for stack in waiting if not stack.ready()]
            time.sleep(0.5)
        if waiting:
            names = ", ".join(stack.name for stack in waiting)
            raise RuntimeError(f"{names} did not come up in {timeout}s; see {waiting[0].data_dir / 'log'}")

    def stop(self) -> None:
        """Stop every stack (all at once, then wait for each)."""
        for stack in self.stacks:
            stack.terminate()
        for stack in self.stacks:
            stack.wait_stopped()


def environment(base: Path, extra: dict[str, str]) -> tuple[dict[str, str], str]:
    """A clean ``ONEBOX_*`` environment for a stack in ``base``; returns it and the secret key."""
    secret = secrets.token_urlsafe(48)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONEBOX_", "SUPERVISOR_"))}
    env.update(
        ONEBOX_DATA_DIR=str(base / "var"),
        ONEBOX_PG_PORT=str(free_port()),
        ONEBOX_PORT=str(free_port()),
        ONEBOX_SECRET_KEY=secret,
        ONEBOX_LOG_FORMAT="json",
        # All load comes from one address: the per-IP limits would measure themselves, not the box.
        ONEBOX_RATE_LIMIT_PER_MINUTE="100000000",
        ONEBOX_AUTH_RATE_LIMIT_PER_MINUTE="100000000",
        **extra,
    )
    return env, secret


def onebox_run(name: str, base: Path, extra: dict[str, str], tenants: list[str] | None) -> Stack:
    """Start ``onebox run`` in ``base`` serving ``tenants`` (None: every registered tenant)."""
    base.mkdir(parents=True, exist_ok=True)
    env, secret = environment(base, extra)
    if tenants is not None:
        env["ONEBOX_TENANTS"] = ",".join(tenants)
    with (base / "run.log").open("wb") as log:
        process = subprocess.Popen(
            [str(BIN / "onebox"), "run"],
            env=env,
            cwd=base,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Stack(name, process, env, tenants or list(registry.TENANTS), secret)


def consolidated(base: Path, extra: dict[str, str]) -> Box:
    """One ``onebox run`` with every tenant."""
    return Box([onebox_run("onebox", base, extra, None)])


def separate(base: Path, extra: dict[str, str], tenants: Iterable[str] = registry.TENANTS) -> Box:
    """One ``onebox run`` per tenant of ``tenants``, each in its own directory with its own ports and secret."""
    return Box([onebox_run(name, base / name, extra, [name]) for name in tenants])
