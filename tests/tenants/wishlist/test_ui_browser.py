"""The web UI in a real browser: lists, sharing, reserving, the account (skipped without Chromium)."""

from __future__ import annotations

import json

import pytest

from tests.support.browser import CHROMIUM, browser_page
from tests.tenants.wishlist.conftest import PASSWORD, unique_email

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")

SIGN_UP = "section:nth-child(2) form"
NEWEST_FORM = "form.card:last-of-type"
NEW = "Battery-Staple-42"


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
        await page.call("Page.navigate", url=f"{server}/wishlist/")
        await page.until("document.querySelector('form') !== null")
        await page.submit(SIGN_UP, {"name": "Dora", "email": email, "password": PASSWORD})
        await page.until("document.body.innerText.includes('No wishlists yet')")

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
