"""The join wizard in a real browser: saving again, deleting the account (skipped without Chromium)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.support.browser import CHROMIUM, Page, browser_page, sticking_out
from tests.tenants.astro.conftest import SignIn

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")

# Elements the page hides with the ``hidden`` attribute that a style rule shows anyway.
SHOWN_THOUGH_HIDDEN = (
    "[...document.querySelectorAll('[hidden]')].filter(e => getComputedStyle(e).display !== 'none').map(e => e.id)"
)


async def test_saving_again_keeps_the_city_and_hour_picked_and_the_account_can_be_deleted(
    astro: httpx.AsyncClient, astro_url: str, sign_in: SignIn
) -> None:
    me = await sign_in("texan")
    # 01:30 on 2021-11-07 happened twice in Paris, Texas (CDT, then CST): both city and hour were chosen.
    body = {"birth_date": "2021-11-07", "birth_time": "01:30", "visibility": "private", "fold": 1}
    asked = await astro.put(
        "/astro/api/profile", json={**body, "birth_place": {"city": "Paris"}}, headers=me["headers"]
    )
    texas = next(c for c in asked.json()["error"]["details"]["candidates"] if c["timezone"] == "America/Chicago")
    saved = await astro.put(
        "/astro/api/profile", json={**body, "birth_place": {"geonameid": texas["geonameid"]}}, headers=me["headers"]
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["birth"]["utc"] == "2021-11-07T07:30:00+00:00"
    async with browser_page() as page:
        await page.call("Page.navigate", url=f"{astro_url}/astro/")
        await page.until("!document.getElementById('step-link').hidden")
        # Signed out: no account controls (a display rule on #who once beat its hidden attribute).
        assert await page.js(SHOWN_THOUGH_HIDDEN) == []
        await page.js(
            f"localStorage.setItem('astro.access', {json.dumps(me['access_token'])});"
            f"localStorage.setItem('astro.refresh', {json.dumps(me['refresh_token'])});"
            "location.reload(); true"
        )
        await page.until("document.querySelector('#birth-form')?.city.value === 'Paris'")
        # On a phone, the birth form's controls stay inside their section.
        await page.call("Emulation.setDeviceMetricsOverride", width=360, height=740, deviceScaleFactor=1, mobile=True)
        assert await page.js(sticking_out("section")) == []
        await page.call("Emulation.clearDeviceMetricsOverride")
        await page.js(
            "const form = document.querySelector('#birth-form');"
            "form.visibility.value = 'members'; form.requestSubmit(); true"
        )
        await page.until("document.getElementById('message').textContent.startsWith('Saved')")
        assert await page.js("document.getElementById('choices').hidden") is True
        again = (await astro.get("/astro/api/profile", headers=me["headers"])).json()
        assert again["visibility"] == "members"
        assert again["birth_location"]["geonameid"] == texas["geonameid"]
        assert again["birth"]["utc"] == "2021-11-07T07:30:00+00:00"
        # Deleting the account (confirmed) signs the tab out and leaves nothing behind.
        await page.js("window.confirm = () => true; document.getElementById('delete-account').click(); true")
        await page.until("!document.getElementById('step-link').hidden && !localStorage.getItem('astro.access')")
        assert await page.js(SHOWN_THOUGH_HIDDEN) == []
        assert page.errors == []
    assert (await astro.get("/astro/api/profile", headers=me["headers"])).status_code == 401


async def signed_in_page(page: Page, astro_url: str, me: dict[str, Any]) -> None:
    """Open the wizard in ``page`` with ``me``'s tokens, as the sign-in's redirect leaves them."""
    await page.call("Page.navigate", url=f"{astro_url}/astro/")
    await page.until("!document.getElementById('step-link').hidden")
    await page.js(
        f"localStorage.setItem('astro.access', {json.dumps(me['access_token'])});"
        f"localStorage.setItem('astro.refresh', {json.dumps(me['refresh_token'])});"
        "location.reload(); true"
    )
    await page.until("!document.getElementById('step-birth').hidden")


# How much wider than the window the page is (it scrolls sideways when > 0).
WIDER_THAN_THE_WINDOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"

LONDON = 2643743


async def test_the_charts_fit_a_phone(astro: httpx.AsyncClient, astro_url: str, sign_in: SignIn) -> None:
    me = await sign_in("a-member-with-quite-a-long-name")
    body = {"birth_date": "1991-03-04", "birth_time": "07:15", "birth_place": {"geonameid": LONDON}}
    saved = await astro.put("/astro/api/profile", json={**body, "visibility": "private"}, headers=me["headers"])
    assert saved.status_code == 200, saved.text
    async with browser_page() as page:
        await page.call("Emulation.setDeviceMetricsOverride", width=390, height=800, deviceScaleFactor=1, mobile=True)
        await signed_in_page(page, astro_url, me)
        await page.until("document.querySelectorAll('#positions tbody tr').length === 9")
        # The header's account controls and the positions table once made the page 574 px wide.
        assert await page.js(WIDER_THAN_THE_WINDOW) == 0
        assert page.errors == []


async def test_the_birth_form_sends_the_place_and_time_shown(
    astro: httpx.AsyncClient, astro_url: str, sign_in: SignIn
) -> None:
    me = await sign_in("placer")
    async with browser_page() as page:
        await signed_in_page(page, astro_url, me)
        form = "document.querySelector('#birth-form')"
        # Paris is ambiguous; the French one is picked, but 02:30 was skipped there that night (422).
        await page.js(
            f"(() => {{ const f = {form}; f.birth_date.value = '1991-03-31'; f.birth_time.value = '02:30';"
            " f.city.value = 'Paris'; f.requestSubmit(); return true; })()"
        )
        await page.until("!document.getElementById('choices').hidden")
        await page.js(
            "[...document.querySelectorAll('#choices button')].find(b => b.textContent.includes('Europe/Paris'))"
            ".click(); true"
        )
        await page.until("document.getElementById('message').textContent.includes('skipped')")
        # Another city typed: the Paris picked for the first name must not be what is saved.
        await page.js(
            f"(() => {{ const f = {form}; f.city.value = 'Lyon'; f.country.value = 'FR';"
            " f.city.dispatchEvent(new Event('input', { bubbles: true }));"
            " f.birth_time.value = '10:00'; f.requestSubmit(); return true; })()"
        )
        await page.until("document.getElementById('message').textContent.startsWith('Saved')")
        saved = (await astro.get("/astro/api/profile", headers=me["headers"])).json()
        assert saved["birth_location"]["city"] == "Lyon"

        # Coordinates with the longitude left empty are not sent (it once went out as 0°).
        await page.js(
            f"(() => {{ const f = {form}; f.querySelector('input[value=coords]').click();"
            " f.lat.value = '45.76'; f.lon.value = ''; return true; })()"
        )
        assert await page.js(f"{form}.checkValidity()") is False
        assert await page.js(f"{form}.lon.validity.valueMissing") is True

        # Saved without a time, the time box comes back disabled with its box ticked.
        await page.js(f"(() => {{ const f = {form}; f.querySelector('input[value=city]').click(); return true; }})()")
        await page.js(f"{form}.time_unknown.click(); {form}.requestSubmit(); true")
        await page.until("document.getElementById('chart-note').textContent.startsWith('Birth time unknown')")
        await page.call("Page.reload")
        await page.until(f"{form}?.birth_date.value === '1991-03-31'")
        assert await page.js(f"[{form}.time_unknown.checked, {form}.birth_time.disabled]") == [True, True]
        assert page.errors == []


async def test_failures_are_shown_and_an_ended_session_goes_back_to_sign_in(
    astro: httpx.AsyncClient, astro_url: str, sign_in: SignIn
) -> None:
    me = await sign_in("unlucky")
    async with browser_page() as page:
        await signed_in_page(page, astro_url, me)
        form = "document.querySelector('#birth-form')"
        await page.js(
            f"(() => {{ const f = {form}; f.birth_date.value = '1990-01-01'; f.birth_time.value = '10:00';"
            " f.city.value = 'London'; f.country.value = 'GB'; return true; })()"
        )
        message = "document.getElementById('message').textContent"
        # A proxy's HTML error page, then no server at all: once an uncaught error and a silent button.
        await page.js(
            "window.realFetch = window.fetch;"
            "window.fetch = async () => new Response('<h1>Bad Gateway</h1>', { status: 502 });"
            f"{form}.requestSubmit(); true"
        )
        await page.until(f"{message} === 'The server answered 502; try again.'")
        await page.js(
            f"window.fetch = async () => {{ throw new TypeError('Failed to fetch'); }}; {form}.requestSubmit(); true"
        )
        await page.until(f"{message}.startsWith('The server could not be reached')")

        # Both tokens refused (signed out elsewhere): the page says so and offers sign-in again.
        await page.js(
            "window.fetch = window.realFetch;"
            "localStorage.setItem('astro.access', 'spent'); localStorage.setItem('astro.refresh', 'spent');"
            f"{form}.requestSubmit(); true"
        )
        await page.until(f"{message} === 'Your session ended; please sign in again.'")
        assert await page.js("!document.getElementById('step-link').hidden && document.getElementById('who').hidden")
        assert await page.js("document.getElementById('step-birth').hidden")
        assert page.errors == []


async def test_choices_ask_in_plain_words_and_matches_open_from_the_keyboard(
    astro: httpx.AsyncClient, astro_url: str, sign_in: SignIn
) -> None:
    other = await sign_in("visible-one")
    body = {"birth_date": "1990-05-01", "birth_time": "10:00", "birth_place": {"geonameid": LONDON}}
    shown = await astro.put("/astro/api/profile", json={**body, "visibility": "members"}, headers=other["headers"])
    assert shown.status_code == 200, shown.text
    me = await sign_in("chooser")
    async with browser_page() as page:
        await signed_in_page(page, astro_url, me)
        await page.js(
            "(() => { const f = document.querySelector('#birth-form'); f.birth_date.value = '1991-03-04';"
            " f.birth_time.value = '07:15'; f.city.value = 'Paris'; f.requestSubmit(); return true; })()"
        )
        await page.until("!document.getElementById('choices').hidden")
        # The API's "send the geonameid of the one you mean" once reached the member, twice.
        assert "geonameid" not in await page.text()
        assert str(await page.js("document.getElementById('choices').textContent")).startswith("Several places")
        # The choices were white on white (the header's quiet buttons).
        colours = await page.js(
            "[getComputedStyle(document.querySelector('#choices button'))].map(s => [s.color, s.backgroundColor])[0]"
        )
        assert colours[0] != colours[1]
        await page.js(
            "[...document.querySelectorAll('#choices button')].find(b => b.textContent.includes('Europe/Paris'))"
            ".click(); true"
        )
        await page.until("document.querySelector('#matches button') !== null")
        # A match is a button: Tab reaches it and Enter opens it (a clickable <li> was mouse-only).
        await page.js("document.querySelector('#matches button').focus(); true")
        enter = {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13}
        await page.call("Input.dispatchKeyEvent", type="keyDown", text="\r", **enter)
        await page.call("Input.dispatchKeyEvent", type="keyUp", **enter)
        await page.until("!document.getElementById('match-detail').hidden")
        assert "of 36" in await page.js("document.getElementById('match-detail').textContent")
        assert page.errors == []


async def test_delete_birth_data_shows_only_with_some_and_a_broken_avatar_is_not_shown(
    astro: httpx.AsyncClient, astro_url: str, sign_in: SignIn
) -> None:
    me = await sign_in("newcomer")
    async with browser_page() as page:
        await signed_in_page(page, astro_url, me)
        # Nothing saved yet: nothing to delete. The fake instance's avatar URL does not load.
        assert await page.js("document.getElementById('forget').hidden") is True
        await page.until("document.getElementById('avatar').hidden", timeout=5)
        body = {"birth_date": "1991-03-04", "birth_time": "07:15", "birth_place": {"geonameid": LONDON}}
        saved = await astro.put("/astro/api/profile", json={**body, "visibility": "private"}, headers=me["headers"])
        assert saved.status_code == 200, saved.text
        await page.js("location.reload(); true")
        await page.until("document.querySelectorAll('#positions tbody tr').length === 9")
        assert await page.js("document.getElementById('forget').hidden") is False
        await page.js("window.confirm = () => true; document.getElementById('forget').click(); true")
        await page.until("document.getElementById('message').textContent.includes('deleted')")
        await page.until("document.getElementById('forget').hidden && document.getElementById('step-chart').hidden")
        assert await page.js("document.getElementById('avatar').hidden") is True
        # One that loads is shown.
        gif = "data:image/gif;base64,R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=="
        await page.js(f"showAvatar({json.dumps(gif)}); true")
        await page.until("!document.getElementById('avatar').hidden", timeout=5)
        assert page.errors == []
