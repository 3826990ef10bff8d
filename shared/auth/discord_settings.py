"""``ONEBOX_DISCORD_*`` settings, apart from the sign-in dance.

The SeaCalendar bot reads them too; here they cost it pydantic-settings only, not the dance's
SQLAlchemy, Starlette and authlib imports (``shared.auth.discord``).
"""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings

from shared.settings import env_config


class DiscordSettings(BaseSettings):
    """``ONEBOX_DISCORD_*``: the application's credentials and the API base (a fake in tests)."""

    model_config = env_config()

    discord_client_id: str | None = None
    discord_client_secret: SecretStr | None = None
    discord_bot_token: SecretStr | None = None
    discord_public_key: str | None = None
    discord_api_base: str = "https://discord.com/api"
    # Set when the public URL differs from what the gateway sees (behind a proxy without headers).
    discord_redirect_uri: str | None = None

    @property
    def api_base(self) -> str:
        """The API base without a trailing slash."""
        return self.discord_api_base.rstrip("/")
