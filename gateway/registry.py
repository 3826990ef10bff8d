"""The tenant registry: tenants are found by import string, the way uvicorn finds apps.

A fifth product is a package plus one line here; the built-in four go through the same path.
"""

from __future__ import annotations

import importlib

from shared.settings import Settings
from shared.tenant import Tenant

TENANTS: dict[str, str] = {
    "wishlist": "tenants.wishlist:tenant",
    "feed": "tenants.feed:tenant",
    "astro": "tenants.astro:tenant",
    "seacalendar": "tenants.seacalendar:tenant",
}


def load(name: str) -> Tenant:
    """Import the tenant registered as ``name``."""
    if name not in TENANTS:
        raise RuntimeError(f"ONEBOX_TENANTS names {name!r}, which is not registered; known: {', '.join(TENANTS)}")
    module_name, _, attr = TENANTS[name].partition(":")
    tenant = getattr(importlib.import_module(module_name), attr)
    if not isinstance(tenant, Tenant) or tenant.name != name:
        raise RuntimeError(f"{TENANTS[name]} is not the Tenant named {name!r}")
    return tenant


def enabled(settings: Settings) -> list[Tenant]:
    """The tenants this process mounts (``ONEBOX_TENANTS``, default all)."""
    return [load(name) for name in (settings.tenants or list(TENANTS))]
