"""The receivers API: signal lists with filters and paging, role checks, DC-09 keys that are
never shown back, receiver endpoints, and the audit trail of every change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from core import event_codes
from core.models import AuditEntry
from core.services import Services
from receivers.journal import SignalJournal
from receivers.signal import Signal
from tests.conftest import LoginFactory

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
TEXT_KEY = "SecretPanelKey16"


def sig(seq: int, account: str, code: str, qualifier: str = "new", minutes: int = 0) -> Signal:
    return Signal(received_at=T0 + timedelta(minutes=minutes), receiver="ip1", line="L0",
                  protocol="dc09", account=account, event_code=code, event_system="cid",
                  qualifier=qualifier, zone="001", sequence=f"{seq:04d}", raw=b"\nx\r")


async def seed(services: Services) -> None:
    journal = SignalJournal(services.db, None, services.clock)
    await journal.store([
        sig(1, "1234", "130", minutes=0),        # burglary
        sig(2, "1234", "130", "restore", 1),     # its restore
        sig(3, "1234", "602", minutes=2),        # test
        sig(4, "5678", "110", minutes=3),        # fire
        sig(5, "5678", "401", "restore", 4),     # closing
    ])
    await journal.close()


async def test_agents_read_signals_with_filters_and_paging(
    services: Services, login: LoginFactory, client: httpx.AsyncClient
) -> None:
    await seed(services)
    assert (await client.get("/api/signals")).status_code == 401
    agent = await login("agent")
    page = (await agent.get("/api/signals")).json()
    assert [s["sequence"] for s in page["items"]] == ["0005", "0004", "0003", "0002", "0001"]
    assert page["next_before_id"] is None
    fire = page["items"][1]
    assert (fire["event_class"], fire["priority"]) == ("alarm", 1)
    assert (fire["name_en"], fire["name_zh"]) == (event_codes.lookup("cid", "110").en,
                                                  event_codes.lookup("cid", "110").zh)
    assert fire["raw"] == b"\nx\r".hex()

    async def seqs(**params: Any) -> list[str]:
        r = await agent.get("/api/signals", params=params)
        assert r.status_code == 200, r.text
        return [s["sequence"] for s in r.json()["items"]]

    assert await seqs(account="1234") == ["0003", "0002", "0001"]
    assert await seqs(**{"class": "alarm"}) == ["0004", "0001"]
    assert await seqs(**{"class": "restore", "account": "1234"}) == ["0002"]
    assert await seqs(since=(T0 + timedelta(minutes=2)).isoformat(),
                      until=(T0 + timedelta(minutes=4)).isoformat()) == ["0004", "0003"]
    first = (await agent.get("/api/signals", params={"limit": 2})).json()
    assert [s["sequence"] for s in first["items"]] == ["0005", "0004"]
    assert await seqs(limit=2, before_id=first["next_before_id"]) == ["0003", "0002"]
    assert await seqs(limit=2, offset=4) == ["0001"]
    naive = await agent.get("/api/signals", params={"since": "2026-03-01T08:00:00"})
    assert naive.status_code == 422

    recent = (await agent.get("/api/accounts/5678/signals", params={"limit": 1})).json()
    assert [s["event_code"] for s in recent] == ["401"]
    one = (await agent.get(f"/api/signals/{fire['id']}")).json()
    assert one["account"] == "5678"
    assert (await agent.get("/api/signals/999999")).status_code == 404


async def audit_rows(services: Services, entity: str) -> list[AuditEntry]:
    async with services.db.session() as s:
        return list((await s.execute(select(AuditEntry).where(AuditEntry.entity == entity)
                                     .order_by(AuditEntry.id))).scalars())


async def test_keys_are_admin_only_never_shown_and_audited(
    services: Services, login: LoginFactory
) -> None:
    agent = await login("agent")
    supervisor = await login("supervisor")
    admin = await login("admin")
    body = {"account": "12ab", "kind": "text", "value": TEXT_KEY, "note": "shop"}
    for other in (agent, supervisor):
        assert (await other.post("/api/receivers/dc09-keys", json=body)).status_code == 403
        assert (await other.get("/api/receivers/dc09-keys")).status_code == 403
    with services.bus.subscribe("receivers.config_changed") as sub:
        r = await admin.post("/api/receivers/dc09-keys", json=body)
        assert r.status_code == 201, r.text
        assert (await sub.get(within=1)).data == {"what": "dc09_keys"}
    created = r.json()
    assert (created["account"], created["kind"], created["bits"]) == ("12AB", "text", 128)
    listed = (await admin.get("/api/receivers/dc09-keys")).text
    assert TEXT_KEY not in r.text and TEXT_KEY not in listed
    assert created["fingerprint"] in listed
    again = await admin.post("/api/receivers/dc09-keys", json=body)
    assert again.status_code == 409
    bad = await admin.post("/api/receivers/dc09-keys", json={**body, "kind": "hex"})
    assert bad.status_code == 422  # a 16-character text is not 32 hex digits

    new_hex = "00112233445566778899AABBCCDDEEFF0011223344556677"
    r = await admin.put(f"/api/receivers/dc09-keys/{created['id']}",
                        json={"kind": "hex", "value": new_hex})
    assert r.status_code == 200 and r.json()["bits"] == 192
    assert r.json()["fingerprint"] != created["fingerprint"]
    r = await admin.delete(f"/api/receivers/dc09-keys/{created['id']}")
    assert r.json()["archived"] is True
    assert (await admin.get("/api/receivers/dc09-keys")).json() == []
    assert len((await admin.get("/api/receivers/dc09-keys",
                                params={"include_archived": True})).json()) == 1

    entries = await audit_rows(services, "dc09_key")
    assert [(e.action, e.actor) for e in entries] == [
        ("create", "admin"), ("update", "admin"), ("archive", "admin")]
    trail = " ".join(str(e.before) + str(e.after) for e in entries)
    assert TEXT_KEY not in trail and new_hex not in trail


async def test_receiver_endpoints_crud(services: Services, login: LoginFactory) -> None:
    admin = await login("admin")
    agent = await login("agent")
    assert (await agent.get("/api/receivers")).status_code == 403
    listed = (await admin.get("/api/receivers")).json()
    assert listed[0]["source"] == "settings" and listed[0]["kind"] == "dc09"
    assert listed[0]["port"] == services.settings.dc09_port
    line = {"name": "mlr2-a", "kind": "surgard", "transport": "serial",
            "device": "/dev/ttyUSB0", "heartbeat_timeout": 90}
    r = await admin.post("/api/receivers", json=line)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert (await admin.post("/api/receivers", json=line)).status_code == 409
    no_port = {"name": "ip2", "kind": "dc09", "transport": "tcp"}
    assert (await admin.post("/api/receivers", json=no_port)).status_code == 422
    serial_dc09 = {**no_port, "transport": "serial", "device": "/dev/x"}
    assert (await admin.post("/api/receivers", json=serial_dc09)).status_code == 422
    r = await admin.patch(f"/api/receivers/{rid}", json={"enabled": False})
    assert r.json()["enabled"] is False
    assert (await admin.patch(f"/api/receivers/{rid}", json={"device": None})).status_code == 422
    await admin.delete(f"/api/receivers/{rid}")
    names = [e["name"] for e in (await admin.get("/api/receivers")).json()]
    assert "mlr2-a" not in names
    entries = await audit_rows(services, "receiver_endpoint")
    assert [e.action for e in entries] == ["create", "update", "archive"]
    assert entries[1].before == {"enabled": True} and entries[1].after == {"enabled": False}
