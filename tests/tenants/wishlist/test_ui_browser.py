"""The web UI in a real browser: lists, sharing, reserving, the account (skipped without Chromium)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.fakes.smtp import FakeSmtp
from tests.support.browser import CHROMIUM, Page, browser_page, sticking_out
from tests.support.refresh import AGE_SPENT
from tests.tenants.wishlist.conftest import (
    API,
    PASSWORD,
    MakeUser,
    create_item,
    create_wishlist,
    mailed,
    token_of,
    unique_email,
)

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")

SIGN_IN = "section:nth-child(1) form"
SIGN_UP = "section:nth-child(2) form"
NEWEST_FORM = "form.card:last-of-type"
NEW = "Battery-Staple-42"


async def sign_up(page: Page, server: str, name: str, email: str) -> None:
    """Open the UI signed out and create an account: the empty list of lists shows."""
    await page.call("Page.navigate", url=f"{server}/wishlist/")
    await page.until("document.querySelector('form') !== null")
    await page.submit(SIGN_UP, {"name": name, "email": email, "password": PASSWORD})
    await page.until("document.body.innerText.includes('No wishlists yet')")


async def test_owner_builds_and_shares_a_list_and_a_friend_reserves(server: str) -> None:
    async with browser_page() as page:
        await page.call("Page.navigate", url=f"{server}/wishlist/")
        await page.until("document.querySelector('form') !== null")
        assert await page.js("document.getElementById('nav').offsetParent === null")  # no menu when signed out

        await page.submit(SIGN_UP, {"name": "Alice", "email": unique_email("ui"), "password": PASSWORD})
        await page.until("document.body.innerText.includes('No wishlists yet')")
        await page.submit("form.card", {"title": "Birthday", "description": "Turning 30", "visibility": "shared"})
        await page.until("location.hash.startsWith('#/w/') && document.body.innerText.includes('Add an item')")
        list_hash = await page.js("location.hash")

        await page.js("location.hash = '#/tags'")
        await page.until("document.body.innerText.includes('No tags yet')")
        await page.submit("form.card", {"name": "Books"})
        await page.until("document.body.innerText.includes('Rename')")

        await page.js(f"location.hash = '{list_hash}'")
        await page.until("document.querySelector('input[name=tag]') !== null")
        await page.js("document.querySelector('input[name=tag]').checked = true")
        await page.submit(NEWEST_FORM, {"name": "Dune", "url": "https://books.example/dune", "price": "12,5"})
        await page.until("document.body.innerText.includes('12.50 EUR')")
        assert "Books" in await page.text()
        link = await page.js("document.querySelector('input[aria-label=\"Share link\"]').value")

        await page.click("Sign out")
        await page.until("document.body.innerText.includes('Create account')")
        await page.call("Page.navigate", url=link)
        await page.until("document.body.innerText.includes('Sign in (or create an account)')")
        await page.submit(SIGN_UP, {"name": "Bob", "email": unique_email("ui"), "password": PASSWORD})
        await page.until("document.body.innerText.includes('A wishlist by Alice')")
        await page.click("I'll give this")
        await page.until("document.body.innerText.includes('reserved by you')")

        await page.js("location.hash = '#/reservations'")
        await page.until("document.body.innerText.includes('for Alice (Birthday)')")
        assert page.errors == []


async def test_account_view_renames_moves_the_email_changes_the_password_and_deletes(server: str) -> None:
    email = unique_email("ui")
    async with browser_page() as page:
        await sign_up(page, server, "Dora", email)

        await page.js("location.hash = '#/account'")
        await page.until("document.getElementById('account-details') !== null")
        await page.submit("#account-details", {"name": "Dorothy"})
        await page.until("document.getElementById('who').textContent === 'Dorothy'")
        moved = unique_email("ui-moved")
        await page.submit("#account-details", {"email": moved, "current_password": PASSWORD})
        # The session keeps the account the API answered with.
        await page.until(f"JSON.parse(sessionStorage.getItem('wishlist.session')).user.email === {json.dumps(moved)}")

        await page.submit("#account-password", {"current_password": "Wrong-Password-1", "new_password": NEW})
        await page.until("document.body.innerText.includes('The password is wrong')")
        await page.submit("#account-password", {"current_password": PASSWORD, "new_password": NEW})
        await page.until("document.body.innerText.includes('signed out everywhere else')")

        # The tab kept its sign-in through the change: deleting (confirmed) needs the new password.
        await page.js("window.confirm = () => true; true")
        await page.submit("#account-delete", {"password": NEW})
        await page.until("document.body.innerText.includes('Your account was deleted')")
        assert await page.js("sessionStorage.getItem('wishlist.session') === null")
        assert "Create account" in await page.text()
        assert page.errors == []


async def test_forgotten_password_by_the_mailed_link(mail_url: str, smtp: FakeSmtp) -> None:
    email = unique_email("ui-reset")
    async with httpx.AsyncClient(base_url=mail_url, timeout=15) as http:
        body = {"email": email, "password": PASSWORD, "name": "Erin"}
        assert (await http.post(f"{API}/auth/register", json=body)).status_code == 201
        async with browser_page() as page:
            await page.call("Page.navigate", url=f"{mail_url}/wishlist/")
            await page.until("document.getElementById('forgot-link')?.offsetParent != null")  # shown: mail is set up
            await page.js("document.getElementById('forgot-link').click(), true")
            await page.until("document.getElementById('forgot') !== null")
            await page.submit("#forgot", {"email": email})
            await page.until("document.getElementById('forgot-sent') !== null")
            assert "If an account exists" in await page.text()

            token = token_of((await mailed(smtp, email))[0])
            await page.call("Page.navigate", url=f"{mail_url}/wishlist/#/reset/{token}")
            await page.until("document.getElementById('reset') !== null")
            await page.submit("#reset", {"new_password": NEW})
            await page.until("document.body.innerText.includes('signed out everywhere else')")
            await page.until("document.getElementById('who').textContent === 'Erin'")
            assert await page.js("location.hash") == "#/"  # the spent link left the address bar
            assert page.errors == []
        login = await http.post(f"{API}/auth/login", json={"email": email, "password": NEW})
        assert login.status_code == 200, login.text


async def test_no_forgot_link_without_mail(server: str) -> None:
    async with browser_page() as page:
        await page.call("Page.navigate", url=f"{server}/wishlist/")
        await page.until("document.getElementById('forgot-link') !== null")
        # The page asked the same question; once it has the answer the link stays hidden.
        assert await page.js("fetch('api/auth/password-reset').then(r => r.json()).then(d => d.available)") is False
        assert await page.js("document.getElementById('forgot-link').offsetParent === null")


# Each form is a card: none of its controls may reach past the card's padding.
STICKING_OUT = sticking_out(".card")


async def test_forms_fit_a_phone_screen(server: str) -> None:
    async with browser_page() as page:
        await page.call("Emulation.setDeviceMetricsOverride", width=360, height=740, deviceScaleFactor=1, mobile=True)
        await page.call("Page.navigate", url=f"{server}/wishlist/")
        await page.until("document.querySelector('form') !== null")
        assert await page.js(STICKING_OUT) == []
        await page.submit(SIGN_UP, {"name": "Pia", "email": unique_email("phone"), "password": PASSWORD})
        # The new-list form's visibility select once sized the column to its longest option.
        await page.until("document.body.innerText.includes('No wishlists yet')")
        assert await page.js(STICKING_OUT) == []
        await page.submit("form.card", {"title": "Phone list", "description": "", "visibility": "public"})
        await page.until("location.hash.startsWith('#/w/') && document.body.innerText.includes('Add an item')")
        assert await page.js(STICKING_OUT) == []
        assert page.errors == []


async def test_a_wrong_password_says_so_and_an_ended_session_asks_to_sign_in_again(server: str) -> None:
    email = unique_email("ui-wrong")
    async with browser_page() as page:
        await sign_up(page, server, "Gus", email)
        await page.click("Sign out")
        await page.until("document.body.innerText.includes('Create account')")
        # Signed out, login's 401 is the answer: it once read "Your session ended".
        await page.submit(SIGN_IN, {"email": email, "password": "Wrong-Password-1"})
        await page.until("document.getElementById('flash').textContent !== ''")
        assert await page.js("document.getElementById('flash').textContent") == "The email or password is wrong."

        await page.submit(SIGN_IN, {"email": email, "password": PASSWORD})
        await page.until("document.body.innerText.includes('No wishlists yet')")
        await page.js("location.hash = '#/tags'")
        await page.until("document.body.innerText.includes('New tag')")
        # Both tokens stop working (as after a sign-out elsewhere): the next action asks to sign in again.
        await page.js(
            "const s = JSON.parse(sessionStorage.getItem('wishlist.session'));"
            "sessionStorage.setItem('wishlist.session', JSON.stringify({...s, access: 'x', refresh: 'y'})); true"
        )
        await page.submit("form.card", {"name": "Too late"})
        await page.until("document.getElementById('flash').textContent !== ''")
        ended = "Your session ended; please sign in again."
        assert await page.js("document.getElementById('flash').textContent") == ended
        assert "Create account" in await page.text()
        # Signing in again carries on where the session ended, not on "My wishlists".
        await page.submit(SIGN_IN, {"email": email, "password": PASSWORD})
        await page.until("location.hash === '#/tags' && document.body.innerText.includes('New tag')", timeout=5)
        assert page.errors == []


# Spoils the stored access token only: the next request renews it with the refresh token.
EXPIRE_ACCESS = (
    "(() => { const s = JSON.parse(sessionStorage.getItem('wishlist.session'));"
    "sessionStorage.setItem('wishlist.session', JSON.stringify({...s, access: 'x'})); return true; })()"
)
REFRESH_TOKEN = "JSON.parse(sessionStorage.getItem('wishlist.session'))?.refresh"


async def test_a_duplicated_tab_follows_the_other_tabs_refreshes_and_sign_out(
    server: str, tenant_ctx: Callable[[str], Any]
) -> None:
    async with browser_page() as first:
        await sign_up(first, server, "Hal", unique_email("ui-tabs"))
        stored = await first.js("sessionStorage.getItem('wishlist.session')")
        async with first.another_tab() as second:
            # What duplicating a tab does: the same page again, with a copy of its sessionStorage.
            await second.call("Page.navigate", url=f"{server}/wishlist/")
            await second.until("document.querySelector('form') !== null")
            await second.js(f"sessionStorage.setItem('wishlist.session', {json.dumps(stored)}); true")
            await second.call("Page.reload")
            await second.until("document.getElementById('who').textContent === 'Hal'")

            async def renew(tab: Page, hash_: str, shown: str) -> str:
                """The tab's access token spoilt, a view opened: it renews, and its new refresh token."""
                await tab.js(EXPIRE_ACCESS)
                await tab.js(f"location.hash = {json.dumps(hash_)}")
                await tab.until(f"document.body.innerText.includes({json.dumps(shown)})")
                return str(await tab.js(REFRESH_TOKEN))

            async def age_spent_tokens() -> None:
                async with tenant_ctx("wishlist").db.transaction() as conn:
                    await conn.exec_driver_sql(AGE_SPENT)

            # The first tab renews its access token, which spends the refresh token both had.
            renewed = await renew(first, "#/tags", "New tag")
            assert renewed != json.loads(stored)["refresh"]
            await second.until(f"{REFRESH_TOKEN} === {json.dumps(renewed)}")

            # Long after (past the reuse grace), the second tab renews: with the new token, so
            # nothing is taken for a replay, and the first tab follows in turn.
            await age_spent_tokens()
            again = await renew(second, "#/tags", "New tag")
            assert again != renewed
            await first.until(f"{REFRESH_TOKEN} === {json.dumps(again)}")
            await age_spent_tokens()
            await renew(first, "#/", "No wishlists yet")

            # Signing out in one signs the other out too (the server ended that sign-in).
            await first.click("Sign out")
            await second.until("document.getElementById('flash').textContent === 'You signed out in another tab.'")
            assert await second.js("sessionStorage.getItem('wishlist.session') === null")
            assert "Create account" in await second.text()
            assert second.errors == []
        assert first.errors == []


# What of the page reaches past the right edge of the window (the page scrolls sideways then).
PAST_THE_EDGE = (
    "[...document.querySelectorAll('body *')]"
    ".filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)"
    ".map(e => e.tagName + '.' + e.className)"
)


async def test_long_words_wrap_and_notes_keep_their_lines_on_a_phone(server: str) -> None:
    word = "Supercalifragilisticexpialidocious" * 3
    async with browser_page() as page:
        await page.call("Emulation.setDeviceMetricsOverride", width=390, height=800, deviceScaleFactor=1, mobile=True)
        await sign_up(page, server, "Nia" + "x" * 60, unique_email("long"))
        await page.submit("form.card", {"title": word, "description": "For June\nThank you!", "visibility": "public"})
        await page.until("location.hash.startsWith('#/w/') && document.body.innerText.includes('Add an item')")
        notes = "Size M\nBlue, not green"
        await page.submit(NEWEST_FORM, {"name": word, "url": "https://shop.example/" + "a" * 120, "notes": notes})
        await page.until("document.querySelector('li.item') !== null")
        # A long title, name or link once widened the page to several screens.
        assert await page.js(PAST_THE_EDGE) == []
        assert await page.js("document.querySelector('li.item p.muted').innerText") == notes

        link = await page.js("document.querySelector('[aria-label=\"Share link\"]').value")
        await page.call("Page.navigate", url=link)
        await page.until("document.body.innerText.includes('A wishlist by')")
        assert await page.js(PAST_THE_EDGE) == []
        assert "For June\nThank you!" in await page.text()
        assert await page.js("document.querySelector('li.item p.muted').innerText") == notes
        assert page.errors == []


async def test_an_error_far_down_a_phone_page_is_in_view_and_edit_takes_the_focus(server: str) -> None:
    async with browser_page() as page:
        await page.call("Emulation.setDeviceMetricsOverride", width=390, height=800, deviceScaleFactor=1, mobile=True)
        await sign_up(page, server, "Ola", unique_email("far"))
        await page.submit("form.card", {"title": "Far down"})
        await page.until("document.body.innerText.includes('Add an item')")
        # Scrolled down to the item form, as a thumb does; the error once showed above the screen.
        await page.js("window.scrollTo(0, document.body.scrollHeight); true")
        await page.submit(NEWEST_FORM, {"name": "Kite", "price": "5", "currency": "ZZZ"})
        await page.until("document.getElementById('flash').textContent.includes('ISO 4217')")
        top, bottom = await page.js(
            "[document.getElementById('flash').getBoundingClientRect()].map(r => [r.top, r.bottom])[0]"
        )
        assert await page.js("scrollY") > 0 and top >= 0 and bottom <= 800

        await page.submit(NEWEST_FORM, {"name": "Kite", "price": "5", "currency": "usd"})
        await page.until("document.querySelector('li.item') !== null")
        await page.click("Edit")
        # The pressed button went with its card: focus goes to the form that took its place, not the page.
        assert await page.js("document.activeElement.name") == "name"
        assert await page.js("document.activeElement.closest('form').textContent.includes('Save item')")
        assert page.errors == []


async def test_a_price_takes_its_currency_places(server: str) -> None:
    """A dinar's third place can be typed (the field once allowed two), a yen fraction is refused by name."""
    async with browser_page() as page:
        await sign_up(page, server, "Huda", unique_email("dinar"))
        await page.submit("form.card", {"title": "Travel"})
        await page.until("document.body.innerText.includes('Add an item')")
        await page.submit(NEWEST_FORM, {"name": "Map", "price": "1,250", "currency": "kwd"})
        await page.until("(document.querySelector('li.item .price')?.textContent ?? '') === '1.250 KWD'")
        await page.submit(NEWEST_FORM, {"name": "Fan", "price": "12,5", "currency": "JPY"})
        await page.until("document.getElementById('flash').textContent.includes('JPY prices are whole amounts')")
        assert await page.js("document.querySelectorAll('li.item').length") == 1
        assert page.errors == []


async def test_copy_link_without_the_clipboard_api_leaves_the_link_selected(server: str) -> None:
    """Over plain HTTP (not localhost) ``navigator.clipboard`` is missing; Copy link once threw."""
    async with browser_page() as page:
        await sign_up(page, server, "Ivo", unique_email("copy"))
        await page.submit("form.card", {"title": "Garden", "visibility": "shared"})
        await page.until("document.querySelector('input[aria-label=\"Share link\"]') !== null")
        await page.js("Object.defineProperty(navigator, 'clipboard', { value: undefined }); true")
        await page.click("Copy link")
        await page.until("document.getElementById('flash').textContent !== ''")
        flash = await page.js("document.getElementById('flash').textContent")
        assert flash in ("Link copied.", "The link is selected: press Ctrl+C (⌘C on a Mac) to copy it.")
        selected = await page.js(
            "(i => document.activeElement === i && i.selectionStart === 0 && i.selectionEnd === i.value.length)"
            "(document.querySelector('input[aria-label=\"Share link\"]'))"
        )
        assert selected and page.errors == []


async def test_an_item_reserved_by_someone_else_meanwhile_shows_as_reserved(
    server: str, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice, bob, cyd = await make_user("Alice"), await make_user("Bob"), await make_user("Cyd")
    wishlist = await create_wishlist(client, alice, visibility="shared")
    item = await create_item(client, alice, wishlist["id"], name="Kite")
    reservation = f"{API}/shared/{wishlist['share_token']}/items/{item['id']}/reservation"
    async with browser_page() as page:
        await page.call("Page.navigate", url=f"{server}/wishlist/#/shared/{wishlist['share_token']}")
        await page.until("document.body.innerText.includes('Sign in (or create an account)')")
        await page.submit(SIGN_IN, {"email": bob.email, "password": PASSWORD})
        await page.until("document.body.innerText.includes('A wishlist by Alice')")
        # Cyd takes it while Bob's page still offers it: Bob's tap says so, and the page catches up.
        assert (await client.post(reservation, headers=cyd.auth)).status_code == 201
        await page.click("I'll give this")
        await page.until("document.getElementById('flash').textContent.includes('already reserved')", timeout=5)
        await page.until("document.querySelector('li.item .badge.reserved') !== null", timeout=5)
        assert not await page.js(
            "[...document.querySelectorAll('button')].some(b => b.textContent === \"I'll give this\")"
        )
        assert "already reserved" in await page.js("document.getElementById('flash').textContent")
        assert page.errors == []
