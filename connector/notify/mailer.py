"""SMTP delivery from SMTP_URL (smtp://[user:pass@]host[:port][?starttls=1] or smtps://...) via smtplib."""
from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import parse_qs, unquote, urlparse

from connector.core.config import Settings


class MailError(Exception):
    """Sending failed; the message says why (never contains the password)."""


@dataclass(frozen=True)
class Mailer:
    """Hands messages to one SMTP server. Thread-safe: `send` opens a connection per message; a
    `connection()` block reuses one for many messages (one thread at a time)."""

    host: str
    port: int
    mail_from: str
    username: str | None = None
    password: str | None = None
    use_ssl: bool = False
    starttls: bool = False
    timeout: float = 10.0

    @classmethod
    def from_url(cls, url: str, mail_from: str) -> Mailer:
        """Parse SMTP_URL; raise MailError naming the problem."""
        parsed = urlparse(url)
        if parsed.scheme not in ("smtp", "smtps") or not parsed.hostname:
            raise MailError(f"SMTP_URL must look like smtp://host:port, got scheme {parsed.scheme!r}")
        query = parse_qs(parsed.query)
        return cls(
            host=parsed.hostname, port=parsed.port or (465 if parsed.scheme == "smtps" else 25),
            mail_from=mail_from, username=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            use_ssl=parsed.scheme == "smtps", starttls=query.get("starttls", ["0"])[0] in ("1", "true", "yes"),
        )

    def build(self, *, to: str, subject: str, text: str, html: str | None = None) -> EmailMessage:
        """The MIME message: plain text, with an HTML alternative when given."""
        msg = EmailMessage()
        msg["From"] = self.mail_from
        msg["To"] = to
        msg["Subject"] = subject
        msg["Message-ID"] = make_msgid(domain="leadwire")
        msg.set_content(text)
        if html:
            msg.add_alternative(html, subtype="html")
        return msg

    def send(self, *, to: str, subject: str, text: str, html: str | None = None) -> None:
        """Hand one message to the server; raise MailError on any SMTP or network failure."""
        with self.connection() as conn:
            conn.send(to=to, subject=subject, text=text, html=html)

    def _open(self) -> smtplib.SMTP:
        smtp_cls = smtplib.SMTP_SSL if self.use_ssl else smtplib.SMTP
        smtp = smtp_cls(self.host, self.port, timeout=self.timeout)
        try:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    @contextmanager
    def connection(self) -> Iterator[SmtpConnection]:
        """One SMTP connection, opened on the first message and reused by the next ones (reopened once
        when the server dropped it); closed when the block ends."""
        conn = SmtpConnection(self)
        try:
            yield conn
        finally:
            conn.close()

    def _error(self, exc: BaseException) -> MailError:
        return MailError(f"{type(exc).__name__} talking to {self.host}:{self.port}: {exc}")


class SmtpConnection:
    """Messages through one reused connection of a Mailer; `send` raises MailError like Mailer.send."""

    def __init__(self, mailer: Mailer) -> None:
        self.mailer = mailer
        self._smtp: smtplib.SMTP | None = None

    def send(self, *, to: str, subject: str, text: str, html: str | None = None) -> None:
        msg = self.mailer.build(to=to, subject=subject, text=text, html=html)
        for fresh in (self._smtp is None, True):
            try:
                if self._smtp is None:
                    self._smtp = self.mailer._open()
                self._smtp.send_message(msg)
                return
            except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError) as exc:
                self.close()  # a dropped connection: open a new one once, unless this one was new
                if fresh:
                    raise self.mailer._error(exc) from exc
            except smtplib.SMTPException as exc:
                self.close()  # the next message starts on a clean connection
                raise self.mailer._error(exc) from exc

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


def mailer_from_settings(settings: Settings) -> Mailer | None:
    """The mailer for Settings.smtp_url, or None when no SMTP server is configured."""
    if not settings.smtp_url:
        return None
    return Mailer.from_url(settings.smtp_url, settings.mail_from)
