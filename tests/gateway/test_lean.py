"""The gateway and its workers run without the clients of httpx and engineio, and what those import."""

from __future__ import annotations

import subprocess
import sys

PROGRAM = """
import sys
from gateway.lean import skip_unused_imports
skip_unused_imports()
import httpx
import tenants.feed.indexer.main, tenants.seacalendar.bot.main
from gateway.app import create_app
httpx.AsyncClient()
print(",".join(sorted(m for m in ("click", "pygments", "rich") if m in sys.modules)) or "none")
"""


def test_httpx_cli_and_its_imports_stay_out() -> None:
    done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "none", done.stderr


def test_an_import_already_done_is_left_alone() -> None:
    program = "import httpx._main, sys\nfrom gateway.lean import skip_unused_imports\nskip_unused_imports()\n"
    program += "print(sys.modules['httpx._main'] is not None)"
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "True", done.stderr


# What `onebox serve` does before it builds the app, for the tenants given in argv.
SERVER = """
import sys
from gateway import registry
from gateway.lean import import_socketio_server, skip_unused_imports
from shared.settings import Settings
skip_unused_imports()
settings = Settings(_env_file=None, secret_key="x" * 40, database_url="postgresql://u@127.0.0.1:1/postgres",
                    tenants=sys.argv[1].split(","))
import_socketio_server(registry.enabled(settings))
from gateway.app import create_app
create_app(settings)
print(",".join(sorted(m for m in ("socketio", "aiohttp", "requests", "urllib3", "yarl", "aiosmtplib")
                      if m in sys.modules)) or "none")
import aiohttp, requests  # still there for web pushes
print(aiohttp.ClientSession is not None and requests.Session is not None)
"""


def serve_imports(tenants: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", SERVER, tenants], capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout.split()


def test_the_gateway_serves_socketio_without_its_clients_http_libraries() -> None:
    assert serve_imports("wishlist,feed,astro,seacalendar") == ["socketio", "True"]


def test_a_gateway_without_socketio_namespaces_never_imports_it() -> None:
    assert serve_imports("wishlist,astro") == ["none", "True"]
