"""The slash commands the interactions webhook answers, registered with Discord at bot start.

Discord shows a command only once the application registers it. ``PUT
/applications/{id}/commands`` replaces the whole global set, so registering at every start is
idempotent and drops commands we no longer serve. The definitions name what
``tenants/seacalendar/commands.py`` reads; Discord checks the types, lengths and ranges before
an interaction reaches us.
"""

from __future__ import annotations

from typing import Any

from tenants.seacalendar.bot.discord_rest import DiscordRest
from tenants.seacalendar.schemas import MAX_OPTIONS

SUB_COMMAND, STRING, INTEGER = 1, 3, 4  # application command option types
CHAT_INPUT = 1
GUILD = 0  # interaction context: a server channel (polls and questions belong to a server)

COMMANDS: list[dict[str, Any]] = [
    {
        "name": "poll",
        "type": CHAT_INPUT,
        "description": "Event polls of this server",
        "contexts": [GUILD],
        "options": [
            {
                "type": SUB_COMMAND,
                "name": "create",
                "description": "Start a poll in this channel",
                "options": [
                    {"type": STRING, "name": "title", "description": "What the poll is about",
                     "required": True, "max_length": 200},
                    {"type": STRING, "name": "options",
                     "description": f"Up to {MAX_OPTIONS} choices, comma-separated; dates like 2026-12-05 19:00-22:00",
                     "required": True, "max_length": 6000},
                    {"type": STRING, "name": "description", "description": "More about it", "max_length": 5000},
                    {"type": INTEGER, "name": "deadline_days", "description": "Close voting after this many days",
                     "min_value": 1, "max_value": 365},
                ],
            },
            {"type": SUB_COMMAND, "name": "list", "description": "Open polls in this server"},
        ],
    },
    {
        "name": "qotw",
        "type": CHAT_INPUT,
        "description": "Question of the week",
        "contexts": [GUILD],
        "options": [
            {
                "type": SUB_COMMAND,
                "name": "answer",
                "description": "Answer this week's question",
                "options": [
                    {"type": STRING, "name": "text", "description": "Your answer", "required": True,
                     "max_length": 2000},
                ],
            }
        ],
    },
]  # fmt: skip


async def register_commands(rest: DiscordRest, application_id: str | None) -> str:
    """Replace the application's global commands with ``COMMANDS``; returns the application id.

    Without a configured id (``ONEBOX_DISCORD_CLIENT_ID``, which is the application's id) it is
    read from ``GET /applications/@me`` with the bot's token.
    """
    if not application_id:
        application = await rest.request("GET", "/applications/@me")
        application_id = str(application["id"])
    await rest.request("PUT", f"/applications/{application_id}/commands", json=COMMANDS)
    return application_id
