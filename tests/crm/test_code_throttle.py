"""Issue 13, finding 3: a contact's passcode and duress code cannot be brute-forced through
``POST /api/contacts/{id}/verify-code`` (300 guesses in 13 s used to find them): wrong codes are
throttled per contact and per operator like the IVR's PIN lock, the lock is audited and the
supervisors are alerted."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from core.clock import FakeClock
from core.models import AuditEntry
from core.services import Services
from tests.crm.test_api import new_account


async def contact(admin: httpx.AsyncClient, number: str, name: str = "王芳") -> int:
    account = await new_account(admin, number)
    r = await admin.post(f"/api/accounts/{account}/contacts", json={
        "name": name, "role": "owner", "passcode": "2580", "duress_code": "9111"})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def verify(c: httpx.AsyncClient, contact_id: int, code: str) -> httpx.Response:
    return await c.post(f"/api/contacts/{contact_id}/verify-code", json={"code": code})


async def test_guessing_one_contacts_code_locks_its_checks_and_alerts(
        login: Any, services: Services, clock: FakeClock) -> None:
    admin = await login("admin")
    agent = await login("agent", "ann")
    other = await login("agent", "ben")
    owner = await contact(admin, "0042")
    alerts = services.bus.subscribe("security.alert")
    answers = [(await verify(agent, owner, f"{n:04d}")).json()["result"] for n in range(5)]
    assert answers == ["invalid"] * 5
    # Locked: neither the passcode nor the duress code can be found by going on guessing,
    # by this operator or any other.
    for c, code in ((agent, "2580"), (other, "9111"), (agent, "0005")):
        r = await verify(c, owner, code)
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0, r.text
    alert = (await alerts.get(within=1)).data
    assert alert["kind"] == "code_locked" and alert["contact_id"] == owner
    assert alert["operator"] == "ann" and alert["scope"] == "contact"
    async with services.db.session() as s:
        entries = list((await s.execute(select(AuditEntry).where(
            AuditEntry.entity == "contact", AuditEntry.entity_id == str(owner))
            .order_by(AuditEntry.id))).scalars())
    assert [e.note for e in entries if e.action == "verify_code"] == ["invalid"] * 5
    assert [e.actor for e in entries if e.action == "code_lockout"] == ["ann"]
    clock.advance(15 * 60 + 1)
    assert (await verify(other, owner, "2580")).json()["result"] == "valid"


async def test_one_operator_guessing_across_contacts_is_stopped(
        login: Any, clock: FakeClock) -> None:
    admin = await login("admin")
    agent = await login("agent", "ann")
    other = await login("agent", "ben")
    contacts = [await contact(admin, f"10{i:02d}") for i in range(4)]
    for cid in contacts[:3]:  # 3 x 3 wrong: no contact reaches 5, the operator reaches 9
        for n in range(3):
            assert (await verify(agent, cid, f"7{n:03d}")).status_code == 200
    assert (await verify(agent, contacts[3], "0000")).json()["result"] == "invalid"  # 10th
    r = await verify(agent, contacts[3], "2580")
    assert r.status_code == 429 and "operator" in r.json()["detail"]
    assert (await verify(other, contacts[3], "2580")).json()["result"] == "valid"


async def test_a_right_code_resets_the_contacts_count(login: Any) -> None:
    admin = await login("admin")
    agent = await login("agent", "ann")
    owner = await contact(admin, "0077")
    for _ in range(2):
        for n in range(4):
            assert (await verify(agent, owner, f"5{n:03d}")).json()["result"] == "invalid"
        assert (await verify(agent, owner, "2580")).json()["result"] == "valid"
