"""What supervisor runs for a tenant's worker: ``python -m gateway.worker TENANT NAME``.

The same job as ``onebox TENANT NAME``, started without the command line's imports (typer and
every tenant's package, ~8 MB of private memory) that a worker capped at 128-160 MB would carry
for nothing.

A worker whose tenant does not run on this host (``ONEBOX_TENANTS``, or not registered yet), or
whose job returns, idles and says so instead of exiting: supervisor restarts whatever exits,
then gives up and marks it FATAL, which would make a healthy box look broken. A job that was
stopped by supervisor's SIGTERM ends the process itself (``shared.worker_loop``).
"""

from __future__ import annotations

import signal
import sys

from gateway import registry
from gateway.lean import skip_unused_imports
from shared.settings import load_settings


def run(tenant: str, name: str) -> None:
    """Run the worker, then idle until supervisor stops it (SIGTERM ends the process)."""
    skip_unused_imports()
    settings = load_settings()
    here = tenant in registry.TENANTS and tenant in (settings.tenants or list(registry.TENANTS))
    job = registry.load(tenant).workers.get(name) if here else None
    if job is None:
        print(f"onebox: {tenant} {name} does not run on this host (ONEBOX_TENANTS, registry); idling", file=sys.stderr)
    else:
        job(settings)
        print(f"onebox: {tenant} {name} has nothing more to do; idling", file=sys.stderr)
    sys.stderr.flush()
    while True:
        signal.pause()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: python -m gateway.worker TENANT NAME")
    run(sys.argv[1], sys.argv[2])
