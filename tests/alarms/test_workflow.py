"""Operator workflow over the API: take (and the race for it), release, hand-over, close with a
disposition, re-open; verification calls, duress, ECV; dispatch with its AVS-01 score."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import select

from alarms import incidents
from alarms.engine import AlarmEngine
from alarms.subscriber import CallTarget
from core.audit import Actor
from core.bus import Event
from core.clock import FakeClock
from core.db import Database
from core.models import AuditEntry
from core.services import Services
from tests.alarms.conftest import FakeDirectory, sig
from tests.conftest import LoginFactory, ensure_user


async def open_incident(engine: AlarmEngine, directory: FakeDirectory, clock: FakeClock,
                        number: str = "1234", code: str = "130") -> int:
    if number not in directory.accounts:
        directory.add(number)
    await engine.handle_signals([sig(clock, number, code)])
    async with engine.db.session() as s:
        inc = (await s.execute(select(incidents.Incident).where(
            incidents.Incident.account_number == number))).scalars().first()
    assert inc is not None
    return inc.id


async def test_two_operators_racing_to_take_one_incident(
        services: Services, engine: AlarmEngine, directory: FakeDirectory,
        clock: FakeClock, db_url: str) -> None:
    # Two engines on the same database stand for two Vigil nodes (two processes).
    iid = await open_incident(engine, directory, clock)
    a = await ensure_user(services, "ann", "agent")
    b = await ensure_user(services, "ben", "agent")
    dbs = [Database(db_url), Database(db_url)]

    async def attempt(db: Database, actor: Actor) -> str:
        try:
            async with db.transaction() as s:
                await incidents.take(s, clock, actor, iid, incidents.Outbox())
            return actor.name
        except incidents.Conflict:
            return "lost"

    try:
        for _ in range(3):
            results = await asyncio.gather(attempt(dbs[0], Actor("ann", a)),
                                           attempt(dbs[1], Actor("ben", b)))
            assert sorted(results)[0] in ("ann", "ben") and results.count("lost") == 1
            winner = next(r for r in results if r != "lost")
            async with services.db.transaction() as s:
                await incidents.release(s, clock, Actor(winner, a if winner == "ann" else b),
                                        iid, incidents.Outbox())
    finally:
        for db in dbs:
            await db.dispose()
    async with services.db.session() as s:
        takes = (await s.execute(select(AuditEntry).where(
            AuditEntry.entity == "incident", AuditEntry.action == "take"))).scalars().all()
    assert len(takes) == 3 and all(t.after and t.after["taken_by_name"] == t.actor
                                   for t in takes)


async def test_take_over_http_second_operator_gets_409(
        services: Services, engine: AlarmEngine, directory: FakeDirectory, clock: FakeClock,
        login: LoginFactory) -> None:
    iid = await open_incident(engine, directory, clock)
    ann = await login("agent", "ann")
    ben = await login("agent", "ben")
    r1, r2 = await asyncio.gather(ann.post(f"/api/incidents/{iid}/take"),
                                  ben.post(f"/api/incidents/{iid}/take"))
    assert sorted([r1.status_code, r2.status_code]) == [200, 409]
    winner, loser = (ann, ben) if r1.status_code == 200 else (ben, ann)
    assert (await loser.post(f"/api/incidents/{iid}/close",
                             json={"disposition": "test"})).status_code == 409


async def test_workflow_records_times_dispositions_and_audits_the_operator(
        services: Services, engine: AlarmEngine, directory: FakeDirectory, clock: FakeClock,
        login: LoginFactory) -> None:
    iid = await open_incident(engine, directory, clock)
    ann = await login("agent", "ann")
    ben = await login("agent", "ben")
    sub = services.bus.subscribe("incident.*")
    clock.advance(5)
    assert (await ann.post(f"/api/incidents/{iid}/shown")).json()["shown_at"]
    clock.advance(5)
    taken = (await ann.post(f"/api/incidents/{iid}/take")).json()
    assert taken["status"] == "taken" and taken["taken_by_name"] == "ann"
    ben_id = (await ben.get("/api/auth/me")).json()["user"]["id"]
    r = await ann.post(f"/api/incidents/{iid}/hand-over", json={"user_id": ben_id})
    assert r.json()["taken_by_name"] == "ben"
    r = await ben.post(f"/api/incidents/{iid}/close", json={"disposition": "false_alarm"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "cause_needed"
    r = await ben.post(f"/api/incidents/{iid}/close",
                       json={"disposition": "false_alarm", "cause": "user_error"})
    assert r.status_code == 200 and r.json()["status"] == "closed" and r.json()["closed_at"]
    r = await ann.post(f"/api/incidents/{iid}/reopen", json={"note": "keyholder called back"})
    assert r.json()["status"] == "new" and r.json()["reopen_count"] == 1
    assert (await ann.post(f"/api/incidents/{iid}/take")).status_code == 200
    r = await ann.post(f"/api/incidents/{iid}/release")
    assert r.json()["status"] == "new" and r.json()["taken_by"] is None
    topics = []
    while (ev := sub.get_nowait()) is not None:
        topics.append(ev.topic)
    assert topics == ["incident.updated", "incident.taken", "incident.handed_over",
                      "incident.closed", "incident.reopened", "incident.taken",
                      "incident.released"]
    async with services.db.session() as s:
        entries = (await s.execute(select(AuditEntry).where(
            AuditEntry.entity == "incident", AuditEntry.entity_id == str(iid))
            .order_by(AuditEntry.id))).scalars().all()
    assert [(e.action, e.actor) for e in entries] == [
        ("open", "system:alarms"), ("take", "ann"), ("hand_over", "ann"), ("close", "ben"),
        ("reopen", "ann"), ("take", "ann"), ("release", "ann")]
    assert entries[3].before and entries[3].before["status"] == "taken"
    assert entries[3].after and entries[3].after["disposition"] == "false_alarm"
    listed = (await ann.get("/api/incidents")).json()
    assert [i["id"] for i in listed["items"]] == [iid]


async def _call(client: httpx.AsyncClient, iid: int, **body: Any) -> dict[str, Any]:
    r = await client.post(f"/api/incidents/{iid}/calls", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def cti_reports(engine: AlarmEngine, call_id: int, result: str,
                      cause: str | None = None) -> None:
    """What the CTI publishes when the call is over (``verification.call_result``): the
    outcome comes from the call, never from the operator."""
    await engine.handle_events([Event("verification.call_result", {
        "call_id": call_id, "result": result, "cause": cause, "cti_call_id": f"verif-{call_id}",
        "talk_seconds": 12.0 if result == "answered" else None})])


async def test_verification_calls_follow_the_call_list_and_duress_escalates_silently(
        services: Services, engine: AlarmEngine, directory: FakeDirectory, clock: FakeClock,
        login: LoginFactory) -> None:
    info = directory.add("1234")
    directory.calls[info.id] = [CallTarget(None, "premises", ["+862100000001"]),
                                CallTarget(7, "Li Wei", ["+8613800000007"], True)]
    directory.codes[7] = ("1111", "9999")
    iid = await open_incident(engine, directory, clock)
    ann = await login("agent", "ann")
    await ann.post(f"/api/incidents/{iid}/take")
    sub = services.bus.subscribe("verification.call_requested")
    first = await _call(ann, iid, next=True)
    assert first["number"] == "+862100000001" and first["contact_id"] is None
    req = (await sub.get(within=1)).data
    assert req["incident_id"] == iid and req["number"] == "+862100000001"
    assert req["operator"] == "ann" and req["contact_name"] == "premises"
    await cti_reports(engine, first["id"], "no_answer")
    inc = (await ann.get(f"/api/incidents/{iid}")).json()
    assert inc["status"] == "verifying" and inc["calls"][0]["result"] == "no_answer"
    # nobody answered: nobody to check a passcode with, whatever the operator types
    r = await ann.post(f"/api/calls/{first['id']}/result", json={"code": "1111"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "call_not_answered"
    second = await _call(ann, iid, next=True)
    assert second["contact_id"] == 7 and second["contact_name"] == "Li Wei"
    await cti_reports(engine, second["id"], "answered")
    r = await ann.post(f"/api/calls/{second['id']}/result",
                       json={"code": "9999", "answered_by": "Li Wei"})
    body = r.json()
    assert body["say_to_caller"] == "accepted"  # same answer as for the real passcode
    inc = body["incident"]
    assert inc["duress"] and inc["priority"] == 1
    assert inc["steps"][0]["step"] == "notify_police"
    assert body["call"]["code_result"] == "duress"
    r = await ann.post(f"/api/incidents/{iid}/calls", json={"next": True})
    assert r.status_code == 409  # the call list is exhausted


async def test_ecv_needs_two_calls_to_two_numbers_before_police(
        services: Services, engine: AlarmEngine, directory: FakeDirectory, clock: FakeClock,
        login: LoginFactory) -> None:
    iid = await open_incident(engine, directory, clock)
    ann = await login("agent", "ann")
    await ann.post(f"/api/incidents/{iid}/take")
    steps = (await ann.get(f"/api/incidents/{iid}")).json()["steps"]
    police = next(i for i, s in enumerate(steps) if s["step"] == "notify_police")
    ecv = next(i for i, s in enumerate(steps) if s["step"] == "ecv")
    r = await ann.post(f"/api/incidents/{iid}/steps/{police}")
    assert r.status_code == 409 and r.json()["detail"]["code"] == "ecv_needs_two_calls"
    c1 = await _call(ann, iid, number="+8613800000001", contact_name="owner")
    await cti_reports(engine, c1["id"], "no_answer")
    c2 = await _call(ann, iid, number="+8613800000001", contact_name="owner")
    await cti_reports(engine, c2["id"], "busy")
    assert (await ann.post(f"/api/incidents/{iid}/steps/{ecv}")).status_code == 409
    c3 = await _call(ann, iid, number="+8613800000002", contact_name="keyholder")
    assert (await ann.post(f"/api/incidents/{iid}/steps/{ecv}")).status_code == 409
    await cti_reports(engine, c3["id"], "no_answer")
    assert (await ann.post(f"/api/incidents/{iid}/steps/{ecv}")).status_code == 200
    r = await ann.post(f"/api/incidents/{iid}/steps/{police}", json={"note": "110 called"})
    assert r.status_code == 200
    done = r.json()["steps"][police]
    assert done["done"] and done["done_by"] == "ann" and done["note"] == "110 called"


async def test_dispatch_records_times_and_avs01_score(
        services: Services, engine: AlarmEngine, directory: FakeDirectory, clock: FakeClock,
        login: LoginFactory) -> None:
    iid = await open_incident(engine, directory, clock)
    ann = await login("agent", "ann")
    await ann.post(f"/api/incidents/{iid}/take")
    c = await _call(ann, iid, number="+8613800000001")
    await cti_reports(engine, c["id"], "no_answer")
    r = await ann.post(f"/api/incidents/{iid}/dispatches", json={"kind": "guard"})
    guard = r.json()
    assert r.status_code == 201 and guard["avs_score"] == 1
    assert guard["avs_reasons"] == ["no_contact"]
    r = await ann.post(f"/api/incidents/{iid}/dispatches",
                       json={"kind": "police", "audio_video": True})
    assert r.json()["avs_score"] == 2
    clock.advance(600)
    r = await ann.patch(f"/api/dispatches/{guard['id']}", json={"status": "arrived"})
    assert r.json()["arrived_at"] == clock.now().isoformat()
    clock.advance(300)
    r = await ann.patch(f"/api/dispatches/{guard['id']}", json={"status": "cleared"})
    assert r.json()["cleared_at"] == clock.now().isoformat()
    assert (await ann.patch(f"/api/dispatches/{guard['id']}",
                            json={"status": "arrived"})).status_code == 409
    inc = (await ann.get(f"/api/incidents/{iid}")).json()
    assert inc["status"] == "dispatched" and inc["dispatched_at"]
    assert [d["kind"] for d in inc["dispatches"]] == ["guard", "police"]
    active = (await ann.get("/api/dispatches")).json()["items"]
    assert [d["kind"] for d in active] == ["police"]
