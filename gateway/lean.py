"""Optional extras of our libraries that no onebox process uses, kept out of its memory.

httpx imports its command-line client, and with it click, rich and pygments (about 5 MB of
private memory), whenever those are installed; typer installs rich. The gateway and every
worker import httpx and none runs its CLI, so each would carry them for nothing.
"""

from __future__ import annotations

import sys

UNUSED = ("httpx._main",)


def skip_unused_imports() -> None:
    """Make importing any module in :data:`UNUSED` fail, so its importer's ``ImportError`` fallback applies.

    Call it before the first ``import httpx``. A ``None`` entry in ``sys.modules`` is Python's
    documented way to make an import raise ``ImportError``.
    """
    for name in UNUSED:
        if name not in sys.modules:
            sys.modules[name] = None  # type: ignore[assignment]
