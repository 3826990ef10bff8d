"""Settings of the wishlist tenant: outgoing mail plus its own knobs."""

from __future__ import annotations

from pydantic import Field, field_validator

from shared.mail import MailSettings
from shared.settings import public_url_field


class WishlistSettings(MailSettings):
    """``ONEBOX_SMTP_URL``, ``ONEBOX_MAIL_FROM`` and ``ONEBOX_WISHLIST_*``."""

    # Base of the links in mail, e.g. https://box.example; never taken from the request's Host
    # header, which a caller chooses (it would send a victim's reset link to the caller's site).
    wishlist_public_url: str = public_url_field("wishlist", "")
    # Reset mails one address may be sent per hour, whoever asks: the form must not spam an inbox.
    wishlist_reset_mails_per_hour: int = Field(default=3, ge=1)

    @field_validator("wishlist_public_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("ONEBOX_WISHLIST_PUBLIC_URL must start with https:// (or http://)")
        return value.rstrip("/")
