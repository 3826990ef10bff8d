"""Settings of the astro tenant (``ONEBOX_ASTRO_*``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings

from shared.settings import env_config, public_url_field


class AstroSettings(BaseSettings):
    """Where sign-in comes back to, and which Mastodon instances are reachable how."""

    model_config = env_config()

    # Public base URL of this box (e.g. https://box.example; else ONEBOX_PUBLIC_URL) for the OAuth
    # redirect URI. Required for Mastodon sign-in unless the box is reached on loopback (the Host
    # header can be forged).
    astro_public_url: str | None = public_url_field("astro", None)
    # Instances that skip the public-address guard, name → base URL, as JSON:
    # '{"social.internal": "https://10.0.0.5"}'. Tests point a name at a fake on loopback.
    astro_mastodon_instances: dict[str, str] = Field(default_factory=dict)
    astro_mastodon_timeout: float = 10.0
    astro_app_name: str = "StarMeet (onebox)"
    astro_matches_scan_limit: int = 5000
