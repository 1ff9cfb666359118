"""alarms_0002: the partial unique index on open incidents, and what it does to a database that
already holds duplicates (made by the race it closes)."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

from core.db import UTCDateTime, make_engine
from vigil import migrate


async def _downgrade(url: str, target: str) -> None:
    engine = make_engine(url, nullpool=True)
    cfg = migrate.alembic_config(url)

    def _do(conn: Connection) -> None:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, target)

    try:
        async with engine.begin() as conn:
            await conn.run_sync(_do)
    finally:
        await engine.dispose()


INSERT = text(
    "INSERT INTO alarm_incidents (account_key, account_number, account_name, receiver, desk,"
    " kind, event_class, base_priority, priority, escalation_level, status, cancelled_at_panel,"
    " duress, zones, steps, signal_count, reopen_count, first_signal_at, last_signal_at,"
    " opened_at, version) VALUES (:key, '', '', '', :desk, 'burglary', 'alarm', 3, 3, 0,"
    " :status, false, false, '{}', '[]', 1, 0, :at, :at, :at, 1)"
).bindparams(bindparam("at", type_=UTCDateTime(timezone=True)))


async def test_upgrade_closes_duplicate_open_incidents_with_an_audit_entry(db_url: str) -> None:
    await _downgrade(db_url, "alarms_0001")
    engine = make_engine(db_url, nullpool=True)
    at = datetime(2026, 1, 5, 10, tzinfo=UTC)
    try:
        async with engine.begin() as conn:
            for key, desk, status in [("id:1", "operator", "new"), ("id:1", "operator", "taken"),
                                      ("id:1", "technical", "new"), ("id:1", "operator", "closed"),
                                      ("id:2", "operator", "held")]:
                await conn.execute(INSERT, {"key": key, "desk": desk, "status": status,
                                            "at": at})
        await migrate.upgrade(db_url)
        async with engine.connect() as conn:
            rows = (await conn.execute(text(
                "SELECT id, status, disposition, version FROM alarm_incidents ORDER BY id"))).all()
            audits = (await conn.execute(text(
                "SELECT entity_id, action FROM audit_log WHERE entity = 'incident'"))).all()
    finally:
        await engine.dispose()
        await migrate.upgrade(db_url)  # the database stays at the heads, whatever happened
    assert [tuple(r) for r in rows] == [
        (1, "new", None, 1), (2, "closed", "cleared_by_system", 2), (3, "new", None, 1),
        (4, "closed", None, 1), (5, "held", None, 1)]
    assert [tuple(a) for a in audits] == [("2", "close")]
    assert "alarms_0004" in await migrate.current_heads(db_url)  # and on to the head
