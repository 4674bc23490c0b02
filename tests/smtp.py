"""A real SMTP server (aiosmtpd) on a free local port, for the tests that send e-mail."""

from __future__ import annotations

import email
import socket
import threading
from email.message import EmailMessage
from email.policy import default as default_policy

from aiosmtpd.controller import Controller


class Collector:
    def __init__(self) -> None:
        self.envelopes: list = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        with self.lock:
            self.envelopes.append(envelope)
        return "250 Message accepted"


class SmtpServer:
    """An SMTP server on a free local port, started only when a test asks for it."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.collector = Collector()
        self.controller: Controller | None = None

    @property
    def envelopes(self) -> list:
        return self.collector.envelopes

    def start(self) -> SmtpServer:
        self.controller = Controller(self.collector, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def messages(self) -> list[EmailMessage]:
        return [email.message_from_bytes(e.content, policy=default_policy)
                for e in self.envelopes]
