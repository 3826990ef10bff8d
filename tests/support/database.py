"""A real PostgreSQL for the test session: a fresh embedded cluster, or an external one."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.db.embedded import EmbeddedPostgres


def free_port() -> int:
    """A port nobody listens on right now (the embedded server only uses it to name its socket)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def test_database(base: Path, conf: Path | None = None) -> Iterator[tuple[str, EmbeddedPostgres | None]]:
    """Yield (admin URL, embedded server or None when ``ONEBOX_DATABASE_URL`` is used).

    ``conf``: settings file for the embedded server (benchmarks use ops/postgres.conf).
    """
    external = os.environ.get("ONEBOX_DATABASE_URL")
    if external:
        yield external, None
        return
    server = EmbeddedPostgres(base / "pg", port=free_port(), conf=conf)
    server.start()
    try:
        yield server.admin_url(), server
    finally:
        server.stop("immediate")
