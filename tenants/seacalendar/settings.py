"""Settings of SeaCalendar and its bot: Discord credentials plus the tenant's own knobs."""

from __future__ import annotations

from shared.auth.discord_settings import DiscordSettings
from shared.settings import public_url_field
from shared.tenant import TenantContext


class SeaCalendarSettings(DiscordSettings):
    """``ONEBOX_DISCORD_*`` and ``ONEBOX_SEACALENDAR_*``."""

    # Where the sign-in callback sends the browser (the web UI).
    seacalendar_ui_path: str = "/seacalendar/"
    # Public base URL used in bot messages' links, e.g. https://box.example; empty leaves links out.
    seacalendar_public_url: str = public_url_field("seacalendar", "")
    # How often the bot's scheduler wakes (seconds): due reminders, expired polls, question of the week.
    seacalendar_bot_tick: float = 30.0
    # Reminder DMs sent at once; Discord's rate limits pace the rest.
    seacalendar_bot_concurrency: int = 4
    # A claimed reminder not confirmed within this many seconds is retried (same nonce: no duplicate).
    seacalendar_claim_lease: float = 120.0
    # Seconds the bot waits after the last vote before editing a poll message, to batch bursts.
    seacalendar_edit_debounce: float = 1.0
    # The gateway reports the bot stale when its heartbeat is older than this (seconds).
    seacalendar_bot_stale_after: float = 120.0
    # Discord's retry_after above this (seconds) fails the call instead of stalling the bot.
    seacalendar_max_retry_after: float = 60.0


def sea_settings(ctx: TenantContext) -> SeaCalendarSettings:
    """The tenant's settings, read from the environment once per context."""
    value = ctx.state.get("settings")
    if not isinstance(value, SeaCalendarSettings):
        value = ctx.settings.load(SeaCalendarSettings)
        ctx.state["settings"] = value
    return value
