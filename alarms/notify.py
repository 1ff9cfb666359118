"""SMS and e-mail notifications through pluggable senders.

Operators send them from templates (:mod:`alarms.notify_templates`) to the contacts of an
incident they hold (``POST /api/incidents/{id}/notify``), never free text to any number.

The default senders only log (a demo must not mail anyone); configure ``VIGIL_ALARMS_SMTP_HOST``
for e-mail over SMTP and ``VIGIL_ALARMS_SMS_GATEWAY_URL`` for an HTTP SMS gateway that takes
``{"to": ..., "text": ...}`` as JSON. Every message is stored with its outcome and audited.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from alarms.config import AlarmSettings
from alarms.models import Notification
from alarms.notify_templates import one_line
from core import audit
from core.services import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Message:
    to: str
    subject: str
    body: str


class Sender(Protocol):
    async def send(self, message: Message) -> None:
        """Deliver or raise; the caller records the outcome."""


class LoggingSender:
    """Writes the message to the log: the default, and what demos use."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.sent: list[Message] = []

    async def send(self, message: Message) -> None:
        self.sent.append(message)
        log.info("%s to %s: %s %s", self.channel, one_line(message.to),
                 one_line(message.subject), one_line(message.body))


class SmtpSender:
    """E-mail over SMTP with the standard library, run in a worker thread."""

    def __init__(self, host: str, port: int, sender: str, timeout: float = 10.0) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout

    def _send(self, message: Message) -> None:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = message.to
        msg["Subject"] = message.subject
        msg.set_content(message.body)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(msg)

    async def send(self, message: Message) -> None:
        await asyncio.to_thread(self._send, message)


class HttpSmsSender:
    """An SMS gateway that accepts a JSON POST; any non-2xx answer is a failure."""

    def __init__(self, url: str, token: str | None = None,
                 client: httpx.AsyncClient | None = None) -> None:
        self.url, self.token, self.client = url, token, client

    async def send(self, message: Message) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        payload = {"to": message.to, "text": message.body}
        if self.client is not None:
            r = await self.client.post(self.url, json=payload, headers=headers)
        else:
            async with httpx.AsyncClient(timeout=10.0) as c:
                r = await c.post(self.url, json=payload, headers=headers)
        r.raise_for_status()


def senders_of(services: Services) -> dict[str, Sender]:
    """The configured senders (``services.extra["alarms.senders"]`` wins, for tests)."""
    found = services.extra.get("alarms.senders")
    if found is not None:
        senders: dict[str, Sender] = found
        return senders
    st = AlarmSettings()
    built: dict[str, Sender] = {
        "email": SmtpSender(st.smtp_host, st.smtp_port, st.smtp_sender) if st.smtp_host
        else LoggingSender("email"),
        "sms": HttpSmsSender(st.sms_gateway_url, st.sms_gateway_token) if st.sms_gateway_url
        else LoggingSender("sms"),
    }
    services.extra["alarms.senders"] = built
    return built


def notification_dict(n: Notification) -> dict[str, Any]:
    return {"id": n.id, "incident_id": n.incident_id, "account_id": n.account_id,
            "channel": n.channel, "to": n.to, "subject": n.subject, "body": n.body,
            "status": n.status, "error": n.error, "at": n.at.isoformat()}


async def send(session: AsyncSession, services: Services, actor: audit.Actor, *, channel: str,
               to: str, subject: str, body: str, incident_id: int | None = None,
               account_id: int | None = None) -> Notification:
    """Send through the channel's sender and record it (sent or failed, with the error)."""
    sender = senders_of(services)[channel]
    status, error = "sent", None
    try:
        await sender.send(Message(to, subject, body))
    except Exception as exc:  # any transport failure is recorded, not raised to the operator
        status, error = "failed", f"{type(exc).__name__}: {exc}"
        log.warning("%s to %s failed: %s", channel, to, error)
    n = Notification(incident_id=incident_id, account_id=account_id, channel=channel, to=to,
                     subject=subject, body=body, status=status, error=error,
                     at=services.clock.now())
    session.add(n)
    await session.flush()
    audit.record(session, actor, "notify", "incident" if incident_id else "alarm_account",
                 incident_id or account_id or 0, None, {"channel": channel, "to": to,
                                                         "status": status},
                 clock=services.clock)
    return n
