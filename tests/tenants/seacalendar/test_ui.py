"""The web UI is served at /seacalendar/ with its scripts (no third-party origin: the CSP allows 'self')."""

from __future__ import annotations

import httpx


async def test_ui_and_assets(sea: httpx.AsyncClient) -> None:
    page = await sea.get("/seacalendar/")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-cache"
    assert '<script src="socket.js"' in page.text and '<script src="app.js"' in page.text
    assert "/seacalendar/api/auth/discord" in page.text
    for asset in ("app.js", "socket.js", "style.css"):
        answer = await sea.get(f"/seacalendar/{asset}")
        assert answer.status_code == 200 and answer.headers["cache-control"] == "no-cache"
    assert "EIO=4&transport=websocket" in (await sea.get("/seacalendar/socket.js")).text
