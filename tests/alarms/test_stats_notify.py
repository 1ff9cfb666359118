"""False-alarm threshold -> work order, callback flags, the monthly summary, notifications."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from alarms import notify, stats
from alarms.engine import AlarmEngine
from alarms.models import Incident, Notification
from alarms.subscriber import CallTarget
from core.audit import Actor
from core.clock import FakeClock
from core.services import Services
from tests.alarms.conftest import FakeDirectory, sig
from tests.conftest import LoginFactory


async def close_all(services: Services, clock: FakeClock, disposition: str,
                    cause: str | None) -> None:
    async with services.db.transaction() as s:
        for inc in (await s.execute(select(Incident).where(Incident.status != "closed"))
                    ).scalars():
            inc.status, inc.disposition, inc.false_alarm_cause = "closed", disposition, cause
            inc.closed_at = clock.now()


async def test_false_alarm_threshold_raises_one_work_order_and_summary_counts(
        services: Services, engine: AlarmEngine, directory: FakeDirectory,
        clock: FakeClock, login: LoginFactory) -> None:
    info = directory.add("1234")
    directory.add("5678")
    directory.devices[info.id] = {"3": "PIR-200"}
    for n in range(3):
        await engine.handle_signals([sig(clock, "1234", "130", zone="003"),
                                     sig(clock, "5678", "130", zone="001")])
        await close_all(services, clock, "false_alarm", "device_fault" if n else "user_error")
        clock.advance(3600)
    await engine.handle_signals([sig(clock, "1234", "401"),
                                 sig(clock, "1234", "602")])
    sup = await login("supervisor")
    r = await sup.get("/api/alarm-stats/false-alarms", params={"by": "device_model"})
    assert r.json()["items"][0] == {"device_model": "PIR-200", "false_alarms": 3, "alarms": 3,
                                    "rate": 1.0, "causes": {"user_error": 1,
                                                            "device_fault": 2}}
    r = await sup.post("/api/alarm-stats/maintenance-run")
    raised = r.json()["work_orders"]
    assert {(w["account_id"], w["subject"]) for w in raised} == {
        (info.id, "false_alarms"), (info.id, "false_alarms:zone:3"),
        (info.id + 1, "false_alarms"), (info.id + 1, "false_alarms:zone:1")}
    assert "3 false alarms" in directory.work_orders[0]["details"]
    assert sorted(r.json()["callback_visits"]) == [info.id, info.id + 1]
    again = await sup.post("/api/alarm-stats/maintenance-run")
    assert again.json() == {"work_orders": [], "callback_visits": []}
    month = clock.now().strftime("%Y-%m")
    summary = (await sup.get(f"/api/alarm-stats/summary/{info.id}",
                             params={"month": month})).json()
    assert summary["alarms"] == 3 and summary["false_alarms"] == 3
    assert summary["openings"] == 1 and summary["tests"] == 1 and summary["signals"] == 5
    assert "3 alarms (3 false)" in stats.summary_text(summary)


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server() -> Any:
    import socket

    with socket.socket() as probe:  # aiosmtpd checks readiness by connecting to its port
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free)
    controller.start()
    yield controller, inbox
    controller.stop()


async def test_email_through_smtp_and_sms_through_http_gateway(
        services: Services, engine: AlarmEngine, directory: FakeDirectory, clock: FakeClock,
        login: LoginFactory, smtp_server: Any) -> None:
    controller, inbox = smtp_server
    port = controller.port
    posted: list[dict[str, Any]] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        import json

        posted.append(json.loads(request.content))
        return httpx.Response(500 if posted[-1]["to"].endswith("9") else 200)

    client = httpx.AsyncClient(transport=httpx.MockTransport(gateway))
    services.extra["alarms.senders"] = {
        "email": notify.SmtpSender("127.0.0.1", port, "center@example.com"),
        "sms": notify.HttpSmsSender("http://sms.example/send", "tok", client)}
    info = directory.add("1234")
    directory.calls[info.id] = [CallTarget(7, "Li Wei", ["+8613800000001", "+8613800000009"])]
    await engine.handle_signals([sig(clock, "1234", "130")])
    async with services.db.transaction() as s:
        n = await notify.send(s, services, Actor("ann", 1), channel="email",
                              to="owner@example.com", subject="Alarm", body="Zone 1")
    assert n.status == "sent"
    for _ in range(50):
        if inbox.messages:
            break
        await asyncio.sleep(0.02)
    assert inbox.messages[0].rcpt_tos == ["owner@example.com"]
    assert b"Zone 1" in inbox.messages[0].content
    agent = await login("agent")
    await agent.post("/api/incidents/1/take")
    r = await agent.post("/api/incidents/1/notify", json={
        "contact_id": 7, "template": "alarm", "language": "en"})
    assert r.status_code == 201 and r.json()["status"] == "sent", r.text
    assert posted[0]["to"] == "+8613800000001" and "account 1234" in posted[0]["text"]
    r = await agent.post("/api/incidents/1/notify", json={
        "contact_id": 7, "template": "alarm", "number": "+8613800000009"})
    assert r.json()["status"] == "failed" and "500" in r.json()["error"]
    assert "账户1234" in posted[1]["text"]
    async with services.db.session() as s:
        rows = (await s.execute(select(Notification))).scalars().all()
    assert [n.status for n in rows] == ["sent", "sent", "failed"]
    await client.aclose()


async def test_only_the_holder_notifies_only_the_incidents_contacts_from_templates(
        services: Services, engine: AlarmEngine, directory: FakeDirectory, clock: FakeClock,
        login: LoginFactory) -> None:
    info = directory.add("1234")
    directory.calls[info.id] = [CallTarget(None, "premises", ["+862100000001"]),
                                CallTarget(7, "Li Wei", ["+8613800000007"])]
    directory.add("5678")
    await engine.handle_signals([sig(clock, "1234", "130")])
    ann = await login("agent", "ann")
    ben = await login("agent", "ben")
    await ann.post("/api/incidents/1/take")
    ok = {"contact_id": 7, "template": "alarm"}
    assert (await ben.post("/api/incidents/1/notify", json=ok)).status_code == 409
    for body, field in (({"contact_id": 8, "template": "alarm"}, "contact_id"),
                        ({**ok, "number": "+8613999999999"}, "number"),
                        ({**ok, "template": "anything I like"}, "template"),
                        ({"contact_id": 7, "to": "+8613999999999", "body": "free text"},
                         "template")):
        r = await ann.post("/api/incidents/1/notify", json=body)
        assert r.status_code == 422, (body, r.text)
        assert field in {e.get("field") for e in r.json()["detail"]}, r.text
    sent = notify.senders_of(services)["sms"]
    assert isinstance(sent, notify.LoggingSender) and sent.sent == []
    r = await ann.post("/api/incidents/1/notify", json=ok)
    assert r.status_code == 201 and sent.sent[0].to == "+8613800000007"
    assert "1234" in sent.sent[0].body


async def test_the_logging_sender_writes_one_line(caplog: pytest.LogCaptureFixture) -> None:
    forged = "hi\n2026-12-05 03:00:00 CRITICAL vigil: receiver down\r\n"
    with caplog.at_level(logging.INFO, logger="alarms.notify"):
        await notify.LoggingSender("sms").send(notify.Message("+86\n1", "s\r", forged))
    [line] = [r.getMessage() for r in caplog.records]
    assert "\n" not in line and "\r" not in line and "\\n2026" in line


async def test_logging_sender_is_the_default(services: Services) -> None:
    senders = notify.senders_of(services)
    assert isinstance(senders["email"], notify.LoggingSender)
    async with services.db.transaction() as s:
        n = await notify.send(s, services, Actor("a", 1), channel="sms", to="+861",
                              subject="", body="hello")
    assert n.status == "sent"
    assert isinstance(senders["sms"], notify.LoggingSender) and senders["sms"].sent
