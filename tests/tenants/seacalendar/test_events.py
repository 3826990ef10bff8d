"""After the vote: the iCalendar file, memories, and the question of the week."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import sqlalchemy as sa

from shared.tenant import TenantContext
from tenants.seacalendar import ics
from tenants.seacalendar.events import MAX_MEMORIES_PER_POLL
from tenants.seacalendar.guilds import MANAGE_GUILD
from tests.fakes.discord import FakeDiscord
from tests.tenants.seacalendar.conftest import API, SignIn, assert_error, create_poll


async def test_event_ics_of_a_finalized_poll(sea: httpx.AsyncClient, sign_in: SignIn) -> None:
    ann = await sign_in("Ann")
    poll = await create_poll(
        sea,
        ann,
        title="Dinner; drinks, and more",
        description="Bring\nfriends",
        timezone="Europe/Paris",
        options=[{"date": "2030-06-01", "start_time": "19:30", "end_time": "22:00"}],
        venue={"name": "Chez Nous", "address": "1 Rue X, Paris"},
    )
    assert_error(await sea.get(f"{API}/polls/{poll['id']}/event.ics", headers=ann.auth), 409, "poll_voting")
    await sea.post(f"{API}/polls/{poll['id']}/finalize", json={"option_id": poll["options"][0]["id"]}, headers=ann.auth)
    answer = await sea.get(f"{API}/polls/{poll['id']}/event.ics", headers=ann.auth)
    assert answer.status_code == 200 and answer.headers["content-type"] == "text/calendar; charset=utf-8"
    text = answer.text
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert "DTSTART:20300601T173000Z\r\n" in text and "DTEND:20300601T200000Z\r\n" in text  # Paris is UTC+2 in June
    assert "SUMMARY:Dinner\\; drinks\\, and more\r\n" in text
    assert "LOCATION:Chez Nous\\, 1 Rue X\\, Paris\r\n" in text and "DESCRIPTION:Bring\\nfriends\r\n" in text
    assert f"UID:seacalendar-poll-{poll['id']}-" in text and "DTSTAMP:" in text


def test_ics_folds_long_lines_without_splitting_characters() -> None:
    event = ics.CalendarEvent(uid="u@x", title="é" * 100, start=datetime(2030, 1, 1, tzinfo=UTC).date())
    text = ics.build(event, now=datetime(2029, 1, 1, tzinfo=UTC))
    lines = text.split("\r\n")
    assert all(len(line.encode()) <= 75 for line in lines)
    unfolded = text.replace("\r\n ", "")
    assert "SUMMARY:" + "é" * 100 + "\r\n" in unfolded
    assert "DTSTART;VALUE=DATE:20300101\r\nDTEND;VALUE=DATE:20300102\r\n" in unfolded


async def test_memories_on_finalized_events(sea: httpx.AsyncClient, sign_in: SignIn) -> None:
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    poll = await create_poll(sea, ann, invitees=[bob.discord_id])
    url = f"{API}/polls/{poll['id']}/memories"
    assert_error(await sea.post(url, json={"text": "too soon"}, headers=bob.auth), 409, "poll_voting")
    await sea.post(f"{API}/polls/{poll['id']}/finalize", json={"option_id": poll["options"][0]["id"]}, headers=ann.auth)
    note = await sea.post(url, json={"text": "What a night"}, headers=bob.auth)
    link = await sea.post(url, json={"kind": "link", "url": "https://photos.example/album"}, headers=ann.auth)
    assert note.status_code == 201 and link.status_code == 201
    assert note.json()["author"] == {"id": bob.id, "display_name": "Bob"}
    memories = (await sea.get(url, headers=ann.auth)).json()["memories"]
    assert [(m["kind"], m["author"]["id"]) for m in memories] == [("note", bob.id), ("link", ann.id)]

    # Removing: the author may, and so may the event's creator; nobody else, whoever sees it.
    cleo = await sign_in("Cleo")
    public = await create_poll(sea, ann, is_private=False)
    await sea.post(
        f"{API}/polls/{public['id']}/finalize", json={"option_id": public["options"][0]["id"]}, headers=ann.auth
    )
    pub_url = f"{API}/polls/{public['id']}/memories"
    by_bob = (await sea.post(pub_url, json={"text": "Mine"}, headers=bob.auth)).json()
    by_cleo = (await sea.post(pub_url, json={"text": "Cleo's"}, headers=cleo.auth)).json()
    assert_error(await sea.delete(f"{pub_url}/{by_cleo['id']}", headers=bob.auth), 403, "not_author")
    assert (await sea.delete(f"{pub_url}/{by_bob['id']}", headers=bob.auth)).status_code == 204
    assert (await sea.delete(f"{pub_url}/{by_cleo['id']}", headers=ann.auth)).status_code == 204
    assert (await sea.get(pub_url, headers=ann.auth)).json()["memories"] == []
    for gone in (f"{pub_url}/{by_bob['id']}", f"{url}/{memories[0]['id'] + 10**6}", f"{url}/{10**19 - 1}"):
        assert_error(await sea.delete(gone, headers=ann.auth), 404, "not_found")
    # A memory is named under its own event only; a private event is unknown to the uninvited.
    assert_error(await sea.delete(f"{pub_url}/{memories[0]['id']}", headers=ann.auth), 404, "not_found")
    assert_error(await sea.delete(f"{url}/{memories[0]['id']}", headers=cleo.auth), 404, "not_found")
    assert_error(await sea.delete(f"{url}/x", headers=ann.auth), 404, "not_found")
    stranger = await sign_in("Stranger")
    assert_error(await sea.get(url, headers=stranger.auth), 404, "not_found")


async def test_an_event_keeps_a_bounded_number_of_memories(
    sea: httpx.AsyncClient, sign_in: SignIn, sea_ctx: TenantContext
) -> None:
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    poll = await create_poll(sea, ann, invitees=[bob.discord_id])
    await sea.post(f"{API}/polls/{poll['id']}/finalize", json={"option_id": poll["options"][0]["id"]}, headers=ann.auth)
    async with sea_ctx.db.transaction() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO memories (poll_id, author_id, kind, text) "
                "SELECT :p, :a, 'note', 'note ' || n FROM generate_series(1, :n) n"
            ),
            {"p": poll["id"], "a": ann.id, "n": MAX_MEMORIES_PER_POLL - 3},
        )
    url = f"{API}/polls/{poll['id']}/memories"
    # Ten at once for the last three places: the poll's lock makes them count one by one.
    answers = await asyncio.gather(*(sea.post(url, json={"text": f"late {n}"}, headers=bob.auth) for n in range(10)))
    assert sorted(answer.status_code for answer in answers) == [201] * 3 + [409] * 7
    assert_error(next(a for a in answers if a.status_code == 409), 409, "too_many_memories")
    assert len((await sea.get(url, headers=bob.auth)).json()["memories"]) == MAX_MEMORIES_PER_POLL


async def test_question_of_the_week(
    sea: httpx.AsyncClient, sign_in: SignIn, sea_ctx: TenantContext, fake_discord: tuple[FakeDiscord, str]
) -> None:
    fake, _ = fake_discord
    ann, bob, cy, dee = await sign_in("Ann"), await sign_in("Bob"), await sign_in("Cy"), await sign_in("Dee")
    guild, channel = "900000000000000001", "900000000000000002"
    # Ann may manage the server, Bob is a member, Cy owns it, Dee is not in it.
    fake.add_guild(guild, (channel,), {ann.discord_id: MANAGE_GUILD, bob.discord_id: 0}, owner=cy.discord_id)
    # No schedule yet: whether the caller may set one comes with the 404 (the web UI offers its form then).
    missing = await sea.get(f"{API}/qotw/config", params={"guild_id": guild}, headers=ann.auth)
    assert assert_error(missing, 404, "not_found")["details"] == {"can_manage": True}
    missing = await sea.get(f"{API}/qotw/config", params={"guild_id": guild}, headers=bob.auth)
    assert assert_error(missing, 404, "not_found")["details"] == {"can_manage": False}
    config = {"guild_id": guild, "channel_id": channel, "weekday": 4, "hour": 18}
    saved = await sea.put(f"{API}/qotw/config", json=config, headers=ann.auth)
    assert saved.status_code == 200 and saved.json()["owner_id"] == ann.id
    # Only those who may manage the server set its schedule (not whoever came first), in its channels.
    assert_error(await sea.put(f"{API}/qotw/config", json=config, headers=bob.auth), 403, "not_a_manager")
    assert_error(await sea.put(f"{API}/qotw/config", json=config, headers=dee.auth), 403, "not_in_guild")
    by_owner = await sea.put(f"{API}/qotw/config", json={**config, "hour": 19}, headers=cy.auth)
    assert by_owner.status_code == 200 and by_owner.json()["owner_id"] == cy.id
    elsewhere = {**config, "channel_id": "900000000000000099"}  # a channel of another server
    assert_error(await sea.put(f"{API}/qotw/config", json=elsewhere, headers=ann.auth), 422, "channel_not_in_guild")
    assert (await sea.put(f"{API}/qotw/config", json=config, headers=ann.auth)).status_code == 200
    not_member = {"guild_id": guild, "text": "Spam?"}
    assert_error(await sea.post(f"{API}/qotw/questions", json=not_member, headers=dee.auth), 403, "not_in_guild")
    shown = (await sea.get(f"{API}/qotw/config", params={"guild_id": guild}, headers=bob.auth)).json()
    assert (shown["hour"], shown["can_manage"]) == (18, False)
    for manager in (ann, cy):
        shown = (await sea.get(f"{API}/qotw/config", params={"guild_id": guild}, headers=manager.auth)).json()
        assert shown["can_manage"] is True
    question = (
        await sea.post(f"{API}/qotw/questions", json={"guild_id": guild, "text": "Best pizza?"}, headers=ann.auth)
    ).json()
    respond = f"{API}/qotw/questions/{question['id']}/responses"
    assert_error(await sea.post(respond, json={"text": "Margherita"}, headers=bob.auth), 409, "question_not_posted")
    async with sea_ctx.db.transaction() as conn:
        await conn.execute(
            sa.text("UPDATE questions SET status = 'posted', posted_at = now() WHERE id = :q"), {"q": question["id"]}
        )
    assert (await sea.post(respond, json={"text": "Margherita"}, headers=bob.auth)).status_code == 201
    assert (await sea.post(respond, json={"text": "Diavola"}, headers=bob.auth)).json()["text"] == "Diavola"
    listed = (await sea.get(f"{API}/qotw/questions", params={"guild_id": guild}, headers=bob.auth)).json()
    assert listed["questions"][0]["responses"] == 1 and listed["questions"][0]["my_response"] == "Diavola"


async def test_question_of_the_week_is_read_and_answered_by_the_servers_members_only(
    sea: httpx.AsyncClient, sign_in: SignIn, sea_ctx: TenantContext, fake_discord: tuple[FakeDiscord, str]
) -> None:
    fake, _ = fake_discord
    ann, bob, dee = await sign_in("Ann"), await sign_in("Bob"), await sign_in("Dee")
    guild, channel = "900000000000000011", "900000000000000012"
    fake.add_guild(guild, (channel,), {ann.discord_id: MANAGE_GUILD, bob.discord_id: 0})
    config = {"guild_id": guild, "channel_id": channel, "weekday": 2, "hour": 9}
    assert (await sea.put(f"{API}/qotw/config", json=config, headers=ann.auth)).status_code == 200
    question = (
        await sea.post(f"{API}/qotw/questions", json={"guild_id": guild, "text": "Tea or coffee?"}, headers=ann.auth)
    ).json()
    async with sea_ctx.db.transaction() as conn:
        await conn.execute(
            sa.text("UPDATE questions SET status = 'posted', posted_at = now() WHERE id = :q"), {"q": question["id"]}
        )
    respond = f"{API}/qotw/questions/{question['id']}/responses"
    assert (await sea.post(respond, json={"text": "Tea"}, headers=bob.auth)).status_code == 201
    # Dee knows the server's id and the question's, but is not in the server.
    by_guild = {"guild_id": guild}
    assert_error(await sea.get(f"{API}/qotw/config", params=by_guild, headers=dee.auth), 403, "not_in_guild")
    assert_error(await sea.get(f"{API}/qotw/questions", params=by_guild, headers=dee.auth), 403, "not_in_guild")
    assert_error(await sea.post(respond, json={"text": "Coffee"}, headers=dee.auth), 403, "not_in_guild")
    # Not even whether a server has a schedule: a stranger's 403 comes before the 404.
    elsewhere = {"guild_id": "900000000000000013"}
    assert_error(await sea.get(f"{API}/qotw/config", params=elsewhere, headers=dee.auth), 403, "not_in_guild")
    listed = (await sea.get(f"{API}/qotw/questions", params=by_guild, headers=ann.auth)).json()["questions"]
    assert [(q["id"], q["responses"]) for q in listed] == [(question["id"], 1)]
    # Membership is asked anew: someone removed from the server is refused at once.
    del fake.guilds[guild]["members"][bob.discord_id]
    assert_error(await sea.get(f"{API}/qotw/questions", params=by_guild, headers=bob.auth), 403, "not_in_guild")
    assert_error(await sea.post(respond, json={"text": "Both"}, headers=bob.auth), 403, "not_in_guild")
