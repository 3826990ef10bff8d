"""The web UI is served at /seacalendar/ with its scripts (no third-party origin: the CSP allows 'self')."""

from __future__ import annotations

import re

import httpx


async def test_ui_and_assets(sea: httpx.AsyncClient) -> None:
    page = await sea.get("/seacalendar/")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-cache"
    version = re.search(r'<script src="socket.js\?v=(\w+)"', page.text)
    assert version and f'<script src="app.js?v={version[1]}"' in page.text
    assert "/seacalendar/api/auth/discord" in page.text
    for asset in ("app.js", "qotw.js", "invitees.js", "socket.js", "style.css"):
        answer = await sea.get(f"/seacalendar/{asset}")
        assert answer.status_code == 200 and answer.headers["cache-control"] == "no-cache"
        stamped = await sea.get(f"/seacalendar/{asset}", params={"v": version[1]})
        assert stamped.content == answer.content and "immutable" in stamped.headers["cache-control"]
    assert "EIO=4&transport=websocket" in (await sea.get("/seacalendar/socket.js")).text
