"""Optional extras of our libraries that no onebox process uses, kept out of its memory.

httpx imports its command-line client, and with it click, rich and pygments (about 5 MB of
private memory), whenever those are installed; typer installs rich. The gateway and every
worker import httpx and none runs its CLI, so each would carry them for nothing.

python-engineio imports its clients with the package, and they import aiohttp and requests
whenever those are installed (pywebpush installs both): 12 MB of private memory in a gateway that
only serves Socket.IO.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.tenant import Tenant

UNUSED = ("httpx._main",)
# What engineio's client modules import at load time; its server needs none of them.
CLIENT_TRANSPORTS = ("aiohttp", "requests", "websocket")


def skip_unused_imports() -> None:
    """Make importing any module in :data:`UNUSED` fail, so its importer's ``ImportError`` fallback applies.

    Call it before the first ``import httpx``. A ``None`` entry in ``sys.modules`` is Python's
    documented way to make an import raise ``ImportError``.
    """
    for name in UNUSED:
        if name not in sys.modules:
            sys.modules[name] = None  # type: ignore[assignment]


def import_socketio_server(tenants: Iterable[Tenant]) -> None:
    """Import python-socketio, with engineio's clients left without their HTTP libraries, if any
    of ``tenants`` has a Socket.IO namespace (a gateway without one never imports it).

    For the gateway process, which serves Socket.IO and is no client of it (tests use the clients,
    so they don't call this); call it before anything imports socketio. The libraries stay
    importable for whoever needs them later: web pushes import aiohttp when first sent.
    """
    if all(tenant.socketio is None for tenant in tenants):
        return
    blocked = [name for name in CLIENT_TRANSPORTS if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        importlib.import_module("socketio")
    finally:
        for name in blocked:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]
