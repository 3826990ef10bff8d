"""Each poll's message in its Discord channel: posted once when the poll opens, edited as the tally moves.

The bot learns of changes from the NOTIFY bus. A burst of votes becomes one edit: the first event
schedules an edit after a short debounce, later ones find it pending, and the edit renders the
poll as it is when it runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
import orjson

from tenants.seacalendar.bot.discord_rest import DiscordError, DiscordRest
from tenants.seacalendar.tally import tally_query

log = logging.getLogger("onebox.seacalendar.bot")

POLL = """SELECT id, title, description, status, channel_id, message_id, voting_deadline, finalized_option_id
    FROM polls WHERE id = $1"""
OPTIONS = "SELECT id, label, date, start_time, end_time FROM poll_options WHERE poll_id = $1 ORDER BY position, id"
TALLY = tally_query("$1")
DELETED = "Its creator deleted this poll, with its votes."
STATUS = {"voting": "Voting open", "finalized": "Date chosen", "cancelled": "Cancelled", "expired": "Voting closed"}


def option_label(option: asyncpg.Record) -> str:
    """A human label: ``Sat 1 Jun 2030 19:00–22:00`` for dated options, the text otherwise."""
    if option["date"] is None:
        return str(option["label"])
    text = option["date"].strftime("%a %-d %b %Y")
    if option["start_time"] is not None:
        text += " " + option["start_time"].strftime("%H:%M")
        if option["end_time"] is not None:
            text += "–" + option["end_time"].strftime("%H:%M")
    return f"{text} {option['label']}".strip()


# Polls whose message may be behind after a stop: changed, or voted on, in the last week.
CHANGED_LATELY = """SELECT p.id FROM polls p
WHERE p.message_id IS NOT NULL AND (p.updated_at > now() - interval '7 days'
    OR EXISTS (SELECT 1 FROM votes v WHERE v.poll_id = p.id AND v.updated_at > now() - interval '7 days'))
    ORDER BY p.id"""
RETRY_FIRST = 1.0  # seconds before a failed post or edit is tried again; doubles up to RETRY_MOST
RETRY_MOST = 300.0
MAX_FIELDS = 25  # Discord's limits for one embed
MAX_EMBED = 6000


def render(
    poll: asyncpg.Record, options: list[asyncpg.Record], tally: dict[str, Any], public_url: str
) -> dict[str, Any]:
    """The message body (content and one embed) for a poll."""
    counts = {o["option_id"]: o for o in tally["options"]}
    fields = []
    for option in options:
        count = counts.get(option["id"], {"available": 0, "maybe": 0})
        marker = "🏆 " if poll["status"] == "finalized" and poll["finalized_option_id"] == option["id"] else ""
        fields.append(
            {
                "name": f"{marker}{option_label(option)}"[:256],
                "value": f"✅ {count['available']} available · 🤔 {count['maybe']} maybe",
                "inline": False,
            }
        )
    if len(fields) > MAX_FIELDS:
        hidden = len(fields) - (MAX_FIELDS - 1)
        more = "vote on the web" + (f": {public_url.rstrip('/')}/seacalendar/#poll={poll['id']}" if public_url else "")
        fields = [
            *fields[: MAX_FIELDS - 1],
            {"name": f"…and {hidden} more options", "value": more[:1024], "inline": False},
        ]
    footer = f"{STATUS.get(poll['status'], poll['status'])} · {tally['voters']} voted"
    if poll["status"] == "voting" and poll["voting_deadline"] is not None:
        footer += f" · closes {poll['voting_deadline'].strftime('%Y-%m-%d %H:%M UTC')}"
    title = poll["title"][:256]
    fields, description = _fit(MAX_EMBED - len(title) - len(footer), fields, poll["description"][:4000])
    embed: dict[str, Any] = {"title": title, "description": description, "fields": fields, "footer": {"text": footer}}
    if public_url:
        embed["url"] = f"{public_url.rstrip('/')}/seacalendar/#poll={poll['id']}"
    return {"content": f"📅 **{poll['title'][:200]}**: vote on the dates below.", "embeds": [embed]}


def _cut(text: str, length: int) -> str:
    if len(text) <= length:
        return text
    return text[: length - 1] + "…" if length > 0 else ""


def _fit(room: int, fields: list[dict[str, Any]], description: str) -> tuple[list[dict[str, Any]], str]:
    """Fields and description within ``room`` characters (Discord refuses an embed over 6,000 in all).

    The description gives way first, then the option names, to an equal share each.
    """
    room -= sum(len(f["value"]) for f in fields)
    if sum(len(f["name"]) for f in fields) > room:
        share = max(room // len(fields), 1)
        fields = [{**f, "name": _cut(f["name"], share)} for f in fields]
    room -= sum(len(f["name"]) for f in fields)
    return fields, _cut(description, max(room, 0))


class PollMessages:
    """Posts and edits poll messages."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        rest: DiscordRest,
        public_url: str,
        debounce: float,
        report: Callable[[BaseException], None],
    ) -> None:
        self.pool = pool
        self.report = report
        self.rest = rest
        self.public_url = public_url
        self.debounce = debounce
        self._pending: dict[int, asyncio.Task[None]] = {}
        self._dirty: set[int] = set()  # polls changed since their message was last rendered
        self._posting: set[int] = set()
        self._post_backoff: dict[int, float] = {}
        self._retries: set[asyncio.Task[None]] = set()
        self.posted = 0
        self.edited = 0

    async def _load(self, poll_id: int) -> tuple[asyncpg.Record, list[asyncpg.Record], dict[str, Any]] | None:
        async with self.pool.acquire() as conn:
            poll = await conn.fetchrow(POLL, poll_id)
            if poll is None or poll["channel_id"] is None:
                return None
            options = await conn.fetch(OPTIONS, poll_id)
            tally: dict[str, Any] = orjson.loads(await conn.fetchval(TALLY, poll_id))
            return poll, options, tally

    async def post(self, poll_id: int) -> None:
        """Post the poll's message if it has a channel and none yet (the nonce makes a retry harmless).

        A passing failure (Discord unreachable, 5xx, a long 429) is tried again later, with backoff.
        """
        if poll_id in self._posting:  # start-up catch-up and the bus can name the same new poll
            return
        self._posting.add(poll_id)
        try:
            await self._post(poll_id)
        except DiscordError as exc:
            self.report(exc)
            if exc.retryable:
                self._retry_post(poll_id)
        finally:
            self._posting.discard(poll_id)

    def _retry_post(self, poll_id: int) -> None:
        delay = min(self._post_backoff.get(poll_id, RETRY_FIRST) * 2, RETRY_MOST)
        self._post_backoff[poll_id] = delay

        async def later() -> None:
            await asyncio.sleep(delay)
            await self.post(poll_id)

        task = asyncio.create_task(later(), name=f"post:{poll_id}")
        self._retries.add(task)
        task.add_done_callback(self._retries.discard)

    async def _post(self, poll_id: int) -> None:
        loaded = await self._load(poll_id)
        if loaded is None or loaded[0]["message_id"] is not None or loaded[0]["status"] != "voting":
            return
        poll, options, tally = loaded
        message = await self.rest.send_message(
            poll["channel_id"], render(poll, options, tally, self.public_url), nonce=f"poll-{poll['id']}"
        )
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE polls SET message_id = $1 WHERE id = $2 AND message_id IS NULL", str(message["id"]), poll["id"]
            )
        self.posted += 1
        self._post_backoff.pop(poll_id, None)

    async def edit(self, poll_id: int) -> None:
        """Re-render the poll's message."""
        loaded = await self._load(poll_id)
        if loaded is None or loaded[0]["message_id"] is None:
            return
        poll, options, tally = loaded
        await self.rest.edit_message(
            poll["channel_id"], poll["message_id"], render(poll, options, tally, self.public_url)
        )
        self.edited += 1

    async def mark_deleted(self, channel_id: str, message_id: str) -> None:
        """Turn a deleted poll's message into a notice (its row is gone, so this is the only chance)."""
        embed = {"title": "Poll deleted", "description": DELETED, "fields": [], "footer": {"text": "Deleted"}}
        message = {"content": "📅 This poll was deleted.", "embeds": [embed]}
        await self.rest.edit_message(channel_id, message_id, message)
        self.edited += 1

    def edit_soon(self, poll_id: int) -> None:
        """Edit after the debounce, once, however many changes arrive meanwhile."""
        self._dirty.add(poll_id)
        if poll_id not in self._pending:
            self._pending[poll_id] = asyncio.create_task(self._edit_later(poll_id), name=f"edit:{poll_id}")

    async def _edit_later(self, poll_id: int) -> None:
        """One task per poll makes its edits one at a time, each rendering the poll as it is then.

        A change during an edit (or during the poll's first post) is rendered by one more edit
        afterwards; so an older render retried after a 5xx can't be the last word. A failed edit
        is tried again with backoff, unless Discord refused it for good.
        """
        delay = self.debounce
        try:
            while poll_id in self._dirty:
                await asyncio.sleep(delay)
                if poll_id in self._posting:
                    continue  # its message doesn't exist yet: edit once it does
                self._dirty.discard(poll_id)
                try:
                    await self.edit(poll_id)
                    delay = self.debounce
                except Exception as exc:  # reported in health
                    self.report(exc)
                    if isinstance(exc, DiscordError) and not exc.retryable:
                        continue
                    self._dirty.add(poll_id)
                    delay = min(max(delay * 2, RETRY_FIRST), RETRY_MOST)
        finally:
            self._pending.pop(poll_id, None)

    async def catch_up(self) -> None:
        """At start: post messages of open polls created while the bot was down, and bring those
        of polls that changed meanwhile (votes, finalised, cancelled) in line."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT id FROM polls WHERE status = 'voting' AND channel_id IS NOT NULL "
                "AND message_id IS NULL ORDER BY id"
            )
            changed = await conn.fetch(CHANGED_LATELY)
        for row in rows:
            await self.post(row["id"])
        for row in changed:
            self.edit_soon(row["id"])

    @property
    def settled(self) -> bool:
        """Nothing waits to be posted or edited."""
        return not (self._pending or self._retries or self._posting)

    async def close(self) -> None:
        """Cancel edits and retries not yet made."""
        tasks = [*self._pending.values(), *self._retries]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
