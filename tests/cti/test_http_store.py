"""Stored call records through /api/calls and /api/stats/calls, with role checks; the CLI import."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cti.cli import _store
from cti.queue_log import import_file
from cti.replay import replay_file
from cti.store import CallFilter, list_records, store_many
from tests.conftest import LoginFactory


async def _store_captures(services: Any, captures: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for name in ("queue_answered", "queue_abandoned", "originate_verification",
                 "supervisor_whisper"):
        records += replay_file(captures / f"{name}.ami")["records"]
    async with services.db.transaction() as s:
        assert await store_many(s, services.clock, records, "ami") == len(records)
        assert await store_many(s, services.clock, records, "ami") == 0  # idempotent
    return records


async def test_calls_api_filters_and_roles(services: Any, login: LoginFactory,
                                           captures: Path) -> None:
    records = await _store_captures(services, captures)
    agent = await login("agent")
    r = await agent.get("/api/calls")
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == len(records)
    started = [item["started_at"] for item in body["items"]]
    assert started == sorted(started, reverse=True)
    r = await agent.get("/api/calls", params={"number": "13800000001"})
    [answered] = r.json()["items"]
    assert (answered["agent"], answered["wait_seconds"], answered["talk_seconds"]) == (
        "Alice", 2, 6)
    r = await agent.get("/api/calls", params={"outcome": "abandoned", "queue": "support"})
    assert [i["caller_number"] for i in r.json()["items"]] == ["+8613800000003"]
    r = await agent.get("/api/calls", params={"direction": "outbound"})
    assert [i["incident_id"] for i in r.json()["items"]] == ["42"]
    r = await agent.get("/api/calls", params={"limit": 1, "offset": 1})
    assert len(r.json()["items"]) == 1 and r.json()["total"] == len(records)
    r = await agent.get("/api/calls", params={"since": "2100-01-01T00:00:00Z"})
    assert r.json()["total"] == 0
    whisper = next(i for i in body["items"] if i["spy_sessions"])
    r = await agent.get(f"/api/calls/{whisper['id']}")
    assert [s["mode"] for s in r.json()["spy_sessions_stored"]] == ["whisper"]
    assert (await agent.get("/api/calls/999999")).status_code == 404
    # statistics are for supervisors
    assert (await agent.get("/api/stats/calls")).status_code == 403
    sup = await login("supervisor")
    r = await sup.get("/api/stats/calls", params={"group": "queue"})
    support = r.json()["groups"]["support"]
    queued = [rec for rec in records if rec["queue"] == "support"]
    assert support["offered"] == len(queued)
    assert support["answered"] == sum(1 for rec in queued if rec["outcome"] == "answered")
    # live views need the CTI part: not running in this app
    assert (await sup.get("/api/queues/live")).status_code == 503


async def test_import_queue_log_stores_once(db_url: str, services: Any, captures: Path) -> None:
    imported = import_file(str(captures / "queue_log.sample"))
    first = await _store(db_url, imported.records, imported.sessions, "queue_log")
    again = await _store(db_url, imported.records, imported.sessions, "queue_log")
    assert first["records_stored"] == len(imported.records) > 0
    assert again == {"records_stored": 0, "sessions_stored": 0}
    async with services.db.session() as s:
        rows, total = await list_records(s, CallFilter(outcome="transferred_blind"))
    assert total == 1 and rows[0].source == "queue_log"
    assert rows[0].data["transfer"]["to"] == "1002"


async def test_roles_are_checked_before_telling_whether_the_cti_runs(login: Any) -> None:
    agent = await login("agent")
    assert (await agent.get("/api/cti/agents")).status_code == 403
    assert (await agent.get("/api/cti/queues")).status_code == 403
    sup = await login("supervisor")
    assert (await sup.get("/api/cti/agents")).status_code == 503  # no CTI in this test app
