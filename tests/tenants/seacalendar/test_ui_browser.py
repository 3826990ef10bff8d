"""The web UI in a real browser: the live tally across an access token's expiry (skipped without Chromium)."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from shared.tenant import TenantContext
from tests.support.browser import CHROMIUM, browser_page
from tests.tenants.seacalendar.conftest import SignIn, create_poll, vote

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")


async def test_the_live_tally_keeps_moving_after_the_access_token_expires(
    sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn, sea_ctx: TenantContext
) -> None:
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    poll = await create_poll(sea, ann, invitees=[bob.discord_id])
    lifetime = 4
    short = sea_ctx.tokens.issue_access(str(ann.id), ttl=lifetime)
    expires = time.time() + lifetime
    async with browser_page() as page:
        await page.call("Page.navigate", url=f"{sea_url}/seacalendar/")
        await page.until("document.readyState === 'complete'")
        await page.js(
            f"localStorage.setItem('sc_access', {json.dumps(short)});"
            f"localStorage.setItem('sc_refresh', {json.dumps(ann.refresh)});"
            f"location.hash = 'poll={poll['id']}'; location.reload(); true"
        )
        await page.until("document.getElementById('live')?.textContent === 'live'")
        await page.until("document.getElementById('poll-title')?.textContent === 'Game night'")
        # The server closes the namespace when the token expires; a vote a moment later must still show.
        await asyncio.sleep(max(expires - time.time(), 0) + 1)
        option = poll["options"][0]["id"]
        assert (await vote(sea, bob, poll["id"], available=[option])).status_code == 200
        cell = f"document.querySelector('[data-tally=\"{option}\"] span').textContent"
        await page.until(f"{cell}.startsWith('✅ 1')", timeout=5)
        assert await page.js("document.getElementById('live').textContent") == "live"
        assert page.errors == []
