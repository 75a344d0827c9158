"""A real SMTP server (aiosmtpd) on a free loopback port that keeps every message it receives, parsed.

The demo's SMTP server and the tests' message catcher:

    with Mailbox() as mailbox:            # or mailbox = Mailbox().start() ... mailbox.stop()
        settings = ...(SMTP_URL=mailbox.url)
        [mail] = mailbox.wait_for(1)       # waits at most `timeout` seconds
        mailbox.text(mail), mailbox.links(mail, "/o/"), mailbox.to("ann@example.com")
"""
from __future__ import annotations

import re
import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"
START_ATTEMPTS = 3  # a probed free port can be taken by someone else before the server binds it


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


class Mailbox:
    """Messages an aiosmtpd server on 127.0.0.1 received, as parsed e-mails (oldest first)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._arrived = threading.Condition()
        self._controller: Controller | None = None
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> Mailbox:
        """Listen on a free loopback port (see `url`); returns self."""
        for attempt in range(START_ATTEMPTS):
            controller = Controller(self, hostname=HOST, port=_free_port())
            try:
                controller.start()
            except OSError:  # the port was taken meanwhile: the loop never ran, so close it and try another
                controller.loop.close()
                if attempt == START_ATTEMPTS - 1:
                    raise
                continue
            self._controller, self.port = controller, controller.port
            break
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Mailbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """SMTP_URL for this server: smtp://127.0.0.1:PORT."""
        return f"smtp://{HOST}:{self.port}"

    # -- the aiosmtpd handler ----------------------------------------------------------
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Keep the message before answering 250, so a sender that got its answer finds it here."""
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    # -- reading -----------------------------------------------------------------------
    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """Until at least `count` messages arrived, or `timeout` seconds passed; returns all of them."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.messages) >= count, timeout)
            return list(self.messages)

    def to(self, address: str) -> list[EmailMessage]:
        """The messages whose To header is `address`."""
        return [m for m in list(self.messages) if m["To"] == address]

    @staticmethod
    def text(message: EmailMessage) -> str:
        """The plain-text body ("" when the message has none)."""
        body = message.get_body(preferencelist=("plain",))
        return "" if body is None else str(body.get_content())

    @classmethod
    def links(cls, message: EmailMessage, path: str) -> list[str]:
        """The http(s) links in the plain-text body that contain `path` (e.g. "/o/" offers, "/f/" feedback)."""
        return re.findall(rf"https?://\S+{re.escape(path)}\S+", cls.text(message))
