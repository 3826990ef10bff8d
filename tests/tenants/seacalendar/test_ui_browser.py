"""The web UI in a real browser: the live tally across an access token's expiry, backing off a refused connect,
deleting the account and watching a poll deleted with its creator's, signing in from a poll link and signing out
(skipped without Chromium)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

from shared.tenant import TenantContext
from tenants.seacalendar.guilds import MANAGE_GUILD
from tests.fakes.discord import FakeDiscord
from tests.support.browser import CHROMIUM, Page, browser_page, sticking_out
from tests.support.waiting import wait_for
from tests.tenants.seacalendar.conftest import API, SignIn, create_poll, vote

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")


async def test_the_live_tally_keeps_moving_after_the_access_token_expires(
    sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn, sea_ctx: TenantContext
) -> None:
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    poll = await create_poll(sea, ann, invitees=[bob.discord_id])
    lifetime = 4
    short = sea_ctx.tokens.issue_access(str(ann.id), ttl=lifetime)
    async with browser_page() as page:
        await open_as(page, sea_url, short, ann.refresh, f"poll={poll['id']}")
        await page.until("document.getElementById('live')?.textContent === 'live'")
        await page.until("document.getElementById('poll-title')?.textContent === 'Game night'")
        # The server closes the namespace when the token expires; the page refreshes its token and
        # joins again, and a vote after that must still show.
        refreshed = f"localStorage.getItem('sc_access') !== {json.dumps(short)}"
        await page.until(
            f"{refreshed} && document.getElementById('live').textContent === 'live'", timeout=lifetime + 10
        )
        option = poll["options"][0]["id"]
        assert (await vote(sea, bob, poll["id"], available=[option])).status_code == 200
        cell = f"document.querySelector('[data-tally=\"{option}\"] span')?.textContent"
        await page.until(f"({cell} ?? '').startsWith('✅ 1')", timeout=5)
        assert await page.js("document.getElementById('live').textContent") == "live"
        assert page.errors == []


async def test_a_connect_refused_as_rate_limited_is_retried_later_not_at_once(sea_url: str) -> None:
    async with browser_page() as page:
        await page.call("Page.navigate", url=f"{sea_url}/seacalendar/")
        await page.until("document.readyState === 'complete' && typeof TenantSocket === 'function'")
        refusal = {"message": "Too many connect attempts; slow down.", "data": {"code": "rate_limited"}}
        hinted = {**refusal, "data": {"code": "rate_limited", "details": {"retry_after": 1}}}
        # A client whose socket records what it sends, refused the way gateway/sio_server.py refuses
        # (and whose other refusals would be retried at once, as a refreshed token is).
        await page.js(
            "window.probe = { sent: [] }; probe.socket = new TenantSocket('/seacalendar', () => 'token');"
            "probe.socket.onrefused = async () => true;"
            "probe.socket.ws = { readyState: WebSocket.OPEN, send: (m) => probe.sent.push([m, performance.now()]) };"
            f"probe.at = performance.now(); probe.socket.packet('4/seacalendar,' + {json.dumps(json.dumps(hinted))});"
            "true"
        )
        await page.until("probe.sent.length === 1", timeout=8)
        waited = await page.js("probe.sent[0][1] - probe.at")
        # At least the hinted second; the jitter adds up to one more, and a busy machine's timers
        # may fire late, so the ceiling only tells "waited for the hint" from "never gave up".
        assert 1000 <= waited < 6000, waited
        assert await page.js("probe.sent[0][0]") == '40/seacalendar,{"token":"token"}'
        # Without a hint: doubling from a second, with jitter, capped at a minute; a connect resets it.
        delays = await page.js("[0, 1, 2, 5, 20].map((n) => retryDelay({}, n))")
        for attempt, delay in zip([0, 1, 2, 5, 20], delays, strict=True):
            ceiling = min(60_000, 1000 * 2**attempt)
            assert ceiling / 2 <= delay <= ceiling, (attempt, delay)
        await page.js(f"probe.socket.packet('4/seacalendar,' + {json.dumps(json.dumps(refusal))}); true")
        assert await page.js("probe.socket.limited") == 2 and await page.js("probe.socket.retryTimer !== null")
        await page.js('probe.socket.packet(\'0/seacalendar,{"sid":"x"}\'); true')
        assert await page.js("probe.socket.limited === 0 && probe.socket.retryTimer === null")
        assert page.errors == []


async def test_a_connect_refused_again_after_a_refresh_waits_before_asking_once_more(sea_url: str) -> None:
    async with browser_page() as page:
        await page.call("Page.navigate", url=f"{sea_url}/seacalendar/")
        await page.until("document.readyState === 'complete' && typeof TenantSocket === 'function'")
        refusal = json.dumps(json.dumps({"message": "Not allowed.", "data": {"code": "forbidden"}}))
        await page.js(
            "window.probe = { sent: [], refreshes: 0 }; probe.socket = new TenantSocket('/seacalendar', () => 'token');"
            "probe.socket.onrefused = async () => { probe.refreshes++; return true; };"
            "probe.socket.ws = { readyState: WebSocket.OPEN, send: (m) => probe.sent.push(m) };"
            f"probe.socket.packet('4/seacalendar,' + {refusal}); true"
        )
        # The first refusal is taken for an expired token: refresh and ask again at once.
        await page.until("probe.refreshes === 1 && probe.sent.length === 1", timeout=5)
        assert await page.js("probe.socket.retryTimer === null")
        # Refused again with the fresh token: wait before the next refresh and connect.
        await page.js(f"probe.socket.packet('4/seacalendar,' + {refusal}); true")
        assert await page.js("probe.socket.retryTimer !== null && probe.refreshes === 1 && probe.sent.length === 1")
        await page.until("probe.refreshes === 2 && probe.sent.length === 2", timeout=5)
        await page.js('probe.socket.packet(\'0/seacalendar,{"sid":"x"}\'); true')
        assert await page.js("probe.socket.refused === 0 && probe.socket.limited === 0")
        assert page.errors == []


async def open_as(page: Page, sea_url: str, access: str, refresh: str, hash_: str) -> None:
    """Load the UI signed in with these tokens, at ``#hash_``."""
    await page.call("Page.navigate", url=f"{sea_url}/seacalendar/")
    await page.until("document.readyState === 'complete'")
    await page.js(
        f"localStorage.setItem('sc_access', {json.dumps(access)});"
        f"localStorage.setItem('sc_refresh', {json.dumps(refresh)});"
        f"location.hash = {json.dumps(hash_)}; location.reload(); true"
    )


async def delete_from_the_form(page: Page, password: str = "") -> None:
    await page.js("document.querySelector('#delete-account').confirm.checked = true")
    await page.submit("#delete-account", {"current_password": password})


ACCOUNT_SHOWN = (
    "document.getElementById('account')?.hidden === false && document.getElementById('account-name').innerText"
)
SIGNED_OUT = "!document.getElementById('signed-out').hidden && localStorage.getItem('sc_access') === null"


@pytest.mark.parametrize("deleted", ["poll", "account"])
async def test_a_watched_poll_says_it_was_deleted(
    sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn, deleted: str
) -> None:
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    poll = await create_poll(sea, ann, invitees=[bob.discord_id])
    async with browser_page() as page:
        await open_as(page, sea_url, bob.access, bob.refresh, f"poll={poll['id']}")
        await page.until("document.getElementById('live')?.textContent === 'live'")
        await page.until("document.getElementById('poll-title')?.textContent === 'Game night'")
        path = f"{API}/polls/{poll['id']}" if deleted == "poll" else f"{API}/users/me"
        assert (await sea.request("DELETE", path, headers=ann.auth)).status_code == 204
        await page.until("document.getElementById('poll-title').textContent === 'Poll deleted'", timeout=5)
        assert await page.js("document.getElementById('poll-meta').textContent") == (
            "Its creator deleted this poll, with its votes."
        )
        assert await page.js("document.getElementById('vote-form').hidden && !document.querySelector('[data-tally]')")
        assert page.errors == []


async def test_deleting_a_discord_account_from_the_ui_needs_a_recent_sign_in(
    sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn
) -> None:
    ann = await sign_in("Ann")
    refreshed = (await sea.post(f"{API}/auth/refresh", json={"refresh_token": ann.refresh})).json()
    async with browser_page() as page:
        await open_as(page, sea_url, refreshed["access_token"], refreshed["refresh_token"], "account")
        await page.until(ACCOUNT_SHOWN)
        # Discord only: no password to give, so a token from a refresh is sent to sign in again.
        assert await page.js("document.getElementById('delete-password').hidden")
        assert "votes" in await page.text()
        await delete_from_the_form(page)
        await page.until("!document.getElementById('reauth').hidden", timeout=5)
        assert "sign in again" in await page.js("document.getElementById('delete-error').textContent")
        assert (await sea.get(f"{API}/users/me", headers=ann.auth)).status_code == 200

        await open_as(page, sea_url, ann.access, refreshed["refresh_token"], "account")
        await page.until(ACCOUNT_SHOWN)
        await delete_from_the_form(page)
        await page.until(SIGNED_OUT, timeout=5)
        assert "deleted" in await page.js("document.getElementById('signed-out-note').textContent")
        assert await page.js("localStorage.getItem('sc_refresh') === null")
        assert page.errors == []
    assert (await sea.get(f"{API}/users/me", headers=ann.auth)).status_code == 401


async def test_deleting_an_account_with_a_password_asks_for_it(
    sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn
) -> None:
    dee = await sign_in("Dee")
    credentials = {"username": f"dee{dee.id}", "password": "first-password-1"}
    assert (await sea.put(f"{API}/users/me", json=credentials, headers=dee.auth)).status_code == 200
    refreshed = (await sea.post(f"{API}/auth/refresh", json={"refresh_token": dee.refresh})).json()
    async with browser_page() as page:
        await open_as(page, sea_url, refreshed["access_token"], refreshed["refresh_token"], "account")
        await page.until(
            "document.getElementById('account')?.hidden === false && !document.getElementById('delete-password').hidden"
        )
        await delete_from_the_form(page, "first-password-X")
        await page.until("document.getElementById('delete-error').textContent.includes('wrong')", timeout=5)
        # A wrong password is the form's answer, not a sign-in that ended.
        assert await page.js("!document.getElementById('account').hidden && localStorage.getItem('sc_access') !== null")
        await delete_from_the_form(page, "first-password-1")
        await page.until(SIGNED_OUT, timeout=5)
        assert page.errors == []
    assert (await sea.get(f"{API}/users/me", headers=dee.auth)).status_code == 401


MEMORIES = "[...document.querySelectorAll('#memory-list li')].map((li) => li.textContent)"


async def test_memories_of_a_finalised_event_are_added_and_go_live(
    sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn
) -> None:
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    poll = await create_poll(sea, ann, invitees=[bob.discord_id])
    base = f"{API}/polls/{poll['id']}"
    await sea.post(f"{base}/finalize", json={"option_id": poll["options"][0]["id"]}, headers=ann.auth)
    assert (await sea.post(f"{base}/memories", json={"text": "First!"}, headers=ann.auth)).status_code == 201
    async with browser_page() as page:
        await open_as(page, sea_url, ann.access, ann.refresh, f"poll={poll['id']}")
        await page.until("document.getElementById('live')?.textContent === 'live'")
        await page.until(f"{MEMORIES}.length === 1")
        assert (await page.js(MEMORIES))[0].startswith("Ann: First! ")

        # Someone else's memory shows up live; a link is a link, and markup in a note stays text.
        link = {"kind": "link", "url": "https://photos.example/night", "text": "<b>photos</b>"}
        assert (await sea.post(f"{base}/memories", json=link, headers=bob.auth)).status_code == 201
        await page.until(f"{MEMORIES}.length === 2", timeout=5)
        assert await page.js("document.querySelector('#memory-list a').href") == "https://photos.example/night"
        assert await page.js("document.querySelector('#memory-list b') === null")

        # Added from the form: shown once, though the answer and the live event both bring it.
        await page.submit("#memory-form", {"text": "Same time next year?", "url": ""})
        await page.until(f"{MEMORIES}.length === 3", timeout=5)
        assert (await page.js(MEMORIES))[2].startswith("Ann: Same time next year? ")
        # The creator may remove any memory of the event: each has its button.
        assert await page.js("document.querySelectorAll('#memory-list li button').length") == 3
        await page.js("document.querySelector('#memory-list li:last-child button').click(); true")
        await page.until(f"{MEMORIES}.length === 2", timeout=5)
        assert (await sea.get(f"{base}/memories", headers=ann.auth)).json()["memories"][-1]["author"]["id"] == bob.id
        assert (await sea.post(f"{base}/memories", json={"text": "Again"}, headers=ann.auth)).status_code == 201
        await page.until(f"{MEMORIES}.length === 3", timeout=5)
        await page.submit("#memory-form", {"text": "", "url": ""})
        await page.until("document.getElementById('memory-error').textContent !== ''", timeout=5)

        # Bob deletes his account: his memory leaves the page as it leaves the event.
        assert (await sea.request("DELETE", f"{API}/users/me", headers=bob.auth)).status_code == 204
        await page.until(f"{MEMORIES}.length === 2", timeout=5)
        assert all(not text.startswith("Bob") for text in await page.js(MEMORIES))
        assert page.errors == []


async def test_the_pages_fit_a_phone_screen(sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn) -> None:
    ann = await sign_in("Ann")
    poll = await create_poll(sea, ann)
    await sea.post(f"{API}/polls/{poll['id']}/finalize", json={"option_id": poll["options"][0]["id"]}, headers=ann.auth)
    async with browser_page() as page:
        await page.call("Emulation.setDeviceMetricsOverride", width=360, height=740, deviceScaleFactor=1, mobile=True)
        for hash_, shown in (
            ("", "home"),
            (f"poll={poll['id']}", "memory-form"),
            ("account", "account"),
            ("qotw", "qotw-guild"),
        ):
            await open_as(page, sea_url, ann.access, ann.refresh, hash_)
            await page.until(f"document.getElementById({json.dumps(shown)})?.offsetParent != null")
            assert await page.js(sticking_out("section")) == [], hash_
        assert page.errors == []


async def test_a_poll_link_opened_signed_out_opens_the_poll_after_signing_in(
    sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn, fake_discord: tuple[FakeDiscord, str]
) -> None:
    ann = await sign_in("Ann")
    poll = await create_poll(sea, ann, is_private=False)
    fake, _ = fake_discord
    fake.user = {"id": "399999999999999001", "username": "cy", "global_name": "Cy"}
    async with browser_page() as page:
        # The link the bot posts in Discord, opened by someone not signed in here yet.
        await page.call("Page.navigate", url=f"{sea_url}/seacalendar/#poll={poll['id']}")
        await page.until("document.readyState === 'complete' && !document.getElementById('signed-out').hidden")
        await page.js("document.getElementById('sign-in').click(); true")
        await page.until("document.getElementById('poll-title')?.textContent === 'Game night'")
        assert await page.js("location.hash") == f"#poll={poll['id']}"
        assert await page.js("document.getElementById('who').textContent") == "Cy"
        assert page.errors == []


async def test_signing_out_forgets_the_tokens_and_revokes_the_sign_in(
    sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn
) -> None:
    ann = await sign_in("Ann")
    poll = await create_poll(sea, ann)
    async with browser_page() as page:
        await open_as(page, sea_url, ann.access, ann.refresh, f"poll={poll['id']}")
        await page.until("document.getElementById('live')?.textContent === 'live'")
        await page.click("Sign out")
        await page.until(SIGNED_OUT, timeout=5)
        assert await page.js("localStorage.getItem('sc_refresh') === null && location.hash === ''")
        assert await page.js("$('sign-out').hidden && $('who').textContent === ''")
        assert "signed out" in await page.js("document.getElementById('signed-out-note').textContent")
        assert await page.js("socket.ws === null && !socket.connected")
        assert page.errors == []
    refreshed = await sea.post(f"{API}/auth/refresh", json={"refresh_token": ann.refresh})
    assert refreshed.status_code == 401, refreshed.text


CREATE_ERROR = "document.getElementById('create-error').textContent"


async def test_the_new_poll_form_says_what_to_fix_and_takes_times_as_people_write_them(
    sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn
) -> None:
    ann = await sign_in("Ann")
    async with browser_page() as page:
        await open_as(page, sea_url, ann.access, ann.refresh, "")
        await page.until("document.getElementById('home')?.offsetParent != null")
        form = {"title": "Board games", "description": "", "invitees": "", "deadline": ""}
        # Private (the default) and nobody invited: a poll only its creator could ever see.
        await page.submit("#create", {**form, "dates": "2030-06-01 19:00"})
        await page.until(f"{CREATE_ERROR}.startsWith('Invite someone, or let anyone with the link vote')", timeout=5)
        form["invitees"] = "300000000000000001"
        # The API's refusal names the field and the reason, not only "The request is not valid."
        await page.submit("#create", {**form, "dates": "2030-06-01 19:00", "deadline": "2020-01-01T10:00"})
        await page.until(f"{CREATE_ERROR} !== ''", timeout=5)
        assert "voting_deadline: the deadline must be in the future" in await page.js(CREATE_ERROR)
        # Refused before asking: a day that has passed, the same option twice.
        await page.submit("#create", {**form, "dates": "2030-06-01 19:00\n2020-06-01"})
        await page.until(f"{CREATE_ERROR} === 'This date has passed: 2020-06-01'", timeout=5)
        await page.submit("#create", {**form, "dates": "2030-06-01 19:00\n2030-06-01  19:00"})
        await page.until(f"{CREATE_ERROR} === 'Listed twice: 2030-06-01  19:00'", timeout=5)
        # "9:00" is nine o'clock (the API wants 09:00).
        await page.submit("#create", {**form, "dates": "2030-06-01 9:00-11:30\n2030-06-02"})
        await page.until("location.hash.startsWith('#poll=')", timeout=5)
        poll_id = int((await page.js("location.hash")).removeprefix("#poll="))
        options = (await sea.get(f"{API}/polls/{poll_id}", headers=ann.auth)).json()["options"]
        assert [(o["start_time"], o["end_time"]) for o in options] == [("09:00:00", "11:30:00"), (None, None)]
        assert page.errors == []


async def test_a_server_error_loading_the_home_page_is_shown(sea_url: str, sign_in: SignIn) -> None:
    ann = await sign_in("Ann")
    async with browser_page() as page:
        # The poll list answers 500 without a body the API would write (a proxy's error page).
        await page.call(
            "Page.addScriptToEvaluateOnNewDocument",
            source="const real = window.fetch; window.fetch = (url, options) => String(url).endsWith('/api/polls')"
            " ? Promise.resolve(new Response('<h1>oops</h1>', { status: 500 }))"
            " : real(url, options);",
        )
        await open_as(page, sea_url, ann.access, ann.refresh, "")
        await page.until("(document.getElementById('page-error')?.textContent ?? '') !== ''", timeout=5)
        assert await page.js("document.getElementById('page-error').offsetParent !== null")
        assert await page.js("$('page-error').textContent") == "The server answered 500; try again in a moment."
        assert page.errors == []


async def press_enter(page: Page) -> None:
    """Press Enter in the focused field, as a keyboard does (a form submits implicitly)."""
    for kind in ("keyDown", "keyUp"):
        await page.call(
            "Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter", windowsVirtualKeyCode=13, text="\r"
        )


def ticked(option: int, kind: str) -> str:
    return f'document.querySelector(\'[data-option="{option}"] [data-kind="{kind}"]\')'


async def test_a_vote_saved_with_enter_shows_at_once_and_live_in_the_creators_tab(
    sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn
) -> None:
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    poll = await create_poll(sea, ann, invitees=[bob.discord_id])
    first, second = (o["id"] for o in poll["options"])
    cell = f"document.querySelector('[data-tally=\"{first}\"] span')?.textContent"
    async with browser_page() as watcher, browser_page() as voter:
        for page, member in ((watcher, ann), (voter, bob)):
            await open_as(page, sea_url, member.access, member.refresh, f"poll={poll['id']}")
            await page.until(f"document.getElementById('live')?.textContent === 'live' && ({cell} ?? '') !== ''")
        # Each checkbox is named for a screen reader, and an option takes one answer of the two.
        assert await voter.js(f"{ticked(first, 'maybe')}.getAttribute('aria-label')") == "Maybe: Sat, Jun 1, 2030 19:00"
        await voter.js(f"{ticked(first, 'available')}.click(); {ticked(first, 'maybe')}.click(); true")
        assert await voter.js(f"!{ticked(first, 'available')}.checked && {ticked(first, 'maybe')}.checked")
        await voter.js(f"{ticked(second, 'available')}.click(); true")
        # The voter's own connection is down: the answer itself moves the tally.
        await voter.js("socket.close(); document.getElementById('note').value = 'late'; $('note').focus(); true")
        await press_enter(voter)
        await voter.until("document.getElementById('vote-saved').textContent === 'Vote saved.'", timeout=5)
        assert await voter.js(cell) == "✅ 0 · 🤔 1"
        assert (await voter.js("$('poll-meta').textContent")).endswith("· 1 voted")
        # The creator's tab follows live, its count of voters too.
        await watcher.until(f"{cell} === '✅ 0 · 🤔 1'", timeout=5)
        assert (await watcher.js("$('poll-meta').textContent")).endswith("· 1 voted")
        mine = (await sea.get(f"{API}/polls/{poll['id']}", headers=bob.auth)).json()["my_vote"]
        assert (mine["available"], mine["maybe"], mine["note"]) == ([second], [first], "late")
        assert watcher.errors == [] and voter.errors == []


async def test_a_vote_answer_older_than_the_live_tally_does_not_overwrite_it(
    sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn
) -> None:
    ann, bob, cy = await sign_in("Ann"), await sign_in("Bob"), await sign_in("Cy")
    poll = await create_poll(sea, ann, invitees=[bob.discord_id, cy.discord_id])
    first = poll["options"][0]["id"]
    cell = f"document.querySelector('[data-tally=\"{first}\"] span')?.textContent"
    async with browser_page() as page:
        await open_as(page, sea_url, bob.access, bob.refresh, f"poll={poll['id']}")
        await page.until(f"document.getElementById('live')?.textContent === 'live' && ({cell} ?? '') !== ''")
        # Bob's answer is held back until Cy's later vote has reached the page live.
        await page.js(
            "window.held = new Promise((go) => { window.release = go; }); const real = window.fetch;"
            "window.fetch = async (...args) => { const answer = await real(...args);"
            " if (String(args[0]).endsWith('/vote')) await window.held; return answer; }; true"
        )
        await page.js(f"{ticked(first, 'available')}.click(); $('note').focus(); true")
        await press_enter(page)
        await page.until("$('poll-meta').textContent.endsWith('· 1 voted')", timeout=5)
        assert (await vote(sea, cy, poll["id"], available=[first])).status_code == 200
        await page.until(f"$('poll-meta').textContent.endsWith('· 2 voted') && {cell} === '✅ 2 · 🤔 0'", timeout=5)
        await page.js("window.release(); true")
        await page.until("document.getElementById('vote-saved').textContent === 'Vote saved.'", timeout=5)
        assert (await page.js("$('poll-meta').textContent")).endswith("· 2 voted")
        assert await page.js(cell) == "✅ 2 · 🤔 0"
        assert page.errors == []


async def test_a_poll_from_another_time_zone_says_whose_clock_and_long_words_fit_a_phone(
    sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn
) -> None:
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    title = "Ünïcødé-" + "x" * 150
    poll = await create_poll(sea, ann, title=title, invitees=[bob.discord_id], timezone="Europe/Paris")
    base = f"{API}/polls/{poll['id']}"
    await sea.post(f"{base}/finalize", json={"option_id": poll["options"][0]["id"]}, headers=ann.auth)
    link = {"kind": "link", "url": "https://photos.example/" + "a" * 300}
    assert (await sea.post(f"{base}/memories", json=link, headers=ann.auth)).status_code == 201
    async with browser_page() as page:
        await page.call("Emulation.setDeviceMetricsOverride", width=390, height=800, deviceScaleFactor=1, mobile=True)
        for member, zone, told in ((bob, "America/New_York", True), (ann, "Europe/Paris", False)):
            await page.call("Emulation.setTimezoneOverride", timezoneId=zone)
            await open_as(page, sea_url, member.access, member.refresh, f"poll={poll['id']}")
            await page.until(f"document.getElementById('poll-title')?.textContent === {json.dumps(title)}")
            await page.until("document.querySelectorAll('#memory-list li').length === 1")
            meta = await page.js("$('poll-meta').textContent")
            assert ("times are Europe/Paris time" in meta) is told, meta
            assert await page.js("document.documentElement.scrollWidth") <= 390
        await open_as(page, sea_url, ann.access, ann.refresh, "")
        await page.until(f"document.getElementById('polls')?.textContent.includes({json.dumps(title)})")
        assert await page.js("document.documentElement.scrollWidth") <= 390
        assert page.errors == []


async def test_a_poll_one_may_not_see_or_vote_on_shows_no_ballot(
    sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn
) -> None:
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    visible = await create_poll(sea, ann, title="Open to all", is_private=False)
    private = await create_poll(sea, ann, title="Just us")
    async with browser_page() as page:
        await open_as(page, sea_url, bob.access, bob.refresh, f"poll={visible['id']}")
        await page.until("document.getElementById('poll-title')?.textContent === 'Open to all'")
        assert await page.js("!$('vote-form').hidden && !$('ballot').disabled")
        # Not invited: the 404's message, and neither the last poll's ballot nor an empty one.
        await page.js(f"location.hash = 'poll={private['id']}'; true")
        await page.until("document.getElementById('page-error').textContent !== ''", timeout=5)
        assert "not exist" in await page.js("$('page-error').textContent")
        assert await page.js("$('vote-form').hidden && $('poll-title').textContent === ''")
        assert await page.js("!document.querySelector('[data-tally]')")

        # Finalised while Bob watches: the ballot is closed, and the page no longer says when it closes.
        await page.js(f"location.hash = 'poll={visible['id']}'; true")
        await page.until("document.getElementById('live').textContent === 'live' && !$('vote-form').hidden")
        assert "closes" in await page.js("$('poll-meta').textContent")
        option = visible["options"][0]["id"]
        finalize = await sea.post(f"{API}/polls/{visible['id']}/finalize", json={"option_id": option}, headers=ann.auth)
        assert finalize.status_code == 200
        await page.until("document.getElementById('poll-meta').textContent.startsWith('finalized')", timeout=5)
        assert await page.js("$('ballot').disabled && $('page-error').textContent === ''")
        assert "closes" not in await page.js("$('poll-meta').textContent")
        assert await page.js("getComputedStyle($('vote')).opacity") == "0.5"
        assert page.errors == []


async def test_after_a_dropped_connection_the_page_catches_up_on_what_it_missed(
    sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn
) -> None:
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    poll = await create_poll(sea, ann, invitees=[bob.discord_id])
    option = poll["options"][0]["id"]
    cell = f"document.querySelector('[data-tally=\"{option}\"] span')?.textContent"
    back = "document.getElementById('live').textContent === 'live'"
    async with browser_page() as page:
        await open_as(page, sea_url, bob.access, bob.refresh, f"poll={poll['id']}")
        await page.until(f"document.getElementById('live')?.textContent === 'live' && ({cell} ?? '') !== ''")
        # A vote made while the connection was down shows once it is back.
        await page.js("socket.ws.close(); true")
        await page.until("document.getElementById('live').textContent === 'reconnecting…'", timeout=5)
        assert (await vote(sea, ann, poll["id"], available=[option])).status_code == 200
        await page.until(back, timeout=10)
        await page.until(f"{cell} === '✅ 1 · 🤔 0'", timeout=5)
        # Deleted while the connection was down: the page says so, and keeps no ballot for it.
        await page.js("socket.ws.close(); true")
        await page.until("document.getElementById('live').textContent === 'reconnecting…'", timeout=5)
        assert (await sea.request("DELETE", f"{API}/users/me", headers=ann.auth)).status_code == 204
        await page.until("document.getElementById('poll-title').textContent === 'Poll gone'", timeout=10)
        assert await page.js("$('vote-form').hidden && $('poll-error').textContent === ''")
        assert page.errors == []


async def test_a_sign_in_that_ended_says_so_on_the_sign_in_page(
    sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn, sea_ctx: TenantContext
) -> None:
    ann = await sign_in("Ann")
    poll = await create_poll(sea, ann)
    short = sea_ctx.tokens.issue_access(str(ann.id), ttl=2)
    async with browser_page() as page:
        await open_as(page, sea_url, short, ann.refresh, "")
        await page.until("document.getElementById('home')?.offsetParent != null")
        # Signed out elsewhere meanwhile: the access token runs out and the refresh is refused.
        assert (await sea.post(f"{API}/auth/logout", json={"refresh_token": ann.refresh})).status_code == 204
        await page.js("new Promise((done) => setTimeout(done, 2500))")
        await page.submit("#create", {"title": "Late", "dates": "2030-06-01", "invitees": "300000000000000001"})
        await page.until(SIGNED_OUT, timeout=5)
        assert "sign in again" in await page.js("$('signed-out-note').textContent")
        # Opening a poll with those tokens: the sign-in page says it once, not again above it.
        await open_as(page, sea_url, short, ann.refresh, f"poll={poll['id']}")
        await page.until(f"{SIGNED_OUT} && $('signed-out-note').textContent.includes('sign in again')", timeout=5)
        assert await page.js("$('page-error').textContent") == ""
        assert page.errors == []


async def test_finalising_cancelling_or_deleting_a_poll_asks_first(
    sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn
) -> None:
    ann = await sign_in("Ann")
    poll = await create_poll(sea, ann)
    second = poll["options"][1]["id"]
    assert (await vote(sea, ann, poll["id"], available=[second])).status_code == 200

    async def status() -> str:
        return str((await sea.get(f"{API}/polls/{poll['id']}", headers=ann.auth)).json()["status"])

    async with browser_page() as page:
        await open_as(page, sea_url, ann.access, ann.refresh, f"poll={poll['id']}")
        await page.until("document.getElementById('live')?.textContent === 'live'")
        await page.js("window.asked = []; window.confirm = (text) => { asked.push(text); return false; }; true")
        for label in ("Cancel poll", "Finalise the leading option"):
            await page.click(label)
        assert await page.js("asked") == [
            'Cancel "Game night"? Voting ends and it can\'t be reopened.',
            'Finalise "Sun, Jun 2, 2030 19:00"? Voting ends for everyone.',
        ]
        assert await status() == "voting"
        await page.js("window.confirm = () => true")
        await page.click("Finalise the leading option")
        await page.until("document.getElementById('poll-meta').textContent.startsWith('finalized')", timeout=5)
        assert await status() == "finalized"

        # Finalised, the creator may still delete it (only that is left to do), after asking.
        buttons = "[...document.querySelectorAll('#creator-actions button')].filter((b) => !b.hidden)"
        assert await page.js(f"{buttons}.map((b) => b.textContent)") == ["Delete poll"]
        await page.js("window.asked = []; window.confirm = (text) => { asked.push(text); return false; }; true")
        await page.click("Delete poll")
        assert await page.js("asked") == [
            'Delete "Game night"? Its dates, votes, memories and reminders go for everyone, and it can\'t be undone.'
        ]
        assert await status() == "finalized"
        await page.js("window.confirm = () => true")
        await page.click("Delete poll")
        await page.until("document.getElementById('poll-title').textContent === 'Poll deleted'", timeout=5)
        meta = await page.js("document.getElementById('poll-meta').textContent")
        assert meta == "You deleted this poll, with its votes."
        assert (await sea.get(f"{API}/polls/{poll['id']}", headers=ann.auth)).status_code == 404
        assert page.errors == []


async def test_the_ballot_closes_when_the_deadline_passes_on_an_open_page(
    sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn
) -> None:
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    deadline = datetime.now(UTC) + timedelta(seconds=6)
    poll = await create_poll(sea, ann, invitees=[bob.discord_id], voting_deadline=deadline.isoformat())
    async with browser_page() as page:
        await open_as(page, sea_url, bob.access, bob.refresh, f"poll={poll['id']}")
        await page.until("document.getElementById('poll-title')?.textContent === 'Game night'")
        assert await page.js("document.getElementById('ballot').disabled") is False
        # No bot marks it expired here: the page closes the ballot by itself at the deadline.
        closed = "document.getElementById('ballot').disabled && document.getElementById('poll-meta').textContent"
        await page.until(f"{closed}.includes('voting closed')", timeout=20)
        assert datetime.now(UTC) >= deadline
        assert page.errors == []


async def test_a_calendar_file_that_fails_to_download_says_so(
    sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn
) -> None:
    ann = await sign_in("Ann")
    poll = await create_poll(sea, ann)
    await sea.post(f"{API}/polls/{poll['id']}/finalize", json={"option_id": poll["options"][0]["id"]}, headers=ann.auth)
    async with browser_page() as page:
        await page.call(
            "Page.addScriptToEvaluateOnNewDocument",
            source="const real = window.fetch; window.fetch = (url, options) => String(url).endsWith('/event.ics')"
            " ? Promise.resolve(new Response('busy', { status: 503 })) : real(url, options);",
        )
        await open_as(page, sea_url, ann.access, ann.refresh, f"poll={poll['id']}")
        await page.until("document.getElementById('ics')?.hidden === false")
        await page.click("Download calendar file")
        await page.until("document.getElementById('poll-error').textContent !== ''", timeout=5)
        assert await page.js("$('poll-error').textContent") == "The server answered 503; try again in a moment."
        assert page.errors == []


# Another tab of the same site (an about:blank frame shares the page's storage, and its writes
# reach the page as `storage` events, as a second tab's do).
OTHER_TAB = "(window.otherTab ??= document.body.appendChild(document.createElement('iframe')).contentWindow)"


async def test_tokens_another_tab_rotated_or_removed_are_followed(
    sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn
) -> None:
    ann = await sign_in("Ann")
    async with browser_page() as page:
        await open_as(page, sea_url, ann.access, ann.refresh, "")
        await page.until("document.getElementById('home')?.offsetParent != null")
        # Another tab refreshed: this one's refresh token is spent, and using it after the grace
        # would be taken for theft and end the sign-in everywhere. The page takes the new ones.
        rotated = (await sea.post(f"{API}/auth/refresh", json={"refresh_token": ann.refresh})).json()
        await page.js(
            f"{OTHER_TAB}.localStorage.setItem('sc_access', {json.dumps(rotated['access_token'])});"
            f"otherTab.localStorage.setItem('sc_refresh', {json.dumps(rotated['refresh_token'])}); true"
        )
        await page.until(f"state.refresh === {json.dumps(rotated['refresh_token'])}", timeout=5)
        assert await page.js("state.access") == rotated["access_token"]
        # Signed out in the other tab: this one says so now, not at its next request.
        await page.js(
            "otherTab.localStorage.removeItem('sc_access'); otherTab.localStorage.removeItem('sc_refresh'); true"
        )
        await page.until(f"{SIGNED_OUT} && $('signed-out-note').textContent.includes('another tab')", timeout=5)
        assert page.errors == []


EDIT_ERROR = "(document.getElementById('edit-error')?.textContent ?? '')"
# The invitee chips of a form, as [discord id, text].
CHIPS = "[...document.querySelectorAll('#{form} .chips li')].map((li) => [li.dataset.id, li.textContent])"
# Records the bodies of the page's PUTs, then lets them through.
RECORD_PUTS = (
    "window.sent = []; const real = window.fetch; window.fetch = (url, options) => {"
    " if (options?.method === 'PUT') sent.push(JSON.parse(options.body)); return real(url, options); }; true"
)


async def test_the_creator_edits_a_poll_in_its_time_zone_and_watchers_see_it_at_once(
    sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn
) -> None:
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    poll = await create_poll(
        sea, ann, invitees=[bob.discord_id], timezone="Europe/Paris", voting_deadline="2030-05-01T16:00:00+00:00"
    )
    async with browser_page() as editor, browser_page() as watcher:
        await watcher.call("Emulation.setTimezoneOverride", timezoneId="America/New_York")
        await editor.call("Emulation.setTimezoneOverride", timezoneId="America/New_York")
        for page, member in ((watcher, bob), (editor, ann)):
            await open_as(page, sea_url, member.access, member.refresh, f"poll={poll['id']}")
            await page.until("document.getElementById('live')?.textContent === 'live'")
        # Only the creator is offered it; a voting poll has nothing to publish.
        assert await watcher.js("$('creator-actions').hidden")
        assert await editor.js("!$('edit').hidden && $('publish').hidden")
        await editor.click("Edit poll")
        form = "document.getElementById('edit-form')"
        await editor.until(f"!{form}.hidden")
        # Prefilled from the poll, the deadline on the poll's clock (18:00 in Paris), not this browser's.
        # The invitees are chips named as the poll document names them, the typed-ids box left empty.
        prefilled = await editor.js(
            f"[{form}.title.value, {form}.dates.value, {form}.deadline.value, {form}.invitees.value,"
            f" {form}.public.checked, $('edit-zone').textContent, {CHIPS.format(form='edit-form')}]"
        )
        assert prefilled == [
            "Game night",
            "2030-06-01 19:00\n2030-06-02 19:00",
            "2030-05-01T18:00",
            "",
            False,
            "Europe/Paris",
            [[bob.discord_id, "Bob ×"]],
        ]
        # An empty title is refused by the form itself, one of spaces by the API, naming the field.
        await editor.js(RECORD_PUTS)
        await editor.submit("#edit-form", {"title": ""})
        assert await editor.js(f"{form}.title.validity.valueMissing && sent.length === 0")
        await editor.submit("#edit-form", {"title": "   "})
        await editor.until(f"{EDIT_ERROR} !== ''", timeout=5)
        assert "title: String should have at least 1 character" in await editor.js(EDIT_ERROR)
        assert await editor.js(f"!{form}.hidden && $('poll-title').textContent === 'Game night'")
        # The create form's checks hold here too.
        await editor.submit("#edit-form", {"title": "Board games", "dates": "2030-06-01 19:00\n2030-06-01 19:00"})
        await editor.until(f"{EDIT_ERROR} === 'Listed twice: 2030-06-01 19:00'", timeout=5)

        await editor.js("sent.length = 0; true")
        await editor.submit(
            "#edit-form",
            {
                "title": "Board games",
                "dates": "2030-06-02 19:00\n2030-06-03 20:00-23:00",
                "deadline": "2030-05-02T20:00",
            },
        )
        await editor.until(f"{form}.hidden && $('poll-title').textContent === 'Board games'", timeout=5)
        # Only what changed is sent; the date kept keeps its id (and votes).
        sent = await editor.js("sent")
        kept = poll["options"][1]["id"]
        assert sent == [
            {
                "title": "Board games",
                "voting_deadline": "2030-05-02T18:00:00.000Z",
                "options": [
                    {"date": "2030-06-02", "start_time": "19:00", "end_time": None, "id": kept, "label": ""},
                    {"date": "2030-06-03", "start_time": "20:00", "end_time": "23:00"},
                ],
            }
        ]
        saved = (await sea.get(f"{API}/polls/{poll['id']}", headers=ann.auth)).json()
        assert saved["voting_deadline"].startswith("2030-05-02T18:00:00")
        assert [(o["date"], o["end_time"]) for o in saved["options"]] == [
            ("2030-06-02", None),
            ("2030-06-03", "23:00:00"),
        ]
        assert saved["options"][0]["id"] == kept
        assert saved["description"] == "" and saved["is_private"] and saved["timezone"] == "Europe/Paris"
        assert await editor.js("document.querySelectorAll('#options tr').length") == 2
        # Bob's tab follows over the poll_updated event.
        await watcher.until("document.getElementById('poll-title').textContent === 'Board games'", timeout=5)
        assert await watcher.js("document.querySelectorAll('#options tr').length") == 2
        # Opened again: nothing changed, nothing sent.
        await editor.click("Edit poll")
        await editor.js("sent.length = 0; document.querySelector('#edit-form').requestSubmit(); true")
        await editor.until(f"{form}.hidden")
        assert await editor.js("sent.length") == 0
        assert editor.errors == [] and watcher.errors == []


VENUE = "document.getElementById('poll-venue')"


async def test_a_poll_names_its_place_which_its_creator_moves_or_takes_off(
    sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn
) -> None:
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    async with browser_page() as page:
        await open_as(page, sea_url, ann.access, ann.refresh, "")
        await page.until("!document.getElementById('home').hidden")
        form = {"title": "Quiz", "dates": "2030-06-01 19:00", "invitees": bob.discord_id, "deadline": ""}
        await page.submit("#create", {**form, "venue_url": "https://maps.example/anchor"})
        await page.until("$('create-error').textContent === 'Name the place, or leave its address and link empty.'")
        await page.submit("#create", {**form, "venue_name": "The Anchor", "venue_address": "1 Quay St"})
        await page.until(f"!{VENUE}.hidden && {VENUE}.textContent === 'Where: The Anchor, 1 Quay St · map / site'")
        assert await page.js(f"{VENUE}.querySelector('a').href") == "https://maps.example/anchor"
        poll_id = int((await page.js("location.hash")).split("=")[1])

        await page.click("Edit poll")
        edit = "document.getElementById('edit-form')"
        await page.until(f"!{edit}.hidden")
        prefilled = f"[{edit}.venue_name.value, {edit}.venue_address.value, {edit}.venue_url.value]"
        assert await page.js(prefilled) == ["The Anchor", "1 Quay St", "https://maps.example/anchor"]
        await page.submit("#edit-form", {"venue_name": "The Ship", "venue_address": "", "venue_url": ""})
        await page.until(f"{VENUE}.textContent === 'Where: The Ship'", timeout=5)
        venue = (await sea.get(f"{API}/polls/{poll_id}", headers=bob.auth)).json()["venue"]
        assert (venue["name"], venue["address"], venue["url"]) == ("The Ship", "", None)

        await page.click("Edit poll")
        await page.until(f"!{edit}.hidden")
        await page.submit("#edit-form", {"venue_name": ""})
        await page.until(f"{edit}.hidden && {VENUE}.hidden", timeout=5)
        assert (await sea.get(f"{API}/polls/{poll_id}", headers=bob.auth)).json()["venue"] is None
        assert page.errors == []


async def test_a_generic_polls_choices_are_edited_as_text_keeping_their_votes(
    sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn
) -> None:
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    choices = [{"label": "Pizza"}, {"label": "Sushi"}]
    poll = await create_poll(sea, ann, type="generic", options=choices, invitees=[bob.discord_id])
    sushi = poll["options"][1]["id"]
    assert (await vote(sea, bob, poll["id"], available=[sushi])).status_code == 200
    async with browser_page() as page:
        await open_as(page, sea_url, ann.access, ann.refresh, f"poll={poll['id']}")
        await page.until("document.getElementById('live')?.textContent === 'live'")
        await page.click("Edit poll")
        edit = "document.getElementById('edit-form')"
        await page.until(f"!{edit}.hidden")
        assert await page.js(f"[{edit}.choices.value, $('edit-choices').hidden, $('edit-dates').hidden]") == [
            "Pizza\nSushi",
            False,
            True,
        ]
        await page.submit("#edit-form", {"choices": "Sushi\nTacos\nTacos"})
        await page.until(f"{EDIT_ERROR} === 'Listed twice: Tacos'", timeout=5)
        await page.js(RECORD_PUTS)
        await page.submit("#edit-form", {"choices": " Sushi \n\nTacos"})
        await page.until(f"{edit}.hidden && document.querySelectorAll('#options tr').length === 2", timeout=5)
        assert await page.js("sent") == [{"options": [{"label": "Sushi", "id": sushi}, {"label": "Tacos"}]}]
        saved = (await sea.get(f"{API}/polls/{poll['id']}", headers=bob.auth)).json()
        assert [(o["id"] == sushi, o["label"]) for o in saved["options"]] == [(True, "Sushi"), (False, "Tacos")]
        assert saved["my_vote"]["available"] == [sushi]
        assert page.errors == []


async def test_an_open_edit_form_follows_changes_made_elsewhere_without_undoing_them(
    sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn
) -> None:
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    poll = await create_poll(sea, ann, invitees=[bob.discord_id])
    base = f"{API}/polls/{poll['id']}"
    edit = "document.getElementById('edit-form')"
    async with browser_page() as page:
        await open_as(page, sea_url, ann.access, ann.refresh, f"poll={poll['id']}")
        await page.until("document.getElementById('live')?.textContent === 'live'")
        await page.click("Edit poll")
        await page.until(f"!{edit}.hidden")
        # Changed in the creator's other tab (the API here) while the form is open, untouched: it follows.
        assert (await sea.put(base, json={"title": "Board games"}, headers=ann.auth)).status_code == 200
        await page.until(f"{edit}.title.value === 'Board games' && {EDIT_ERROR} === ''", timeout=5)
        # Typed into, it keeps what was typed, says so, and the save sends only that.
        await page.js(f"{edit}.description.value = 'Bring snacks'; true")
        assert (await sea.put(base, json={"title": "Chess"}, headers=ann.auth)).status_code == 200
        await page.until(f"{EDIT_ERROR}.startsWith('This poll was changed elsewhere')", timeout=5)
        assert await page.js(f"{edit}.title.value") == "Board games"
        await page.js(RECORD_PUTS)
        await page.js(f"{edit}.requestSubmit(); true")
        await page.until(f"{edit}.hidden && $('poll-description').textContent === 'Bring snacks'", timeout=5)
        assert await page.js("sent") == [{"description": "Bring snacks"}]
        saved = (await sea.get(base, headers=ann.auth)).json()
        assert (saved["title"], saved["description"]) == ("Chess", "Bring snacks")
        assert await page.js("$('poll-title').textContent") == "Chess"
        assert page.errors == []


async def test_removing_dates_people_voted_for_asks_before_dropping_their_votes(
    sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn
) -> None:
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    poll = await create_poll(sea, ann, invitees=[bob.discord_id])
    first, second = (o["id"] for o in poll["options"])
    assert (await vote(sea, bob, poll["id"], available=[first, second])).status_code == 200
    async with browser_page() as page:
        await open_as(page, sea_url, ann.access, ann.refresh, f"poll={poll['id']}")
        await page.until("document.getElementById('live')?.textContent === 'live'")
        await page.js("window.asked = []; window.confirm = (text) => { asked.push(text); return false; }; true")
        await page.click("Edit poll")
        await page.submit("#edit-form", {"dates": "2030-06-02 19:00"})
        await page.until(f"{EDIT_ERROR} !== ''", timeout=5)
        assert await page.js(EDIT_ERROR) == "Not saved: you removed Sat, Jun 1, 2030 19:00, and people voted for it."
        assert await page.js("asked") == ["Remove Sat, Jun 1, 2030 19:00 and drop the votes for it?"]
        assert len((await sea.get(f"{API}/polls/{poll['id']}", headers=ann.auth)).json()["options"]) == 2
        await page.js("window.confirm = () => true; document.querySelector('#edit-form').requestSubmit(); true")
        await page.until("document.getElementById('edit-form').hidden", timeout=5)
        assert await page.js(f"{EDIT_ERROR} === '' && document.querySelectorAll('#options tr').length === 1")
        mine = (await sea.get(f"{API}/polls/{poll['id']}", headers=bob.auth)).json()["my_vote"]
        assert mine["available"] == [second]
        assert page.errors == []


async def test_a_draft_is_published_from_its_page(sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn) -> None:
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    poll = await create_poll(sea, ann, invitees=[bob.discord_id], status="draft")
    async with browser_page() as page:
        await open_as(page, sea_url, ann.access, ann.refresh, f"poll={poll['id']}")
        await page.until("document.getElementById('poll-meta')?.textContent.startsWith('draft')")
        # A draft takes no votes and has no leader to finalise yet.
        assert await page.js(
            "!$('publish').hidden && !$('edit').hidden && $('finalize').hidden && $('ballot').disabled"
        )
        await page.click("Publish")
        await page.until("document.getElementById('poll-meta').textContent.startsWith('voting')", timeout=5)
        assert await page.js("$('publish').hidden && !$('finalize').hidden && !$('ballot').disabled")
        assert (await sea.get(f"{API}/polls/{poll['id']}", headers=bob.auth)).json()["status"] == "voting"

        # Cancelled elsewhere while this page was offline: publishing it is refused, and says why.
        draft = await create_poll(sea, ann, invitees=[bob.discord_id], status="draft")
        await page.js(f"location.hash = 'poll={draft['id']}'; true")
        await page.until("document.getElementById('live').textContent === 'live' && !$('publish').hidden")
        await page.js("socket.close(); true")
        assert (await sea.post(f"{API}/polls/{draft['id']}/cancel", headers=ann.auth)).status_code == 200
        await page.click("Publish")
        await page.until("(document.getElementById('poll-error')?.textContent ?? '') !== ''", timeout=5)
        assert await page.js("$('poll-error').textContent") == "The poll is cancelled; this is not possible now."
        assert page.errors == []


def qotw_text(id_: str) -> str:
    return f"(document.getElementById({json.dumps(id_)})?.textContent ?? '')"


QUESTIONS = "[...document.querySelectorAll('#qotw-questions li')].map((li) => li.textContent)"


async def test_question_of_the_week_schedule_questions_and_answers_in_the_ui(
    sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn, sea_ctx: TenantContext, fake_discord: tuple[FakeDiscord, str]
) -> None:
    fake, _ = fake_discord
    ann, bob, dee = await sign_in("Ann"), await sign_in("Bob"), await sign_in("Dee")
    guild, channel = "900000000000000201", "900000000000000202"
    fake.add_guild(guild, (channel,), {ann.discord_id: MANAGE_GUILD, bob.discord_id: 0})
    async with browser_page() as page:
        await open_as(page, sea_url, ann.access, ann.refresh, "")
        await page.until("document.getElementById('home')?.offsetParent != null")
        await page.js("document.getElementById('qotw-link').click(); true")
        await page.until("document.getElementById('qotw-guild')?.offsetParent != null")
        await page.submit("#qotw-guild", {"guild_id": guild})
        await page.until("!document.getElementById('qotw-body').hidden", timeout=5)
        assert await page.js("location.hash") == f"#qotw={guild}"
        assert "no question-of-the-week schedule yet" in await page.js(qotw_text("qotw-schedule"))
        # Ann may manage the server: the schedule's form is hers. A channel of another server is refused.
        assert await page.js("!$('qotw-config').hidden")
        await page.submit("#qotw-config", {"channel_id": "900000000000000299", "weekday": "4", "hour": "18"})
        await page.until(f"{qotw_text('qotw-config-error')} !== ''", timeout=5)
        assert await page.js(qotw_text("qotw-config-error")) == "That channel is in another Discord server."
        await page.submit("#qotw-config", {"channel_id": channel, "weekday": "4", "hour": "18"})
        await page.until(f"{qotw_text('qotw-config-saved')} === 'Schedule saved.'", timeout=5)
        assert await page.js(qotw_text("qotw-schedule")) == f"Asked on Fridays at 18:00 UTC in channel {channel}."
        assert await page.js("$('qotw-config-error').textContent") == ""

        # An empty question is refused, naming the field; a real one joins the queue.
        await page.submit("#qotw-ask", {"text": "   "})
        await page.until(f"{qotw_text('qotw-ask-error')} !== ''", timeout=5)
        assert await page.js(qotw_text("qotw-ask-error")) == "Write a question first."
        await page.submit("#qotw-ask", {"text": "Best pizza?"})
        await page.until(f"{QUESTIONS}.length === 1", timeout=5)
        assert (await page.js(QUESTIONS))[0] == "Best pizza? — waiting its turn"
        assert await page.js("$('qotw-current').hidden && $('qotw-ask-error').textContent === ''")
        async with sea_ctx.db.transaction() as conn:
            await conn.execute(
                sa.text("UPDATE questions SET status = 'posted', posted_at = now() WHERE guild_id = :g"), {"g": guild}
            )

        # Bob is a member: he reads the schedule (no form), and answers the question asked.
        await open_as(page, sea_url, bob.access, bob.refresh, f"qotw={guild}")
        await page.until("document.getElementById('qotw-body')?.hidden === false")
        assert await page.js("$('qotw-config').hidden && $('qotw-schedule').textContent.startsWith('Asked on Fridays')")
        assert await page.js("$('qotw-current-text').textContent") == "Best pizza?"
        await page.submit("#qotw-answer", {"text": ""})
        await page.until(f"{qotw_text('qotw-answer-error')} !== ''", timeout=5)
        assert await page.js(qotw_text("qotw-answer-error")) == "Write your answer first."
        await page.submit("#qotw-answer", {"text": "Margherita"})
        await page.until(f"{qotw_text('qotw-answer-saved')} === 'Answer saved.'", timeout=5)
        assert (await page.js(QUESTIONS))[0].endswith("· 1 answered")
        listed = (await sea.get(f"{API}/qotw/questions", params={"guild_id": guild}, headers=bob.auth)).json()
        assert listed["questions"][0]["my_response"] == "Margherita"
        # Opened again without a server in the link: the one last shown, the answer kept in the box.
        await open_as(page, sea_url, bob.access, bob.refresh, "qotw")
        await page.until("document.getElementById('qotw-body')?.hidden === false")
        assert await page.js("$('qotw-answer').text.value") == "Margherita"

        # Dee is not in the server: Discord's no, in the page's error line, and nothing of the server shown.
        await open_as(page, sea_url, dee.access, dee.refresh, f"qotw={guild}")
        await page.until(f"{qotw_text('page-error')} !== ''")
        assert await page.js("$('page-error').textContent") == "You are not a member of that Discord server."
        assert await page.js("$('qotw-body').hidden")
        assert page.errors == []


def matches(form: str) -> str:
    """The member buttons the picker of ``form`` lists."""
    return f"[...document.querySelectorAll('#{form} .member-matches button')].map((b) => b.textContent)"


async def search_members(page: Page, form: str, guild: str, text: str) -> None:
    """Type a server id and part of a name into the picker of ``form``, as a person would."""
    await page.js(
        f"(() => {{ const f = document.getElementById({json.dumps(form)}); f.guild.value = {json.dumps(guild)};"
        f" f.member_search.value = {json.dumps(text)}; f.member_search.dispatchEvent(new Event('input'));"
        " return true; })()"
    )


async def test_invitees_are_picked_by_name_from_a_discord_server_and_shown_by_name(
    sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn, fake_discord: tuple[FakeDiscord, str]
) -> None:
    fake, _ = fake_discord
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    guild = "840000000000000001"
    fake.add_guild(guild, members={ann.discord_id: 0})
    fake.add_profile(guild, bob.discord_id, "bob", global_name="Bob", nick="Bobby")
    fake.add_profile(guild, "840000000000000011", "bobcat", global_name="Cat")
    fake.add_profile(guild, "840000000000000012", "zed")
    typed = "840000000000000099"  # someone whose id Ann knows, who is in no server the bot sees
    async with browser_page() as page:
        await open_as(page, sea_url, ann.access, ann.refresh, "")
        await page.until("document.getElementById('home')?.offsetParent != null")
        await search_members(page, "create", guild, "bo")
        await page.until(f"{matches('create')}.length === 2", timeout=5)
        assert await page.js(matches("create")) == ["Bobby (bob)", "Cat (bobcat)"]
        await page.js("document.querySelector('#create .member-matches button').click(); true")
        await search_members(page, "create", guild, "bobc")
        await page.until(f"{matches('create')}.length === 1", timeout=5)
        await page.js("document.querySelector('#create .member-matches button').click(); true")
        chips = CHIPS.format(form="create")
        assert await page.js(chips) == [[bob.discord_id, "Bobby ×"], ["840000000000000011", "Cat ×"]]
        assert await page.js(f"{matches('create')}.length === 0 && $('create').member_search.value === ''")
        # A chip goes with its button; ids typed by hand are still taken.
        await page.js("document.querySelector('#create .chips li:last-child button').click(); true")
        assert await page.js(chips) == [[bob.discord_id, "Bobby ×"]]
        form = {"title": "Pub quiz", "dates": "2030-06-01 19:00", "invitees": typed, "deadline": ""}
        await page.submit("#create", form)
        await page.until("location.hash.startsWith('#poll=')", timeout=5)
        poll_id = int((await page.js("location.hash")).removeprefix("#poll="))
        saved = (await sea.get(f"{API}/polls/{poll_id}", headers=ann.auth)).json()
        assert [i["discord_id"] for i in saved["invitees"]] == sorted([bob.discord_id, typed])
        # The poll page names the invitees as SeaCalendar knows them, with the id for one it doesn't.
        await page.until("(document.getElementById('poll-invitees')?.textContent ?? '').startsWith('Invited:')")
        assert await page.js("$('poll-invitees').textContent") == f"Invited: Bob, {typed}"
        # The server is remembered, for the next poll and for the question of the week.
        assert await page.js("localStorage.getItem('sc_guild')") == guild
        await page.js("location.hash = ''; true")
        await page.until("document.getElementById('home')?.offsetParent != null")
        fresh = "[$('create').guild.value, $('create').querySelectorAll('.chips li').length]"
        assert await page.js(fresh) == [guild, 0]
        assert page.errors == []


# The names a server <select> offers, after its first (empty) choice.
OFFERED = "[...document.querySelector('{form} select[name=guild_pick]').options].slice(1).map((o) => o.textContent)"


async def test_servers_are_offered_by_name_to_pick_invitees_and_the_question_of_the_week(
    sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn, fake_discord: tuple[FakeDiscord, str]
) -> None:
    fake, _ = fake_discord
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    guild = "840000000000000071"
    fake.add_guild(guild, members={ann.discord_id: 0}, name="Board Gamers")
    fake.add_profile(guild, bob.discord_id, "bob", global_name="Bob")
    async with browser_page() as page:
        await open_as(page, sea_url, ann.access, ann.refresh, "")
        await page.until("document.getElementById('home')?.offsetParent != null")
        # Ann's servers of the bot's, by name (the fake's community server has everyone in it).
        await page.until(f"{OFFERED.format(form='#create')}.length === 2", timeout=5)
        assert await page.js(OFFERED.format(form="#create")) == ["Board Gamers", "Community"]
        await page.js(
            "(() => { const f = $('create'); f.guild_pick.value = '840000000000000071';"
            " f.guild_pick.dispatchEvent(new Event('change'));"
            " f.member_search.value = 'bo'; f.member_search.dispatchEvent(new Event('input')); return true; })()"
        )
        await page.until(f"{matches('create')}.length === 1", timeout=5)
        assert await page.js("$('create').guild.value") == guild
        assert await page.js(matches("create")) == ["Bob (bob)"]

        # The question of the week: nothing remembered yet, the server is chosen from the list.
        await page.js("localStorage.removeItem('sc_guild'); location.hash = '#qotw'; true")
        await page.until(f"{OFFERED.format(form='#qotw-guild')}.length === 2", timeout=5)
        await page.js(
            "(() => { const s = $('qotw-guild').guild_pick; s.value = '840000000000000071';"
            " s.dispatchEvent(new Event('change')); return true; })()"
        )
        await page.until(f"location.hash === '#qotw={guild}' && !$('qotw-body').hidden", timeout=5)
        assert await page.js("$('qotw-guild').guild_pick.value") == guild
        assert page.errors == []


async def test_with_no_servers_to_offer_the_server_id_is_typed(sea_url: str, sign_in: SignIn) -> None:
    ann = await sign_in("Ann")
    async with browser_page() as page:
        # Discord can't be asked (as without a bot token): the list stays hidden, the id box is there.
        await page.call("Network.enable")
        await page.call("Network.setBlockedURLs", urls=["*/seacalendar/api/guilds"])
        await open_as(page, sea_url, ann.access, ann.refresh, "")
        await page.until("document.getElementById('home')?.offsetParent != null")
        await page.until("document.querySelector('#create select[name=guild_pick]').options.length === 1", timeout=5)
        picked = "document.querySelector('#create .guild-pick')"
        assert await page.js(f"{picked}.hidden && $('create').guild.offsetParent !== null")
        assert page.errors == []


async def test_the_edit_form_starts_from_named_chips_and_says_why_a_search_failed(
    sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn, fake_discord: tuple[FakeDiscord, str]
) -> None:
    fake, _ = fake_discord
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    guild, elsewhere = "840000000000000021", "840000000000000022"
    fake.add_guild(guild, members={ann.discord_id: 0})
    fake.add_guild(elsewhere, members={bob.discord_id: 0})
    fake.add_profile(guild, "840000000000000031", "cy", global_name="Cy")
    stranger = "840000000000000039"
    poll = await create_poll(sea, ann, invitees=[bob.discord_id, stranger])
    async with browser_page() as page:
        await open_as(page, sea_url, ann.access, ann.refresh, f"poll={poll['id']}")
        await page.until("document.getElementById('poll-title')?.textContent === 'Game night'")
        await page.click("Edit poll")
        await page.until("!document.getElementById('edit-form').hidden")
        chips = CHIPS.format(form="edit-form")
        assert await page.js(chips) == [[bob.discord_id, "Bob ×"], [stranger, f"{stranger} ×"]]
        await page.js(f"document.querySelector('#edit-form .chips li[data-id=\"{stranger}\"] button').click(); true")
        # A server Ann is not in, then Discord failing: each says so in the form's error line.
        await search_members(page, "edit-form", elsewhere, "cy")
        await page.until(f"{EDIT_ERROR} !== ''", timeout=5)
        assert await page.js(EDIT_ERROR) == "You are not a member of that Discord server."
        fake.fail("GET /guilds/members/search")
        await search_members(page, "edit-form", guild, "cy")
        await page.until(f"{EDIT_ERROR} === 'Discord answered 502; try again.'", timeout=5)
        await search_members(page, "edit-form", guild, "cy ")
        await page.until(f"{matches('edit-form')}.length === 1", timeout=5)
        assert await page.js(EDIT_ERROR) == ""
        await page.js("document.querySelector('#edit-form .member-matches button').click(); true")
        await page.js(RECORD_PUTS)
        await page.js("document.querySelector('#edit-form').requestSubmit(); true")
        await page.until("document.getElementById('edit-form').hidden", timeout=5)
        assert await page.js("sent") == [{"invitees": [bob.discord_id, "840000000000000031"]}]
        await page.until("$('poll-invitees').textContent === 'Invited: Bob, 840000000000000031'", timeout=5)
        assert page.errors == []


async def test_a_search_answered_after_a_newer_one_is_not_shown(
    sea_url: str, sign_in: SignIn, fake_discord: tuple[FakeDiscord, str]
) -> None:
    fake, _ = fake_discord
    ann = await sign_in("Ann")
    guild = "840000000000000041"
    fake.add_guild(guild, members={ann.discord_id: 0})
    fake.add_profile(guild, "840000000000000051", "bob")
    fake.add_profile(guild, "840000000000000052", "zed")
    async with browser_page() as page:
        await open_as(page, sea_url, ann.access, ann.refresh, "")
        await page.until("document.getElementById('home')?.offsetParent != null")
        # Counts the searches the page has finished with, shown or dropped.
        await page.js(
            "window.finished = 0; const search = searchMembers;"
            " window.searchMembers = async (form) => { await search(form); finished++; }; true"
        )
        release, held = fake.hold_next_search(), fake.held_searches
        await search_members(page, "create", guild, "bo")
        await wait_for(lambda: fake.held_searches == held + 1)
        await search_members(page, "create", guild, "ze")
        await page.until(f"{matches('create')}.length === 1", timeout=5)
        release.set()
        await page.until("finished === 2", timeout=5)
        assert await page.js(matches("create")) == ["zed"]
        assert page.errors == []
