"""A tenant's web UI as one build: stamped asset URLs, their cache headers, and a new version on change."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount

from gateway.static import CachedStatic
from gateway.static_build import scan

PAGE = """<link rel="icon" href="data:,"><link rel="stylesheet" href="style.css">
<a href="#/">home</a><a href="/elsewhere/api/x">out</a><img src="img/logo.png"><script src="gone.js"></script>
<script type="module" src="js/app.js"></script>"""
APP = """import { a } from "./lib.js";
import "../style.css";
const later = import("./lib.js");
const text = "from ./lib.js";
"""


def ui(tmp_path: Path) -> Path:
    (tmp_path / "js").mkdir()
    (tmp_path / "img").mkdir()
    (tmp_path / "index.html").write_text(PAGE)
    (tmp_path / "style.css").write_text("body { color: red; }")
    (tmp_path / "js" / "app.js").write_text(APP)
    (tmp_path / "js" / "lib.js").write_text("export const a = 1;")
    (tmp_path / "img" / "logo.png").write_bytes(b"\x89PNG")
    return tmp_path


def client(directory: Path) -> httpx.AsyncClient:
    app = Starlette(routes=[Mount("/ui", app=CachedStatic(directory))])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def test_only_references_to_files_of_the_build_are_stamped(tmp_path: Path) -> None:
    build = scan(ui(tmp_path))
    v = build.version
    page = build.texts["index.html"].body.decode()
    assert f'href="style.css?v={v}"' in page and f'src="img/logo.png?v={v}"' in page
    assert f'src="js/app.js?v={v}"' in page
    # Not files of the build: left alone.
    assert 'href="data:,"' in page and 'href="#/"' in page and 'href="/elsewhere/api/x"' in page
    assert 'src="gone.js"' in page
    app = build.texts["js/app.js"].body.decode()
    assert f'from "./lib.js?v={v}"' in app and f'import "../style.css?v={v}"' in app
    assert f'import("./lib.js?v={v}")' in app and '"from ./lib.js"' in app


async def test_stamped_assets_cache_for_good_and_an_edit_changes_the_urls(tmp_path: Path) -> None:
    directory = ui(tmp_path)
    async with client(directory) as http:
        page = await http.get("/ui/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert page.headers["cache-control"] == "no-cache"
        v = scan(directory).version
        assert f"style.css?v={v}" in page.text
        held = await http.get("/ui/", headers={"If-None-Match": page.headers["etag"]})
        assert held.status_code == 304 and held.content == b""
        head = await http.head("/ui/index.html")
        assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 0

        unstamped_control = {"style.css": "no-cache", "js/lib.js": "no-cache", "img/logo.png": "max-age=86400"}
        for path, unstamped in unstamped_control.items():
            stamped = await http.get(f"/ui/{path}", params={"v": v})
            assert stamped.headers["cache-control"] == "public, max-age=31536000, immutable", path
            plain = await http.get(f"/ui/{path}")
            assert unstamped in plain.headers["cache-control"] and plain.content == stamped.content, path
            stale = await http.get(f"/ui/{path}", params={"v": "000000000000"})
            assert "immutable" not in stale.headers["cache-control"], path

        # A deploy (or an edit) that changes any file gives every URL a new version.
        css = directory / "style.css"
        css.write_text("body { color: blue; }")
        os.utime(css, ns=(css.stat().st_atime_ns, css.stat().st_mtime_ns + 1_000_000_000))
        changed = await http.get("/ui/")
        assert f"style.css?v={v}" not in changed.text and changed.headers["etag"] != page.headers["etag"]
        assert "immutable" not in (await http.get("/ui/style.css", params={"v": v})).headers["cache-control"]
        assert (await http.get("/ui/style.css")).text == "body { color: blue; }"


async def test_unknown_files_and_other_methods_are_refused_as_before(tmp_path: Path) -> None:
    async with client(ui(tmp_path)) as http:
        assert (await http.get("/ui/nothing.js")).status_code == 404
        assert (await http.post("/ui/index.html")).status_code == 405
