"""The web UI: static files under ``/wishlist/`` that work under the gateway's CSP."""

from __future__ import annotations

import re

import httpx


async def test_index_loads_its_script_and_styles_from_self(client: httpx.AsyncClient) -> None:
    response = await client.get("/wishlist/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    html = response.text
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S)
    # No inline code: the CSP would block it.
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)
    assert not re.search(r"\son[a-z]+=", html), "inline event handlers are blocked by the CSP"
    assert "http://" not in html and "https://" not in html  # no CDNs
    version = re.search(r'type="module" src="app.js\?v=(\w+)"', html)
    assert version and f'href="style.css?v={version[1]}"' in html
    for asset, kind in (
        ("app.js", "javascript"),
        ("api.js", "javascript"),
        ("dom.js", "javascript"),
        ("account.js", "javascript"),
        ("reset.js", "javascript"),
        ("style.css", "css"),
    ):
        served = await client.get(f"/wishlist/{asset}")
        assert served.status_code == 200 and kind in served.headers["content-type"]
        # Unstamped, code revalidates so a deploy never mixes old scripts with a new API; ETags keep it cheap.
        assert served.headers["cache-control"] == "no-cache" and served.headers["etag"]
        again = await client.get(f"/wishlist/{asset}", headers={"If-None-Match": served.headers["etag"]})
        assert again.status_code == 304 and again.headers["etag"] == served.headers["etag"]
        # Stamped with this build, it is cached for good: the page names new URLs after a deploy.
        stamped = await client.get(f"/wishlist/{asset}", params={"v": version[1]})
        assert stamped.content == served.content and stamped.headers["cache-control"].endswith("immutable")
        # Modules import each other stamped too, so no stale module slips in under a new page.
        for imported in re.findall(r'from "(\./[^"]+)"', served.text):
            assert imported.endswith(f".js?v={version[1]}"), (asset, imported)


async def test_scripts_talk_to_the_api_relative_to_the_page(client: httpx.AsyncClient) -> None:
    names = ("app.js", "api.js", "dom.js", "account.js", "reset.js")
    script = "".join([(await client.get(f"/wishlist/{name}")).text for name in names])
    assert 'new URL("api/"' in script and ".innerHTML" not in script and "eval(" not in script
    paths = ("auth/login", "auth/register", "auth/refresh", "auth/password", "users/me", "wishlists", "items", "tags")
    for path in (*paths, "reservations", "auth/password-reset", "auth/password-reset/confirm"):
        assert f'"{path}' in script or f"`{path}" in script, path
