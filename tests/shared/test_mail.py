"""SMTP settings: the URL forms, and errors that name the variable without echoing the password."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.mail import MailSettings, SmtpServer


def test_urls_name_the_server_and_how_to_secure_it() -> None:
    assert SmtpServer.parse("smtp://user:p%40ss@mail.example:2525") == SmtpServer(
        "mail.example", 2525, use_tls=False, username="user", password="p@ss"
    )
    assert SmtpServer.parse("smtps://mail.example") == SmtpServer("mail.example", 465, use_tls=True)
    assert SmtpServer.parse("smtp://localhost").port == 587


@pytest.mark.parametrize(
    "url", ["http://u:s3cret@mail.example", "smtp://", "mail.example:25", "smtp://u:s3cret@h:99999", "smtp://h:x"]
)
def test_bad_urls_are_refused_at_start_up(url: str) -> None:
    with pytest.raises(ValidationError) as raised:
        MailSettings(_env_file=None, smtp_url=url)  # type: ignore[call-arg]
    assert "ONEBOX_SMTP_URL" in str(raised.value)
    assert "s3cret" not in str(raised.value)


def test_mail_is_off_until_server_and_sender_are_set() -> None:
    assert MailSettings(_env_file=None).mailer() is None  # type: ignore[call-arg]
    assert MailSettings(_env_file=None, smtp_url="smtp://h").mailer() is None  # type: ignore[call-arg]
    mailer = MailSettings(_env_file=None, smtp_url="smtp://h", mail_from="a@b.example").mailer()  # type: ignore[call-arg]
    assert mailer is not None
    message = mailer.message("c@d.example", "Hi", "Text")
    assert (message["From"], message["To"], message["Subject"]) == ("a@b.example", "c@d.example", "Hi")
