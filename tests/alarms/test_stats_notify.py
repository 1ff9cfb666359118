"""False-alarm threshold -> work order, callback flags, the monthly summary, notifications."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from alarms import notify, stats
from alarms.engine import AlarmEngine
from alarms.models import Incident, Notification
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
        return httpx.Response(500 if "fail" in posted[-1]["to"] else 200)

    client = httpx.AsyncClient(transport=httpx.MockTransport(gateway))
    services.extra["alarms.senders"] = {
        "email": notify.SmtpSender("127.0.0.1", port, "center@example.com"),
        "sms": notify.HttpSmsSender("http://sms.example/send", "tok", client)}
    directory.add("1234")
    await engine.handle_signals([sig(clock, "1234", "130")])
    agent = await login("agent")
    r = await agent.post("/api/incidents/1/notify", json={
        "channel": "email", "to": "owner@example.com", "subject": "Alarm", "body": "Zone 1"})
    assert r.status_code == 201 and r.json()["status"] == "sent"
    for _ in range(50):
        if inbox.messages:
            break
        await asyncio.sleep(0.02)
    assert inbox.messages[0].rcpt_tos == ["owner@example.com"]
    assert b"Zone 1" in inbox.messages[0].content
    r = await agent.post("/api/incidents/1/notify", json={
        "channel": "sms", "to": "+8613800000001", "body": "Alarm at shop"})
    assert r.json()["status"] == "sent" and posted[0] == {"to": "+8613800000001",
                                                          "text": "Alarm at shop"}
    r = await agent.post("/api/incidents/1/notify", json={
        "channel": "sms", "to": "fail-number", "body": "x"})
    assert r.json()["status"] == "failed" and "500" in r.json()["error"]
    async with services.db.session() as s:
        rows = (await s.execute(select(Notification))).scalars().all()
    assert [n.status for n in rows] == ["sent", "sent", "failed"]
    await client.aclose()


async def test_logging_sender_is_the_default(services: Services) -> None:
    senders = notify.senders_of(services)
    assert isinstance(senders["email"], notify.LoggingSender)
    async with services.db.transaction() as s:
        n = await notify.send(s, services, Actor("a", 1), channel="sms", to="+861",
                              subject="", body="hello")
    assert n.status == "sent"
    assert isinstance(senders["sms"], notify.LoggingSender) and senders["sms"].sent
