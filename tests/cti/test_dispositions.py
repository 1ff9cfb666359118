"""Dispositions on stored call records: set by call id (now or before the record exists), through
/api/calls and /api/calls/{id}, audited."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from core.audit import Actor
from core.models import AuditEntry
from cti.dispositions import apply_pending, dispose
from cti.models import PendingDisposition
from cti.replay import replay_file
from cti.store import store_many
from tests.conftest import LoginFactory, ensure_user


async def test_calls_api_returns_the_disposition(services: Any, login: LoginFactory,
                                                 captures: Path) -> None:
    answered = replay_file(captures / "queue_answered.ami")["records"]
    abandoned = replay_file(captures / "queue_abandoned.ami")["records"]
    async with services.db.transaction() as s:
        await store_many(s, services.clock, answered, "ami")
    agent = await login("agent")
    user_id = await ensure_user(services, "agent", "agent")
    actor = Actor("agent", user_id)
    now = await dispose(services.db, services.clock, actor, answered[0]["call_id"],
                        "alarm_cancel", "customer gave the passcode")
    assert now["pending"] is False and now["record_id"] is not None
    # picked before the record is stored: kept, then applied when the record comes
    early = await dispose(services.db, services.clock, actor, abandoned[0]["call_id"],
                          "callback")
    assert early["pending"] is True
    async with services.db.transaction() as s:
        await store_many(s, services.clock, abandoned, "ami")
    async with services.db.transaction() as s:
        row = await apply_pending(s, services.clock, abandoned[0]["call_id"])
        assert row is not None
        assert await apply_pending(s, services.clock, abandoned[0]["call_id"]) is None
    async with services.db.session() as s:
        assert (await s.execute(select(PendingDisposition))).scalars().all() == []
    items = {i["call_id"]: i for i in (await agent.get("/api/calls")).json()["items"]}
    first = items[answered[0]["call_id"]]
    assert (first["disposition"], first["disposition_note"], first["disposition_by"]) == (
        "alarm_cancel", "customer gave the passcode", user_id)
    assert first["disposition_at"] == pytest.approx(services.clock.now().timestamp(), abs=1)
    late = items[abandoned[0]["call_id"]]
    assert (late["disposition"], late["disposition_by"]) == ("callback", user_id)
    one = (await agent.get(f"/api/calls/{first['id']}")).json()
    assert one["disposition"] == "alarm_cancel"
    async with services.db.session() as s:
        actions = [(e.action, e.actor, e.entity) for e in (await s.execute(
            select(AuditEntry).where(AuditEntry.action.like("%disposition"))
            .order_by(AuditEntry.id))).scalars()]
    assert actions == [("set_disposition", "agent", "call_record"),
                       ("set_disposition", "agent", "call"),
                       ("apply_disposition", "system:cti", "call_record")]


@pytest.mark.parametrize(("call_id", "code", "note", "field"), [
    ("", "x", None, "call_id"), ("c1", "", None, "disposition"),
    ("c1", "x" * 65, None, "disposition"), ("c1", "x", "n" * 2001, "note")])
async def test_a_bad_disposition_names_the_field(services: Any, call_id: str, code: str,
                                                 note: str | None, field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field}:"):
        await dispose(services.db, services.clock, Actor("a", None), call_id, code, note)
