"""Outgoing mail over SMTP: ``ONEBOX_SMTP_URL`` and ``ONEBOX_MAIL_FROM``.

``smtp://user:pass@host:587`` upgrades with STARTTLS (required when a password is sent, so it
never crosses in clear; offered-only otherwise, as for a local relay), ``smtps://…:465`` speaks
TLS from the start. aiosmtplib is imported when a message is sent, not when the gateway starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import env_config

DEFAULT_PORTS = {"smtp": 587, "smtps": 465}


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to hand mail over, parsed from an ``smtp(s)://`` URL."""

    host: str
    port: int
    use_tls: bool
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> SmtpServer:
        """The server an ``smtp://`` or ``smtps://`` URL names; ValueError for anything else."""
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError("must look like smtp://user:pass@host:587 or smtps://user:pass@host:465")
        try:
            port = parts.port or DEFAULT_PORTS[parts.scheme]
        except ValueError:
            raise ValueError("has a port that is not a number from 1 to 65535") from None
        return cls(
            host=parts.hostname,
            port=port,
            use_tls=parts.scheme == "smtps",
            # Credentials are percent-encoded in a URL ("p%40ss" for "p@ss").
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


class MailSettings(BaseSettings):
    """``ONEBOX_SMTP_URL``, ``ONEBOX_MAIL_FROM`` and the send timeout."""

    # A start-up error names the variable but never quotes the URL: it holds a password.
    model_config = SettingsConfigDict(**env_config(), hide_input_in_errors=True)

    smtp_url: SecretStr | None = None
    mail_from: str | None = None
    # Seconds for the whole conversation with the server; a stalled server must not pile up sends.
    smtp_timeout: float = 15.0

    @field_validator("smtp_url")
    @classmethod
    def _parses(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value():
            try:
                SmtpServer.parse(value.get_secret_value())
            except ValueError as exc:
                raise ValueError(f"ONEBOX_SMTP_URL {exc}") from None
        return value

    def mailer(self) -> Mailer | None:
        """A mailer when both the server and the sender are set, else None (mail is off)."""
        url = self.smtp_url.get_secret_value() if self.smtp_url else ""
        if not url or not self.mail_from:
            return None
        return Mailer(SmtpServer.parse(url), self.mail_from, self.smtp_timeout)


class Mailer:
    """Sends plain-text messages through one SMTP server."""

    def __init__(self, server: SmtpServer, sender: str, timeout: float) -> None:
        self.server = server
        self.sender = sender
        self.timeout = timeout

    def message(self, to: str, subject: str, text: str) -> EmailMessage:
        """The message as it will be sent."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(text)
        return message

    async def send(self, to: str, subject: str, text: str) -> None:
        """Deliver one message; raises aiosmtplib's errors (or OSError) when the server refuses or fails."""
        import aiosmtplib  # lazy: only a box that sends mail pays for it

        server = self.server
        await aiosmtplib.send(
            self.message(to, subject, text),
            hostname=server.host,
            port=server.port,
            username=server.username,
            password=server.password,
            use_tls=server.use_tls,
            # None: STARTTLS when the server offers it; a password demands it.
            start_tls=None if server.use_tls or server.password is None else True,
            timeout=self.timeout,
        )
