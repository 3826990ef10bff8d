"""A fake SMTP server on loopback (aiosmtpd speaking real SMTP) that keeps what it is sent."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP


@dataclass
class Delivery:
    """One accepted message: the envelope and the parsed message."""

    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class FakeSmtp:
    """Accepts every message into ``deliveries``, or refuses them all while ``refuse`` is set.

    While ``hold`` is an unset event, a message's content waits for it (a stalled server).
    """

    deliveries: list[Delivery] = field(default_factory=list)
    refuse: bool = False
    hold: asyncio.Event | None = None
    port: int = 0  # set by whoever serves it

    async def handle_DATA(self, _server: SMTP, _session: Any, envelope: Any) -> str:
        """aiosmtpd's hook for a message's content."""
        if self.hold is not None:
            await self.hold.wait()
        if self.refuse:
            return "554 5.7.1 Refused by the test"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.deliveries.append(Delivery(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"

    def to(self, address: str) -> list[Delivery]:
        """The messages delivered to ``address`` (compared ignoring case)."""
        return [d for d in self.deliveries if address.lower() in (r.lower() for r in d.recipients)]


@asynccontextmanager
async def serve_smtp(fake: FakeSmtp) -> AsyncIterator[int]:
    """Serve ``fake`` in the running event loop on a free loopback port; yields the port."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(fake, hostname="fake-smtp.test"), "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()
