"""Issue 13, finding 2: a verification result or a dispatch of someone else's incident cannot be
changed (409, like every other incident action); supervisors may, as elsewhere. A refused result
checks no passcode (it cannot be used to probe codes or to raise a duress)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from alarms.engine import AlarmEngine
from alarms.subscriber import CallTarget
from core.clock import FakeClock
from core.models import AuditEntry
from core.services import Services
from tests.alarms.conftest import FakeDirectory
from tests.alarms.test_workflow import _call, cti_reports, open_incident
from tests.conftest import LoginFactory


async def test_another_agent_cannot_record_a_call_result_or_move_a_dispatch(
        services: Services, engine: AlarmEngine, directory: FakeDirectory, clock: FakeClock,
        login: LoginFactory) -> None:
    info = directory.add("1234")
    directory.calls[info.id] = [CallTarget(7, "Li Wei", ["+8613800000007"], True)]
    directory.codes[7] = ("1111", "9999")
    iid = await open_incident(engine, directory, clock)
    ann = await login("agent", "ann")
    ben = await login("agent", "ben")
    sup = await login("supervisor", "sue")
    assert (await ann.post(f"/api/incidents/{iid}/take")).status_code == 200
    call = await _call(ann, iid, next=True)
    guard = (await ann.post(f"/api/incidents/{iid}/dispatches", json={"kind": "guard"})).json()

    await cti_reports(engine, call["id"], "answered")
    r = await ben.post(f"/api/calls/{call['id']}/result", json={"code": "9999"})
    assert r.status_code == 409, r.text
    inc = (await ann.get(f"/api/incidents/{iid}")).json()
    assert not inc["duress"] and inc["calls"][0]["code_result"] is None
    r = await ben.patch(f"/api/dispatches/{guard['id']}", json={"status": "arrived"})
    assert r.status_code == 409, r.text
    assert (await ann.get(f"/api/incidents/{iid}")).json()["dispatches"][0]["status"] == \
        "dispatched"
    async with services.db.session() as s:
        actions = list((await s.execute(select(AuditEntry.actor).where(
            AuditEntry.actor == "ben", AuditEntry.action != "login"))).scalars())
    assert actions == []  # nothing ben tried reached the records (no code was checked)

    # The holder and a supervisor may.
    r = await ann.post(f"/api/calls/{call['id']}/result", json={"code": "1111"})
    assert r.status_code == 200 and r.json()["call"]["code_result"] == "valid"
    r = await sup.patch(f"/api/dispatches/{guard['id']}", json={"status": "arrived"})
    assert r.status_code == 200 and r.json()["status"] == "arrived"


async def test_untaken_incident_results_need_the_incident_taken(
        services: Services, engine: AlarmEngine, directory: FakeDirectory, clock: FakeClock,
        login: LoginFactory) -> None:
    iid = await open_incident(engine, directory, clock)
    ann = await login("agent", "ann")
    ben = await login("agent", "ben")
    await ann.post(f"/api/incidents/{iid}/take")
    call = await _call(ann, iid, number="+8613800000001")
    assert (await ann.post(f"/api/incidents/{iid}/release")).status_code == 200
    await cti_reports(engine, call["id"], "answered")
    r = await ben.post(f"/api/calls/{call['id']}/result", json={"note": "spoke to him"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "take_first"


async def test_a_locked_passcode_check_answers_429_on_the_call_result(
        services: Services, engine: AlarmEngine, directory: FakeDirectory, clock: FakeClock,
        login: LoginFactory, monkeypatch: Any) -> None:
    from crm.errors import CodeLocked

    info = directory.add("1234")
    directory.calls[info.id] = [CallTarget(7, "Li Wei", ["+8613800000007"], True)]

    async def locked(contact_id: int, code: str, actor: Any) -> str:
        raise CodeLocked("contact", 600)

    monkeypatch.setattr(directory, "verify_code", locked)
    iid = await open_incident(engine, directory, clock)
    ann = await login("agent", "ann")
    await ann.post(f"/api/incidents/{iid}/take")
    call = await _call(ann, iid, next=True)
    await cti_reports(engine, call["id"], "answered")
    r = await ann.post(f"/api/calls/{call['id']}/result", json={"code": "9999"})
    assert r.status_code == 429 and r.headers["retry-after"] == "600"
    assert (await ann.get(f"/api/incidents/{iid}")).json()["calls"][0]["code_result"] is None
