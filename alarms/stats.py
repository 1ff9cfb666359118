"""False-alarm statistics, maintenance thresholds and the monthly per-account summary.

False alarms are incidents closed as ``false_alarm``; their rate is over all alarm-class
incidents of the same account in the window. When an account (or one of its zones) reaches the
threshold, one maintenance work order is raised in crm per account, subject and month, with
the incidents as evidence. Accounts that rarely arm are flagged for a callback visit (crm has no
callback visits yet: the flag is stored and published as ``alarms.callback_visit_requested``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from alarms.config import AlarmSettings
from alarms.models import Incident, IncidentSignal, MaintenanceFlag
from alarms.subscriber import SubscriberDirectory
from core import audit
from core.services import Services


def _zones(inc: Incident) -> list[str]:
    return [z for z in (inc.zones or {}) if z != "-"] or ["-"]


async def _closed_alarms(session: AsyncSession, since: datetime,
                         account_id: int | None) -> list[Incident]:
    stmt = select(Incident).where(Incident.closed_at >= since, Incident.status == "closed",
                                  Incident.event_class == "alarm",
                                  Incident.account_id.is_not(None))
    if account_id is not None:
        stmt = stmt.where(Incident.account_id == account_id)
    return list((await session.execute(stmt)).scalars())


async def false_alarm_counts(session: AsyncSession, now: datetime, days: int, by: str,
                             directory: SubscriberDirectory,
                             account_id: int | None = None) -> list[dict[str, Any]]:
    """False alarms and alarms per account, zone or device model over the last ``days``."""
    rows = await _closed_alarms(session, now - timedelta(days=days), account_id)
    false: Counter[tuple[Any, ...]] = Counter()
    total: Counter[tuple[Any, ...]] = Counter()
    causes: dict[tuple[Any, ...], Counter[str]] = defaultdict(Counter)
    devices: dict[int, dict[str, str]] = {}
    for inc in rows:
        assert inc.account_id is not None
        if by == "account":
            keys: list[tuple[Any, ...]] = [(inc.account_id,)]
        else:
            keys = [(inc.account_id, z) for z in _zones(inc)]
            if by == "device_model":
                if inc.account_id not in devices:
                    devices[inc.account_id] = await directory.zone_devices(inc.account_id)
                keys = list({(devices[inc.account_id].get(k[1], "unknown") or "unknown",)
                             for k in keys})
        for k in keys:
            total[k] += 1
            if inc.disposition == "false_alarm":
                false[k] += 1
                causes[k][inc.false_alarm_cause or "unknown"] += 1
    names = {"account": ("account_id",), "zone": ("account_id", "zone"),
             "device_model": ("device_model",)}[by]
    out = [dict(zip(names, k, strict=True)) | {
        "false_alarms": false[k], "alarms": total[k],
        "rate": round(false[k] / total[k], 3) if total[k] else 0.0,
        "causes": dict(causes[k])} for k in total]
    return sorted(out, key=lambda r: (-r["false_alarms"], str(r)))


def _period(now: datetime) -> str:
    return now.strftime("%Y-%m")


async def maintenance_run(session: AsyncSession, services: Services,
                          directory: SubscriberDirectory, actor: audit.Actor,
                          settings: AlarmSettings | None = None) -> dict[str, Any]:
    """Raise a work order for each account and zone at the false-alarm threshold (once per
    month each) and flag accounts that rarely arm for a callback visit."""
    st = settings or AlarmSettings()
    now = services.clock.now()
    period = _period(now)
    since = now - timedelta(days=st.false_alarm_window_days)
    existing = {(f.account_id, f.subject) for f in (await session.execute(
        select(MaintenanceFlag).where(MaintenanceFlag.period == period))).scalars()}
    raised: list[dict[str, Any]] = []
    for by in ("account", "zone"):
        for row in await false_alarm_counts(session, now, st.false_alarm_window_days, by,
                                            directory):
            if row["false_alarms"] < st.false_alarm_threshold:
                continue
            aid = int(row["account_id"])
            subject = "false_alarms" if by == "account" else f"false_alarms:zone:{row['zone']}"
            if (aid, subject) in existing:
                continue
            ids = [i.id for i in await _closed_alarms(session, since, aid)
                   if i.disposition == "false_alarm"
                   and (by == "account" or row["zone"] in _zones(i))]
            evidence = {"false_alarms": row["false_alarms"], "alarms": row["alarms"],
                        "rate": row["rate"], "causes": row["causes"], "incidents": ids,
                        "window_days": st.false_alarm_window_days}
            where = "" if by == "account" else f" zone {row['zone']}"
            summary = f"Maintenance: {row['false_alarms']} false alarms{where}"
            details = (f"{row['false_alarms']} false alarms of {row['alarms']} alarms in "
                       f"{st.false_alarm_window_days} days{where}; causes {row['causes']}; "
                       f"incidents {ids}")
            wo = await directory.create_work_order(aid, summary, details, actor)
            session.add(MaintenanceFlag(account_id=aid, subject=subject, period=period,
                                        work_order_id=wo, evidence=evidence, at=now))
            existing.add((aid, subject))
            audit.record(session, actor, "work_order", "alarm_account", aid, None,
                         {"work_order_id": wo, "subject": subject}, clock=services.clock)
            raised.append({"account_id": aid, "subject": subject, "work_order_id": wo})
    flagged = await _low_arming(session, services, actor, now, period, st, existing)
    await session.flush()
    return {"work_orders": raised, "callback_visits": flagged}


async def _low_arming(session: AsyncSession, services: Services, actor: audit.Actor,
                      now: datetime, period: str, st: AlarmSettings,
                      existing: set[tuple[int, str]]) -> list[int]:
    since = now - timedelta(days=30)
    counts = {r[0]: r[1] for r in (await session.execute(
        select(IncidentSignal.account_id, func.count()).where(
            IncidentSignal.received_at >= since, IncidentSignal.account_id.is_not(None),
            IncidentSignal.kind.in_(("opening", "closing")))
        .group_by(IncidentSignal.account_id))).all()}
    seen = (await session.execute(select(IncidentSignal.account_id).where(
        IncidentSignal.received_at >= since, IncidentSignal.account_id.is_not(None))
        .distinct())).scalars().all()
    flagged = []
    for aid in sorted(a for a in seen if a is not None):
        n = int(counts.get(aid, 0))
        if n >= st.low_arming_per_month or (aid, "low_arming") in existing:
            continue
        session.add(MaintenanceFlag(account_id=aid, subject="low_arming", period=period,
                                    evidence={"open_close_30d": n}, at=now))
        audit.record(session, actor, "callback_visit", "alarm_account", aid, None,
                     {"open_close_30d": n}, clock=services.clock)
        await services.bus.publish("alarms.callback_visit_requested",
                                   {"account_id": aid, "reason": "rarely arms",
                                    "open_close_30d": n})
        flagged.append(aid)
    return flagged


def month_bounds(month: str) -> tuple[datetime, datetime]:
    try:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    except ValueError as exc:
        raise ValueError("month must be YYYY-MM") from exc
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


async def monthly_summary(session: AsyncSession, account_id: int,
                          month: str) -> dict[str, Any]:
    """What the subscriber's monthly report says: alarms, false alarms, open/close, tests."""
    start, end = month_bounds(month)
    incs = (await session.execute(select(Incident).where(
        Incident.account_id == account_id, Incident.opened_at >= start,
        Incident.opened_at < end))).scalars().all()
    kinds = {r[0]: r[1] for r in (await session.execute(
        select(IncidentSignal.kind, func.count()).where(
            IncidentSignal.account_id == account_id, IncidentSignal.received_at >= start,
            IncidentSignal.received_at < end).group_by(IncidentSignal.kind))).all()}
    alarms = [i for i in incs if i.event_class == "alarm"]
    return {
        "account_id": account_id, "month": month,
        "alarms": len(alarms),
        "false_alarms": sum(1 for i in alarms if i.disposition == "false_alarm"),
        "real_alarms": sum(1 for i in alarms if i.disposition == "real_alarm"),
        "troubles": sum(1 for i in incs if i.event_class in ("trouble", "supervisory")),
        "openings": int(kinds.get("opening", 0)), "closings": int(kinds.get("closing", 0)),
        "tests": int(kinds.get("test", 0)),
        "signals": int(sum(kinds.values())),
        "incidents_by_kind": dict(Counter(i.kind for i in incs)),
    }


def summary_text(s: dict[str, Any]) -> str:
    return (f"Monthly report {s['month']}: {s['alarms']} alarms ({s['false_alarms']} false), "
            f"{s['troubles']} troubles, {s['openings']} openings, {s['closings']} closings, "
            f"{s['tests']} test reports.")


async def handling_times(session: AsyncSession, since: datetime | None) -> dict[str, Any]:
    """Mean seconds from opened to shown, taken, first call, dispatched and closed."""
    stmt = select(Incident).where(Incident.status == "closed")
    if since is not None:
        stmt = stmt.where(Incident.closed_at >= since)
    rows = (await session.execute(stmt)).scalars().all()
    out: dict[str, Any] = {"incidents": len(rows)}
    for name in ("shown_at", "taken_at", "first_call_at", "dispatched_at", "closed_at"):
        vals = [(getattr(i, name) - i.opened_at).total_seconds() for i in rows
                if getattr(i, name) is not None]
        out[f"to_{name[:-3]}_s"] = round(sum(vals) / len(vals), 1) if vals else None
    return out


async def incidents_per_day(session: AsyncSession, since: datetime) -> dict[tuple[str, str], int]:
    """Incidents opened since ``since`` counted per (UTC day as ISO date, kind): the report of
    alarms per class per day."""
    rows = (await session.execute(
        select(Incident.opened_at, Incident.kind).where(Incident.opened_at >= since))).all()
    counts: dict[tuple[str, str], int] = {}
    for opened_at, kind in rows:
        key = (opened_at.date().isoformat(), str(kind))
        counts[key] = counts.get(key, 0) + 1
    return counts


async def taken_within(session: AsyncSession, now: datetime, since: datetime,
                       thresholds: tuple[int, ...] = (30, 60)) -> dict[str, Any]:
    """Share of the operator incidents opened since ``since`` that an operator took within each
    threshold (seconds). An incident still untaken counts as a miss once it is older than the
    threshold and is left out before that, so the share does not jump while one waits."""
    rows = (await session.execute(select(Incident.opened_at, Incident.taken_at).where(
        Incident.opened_at >= since, Incident.desk == "operator"))).all()
    out: dict[str, Any] = {"opened": len(rows)}
    for limit in thresholds:
        hits = judged = 0
        for opened_at, taken_at in rows:
            if taken_at is not None and (taken_at - opened_at).total_seconds() <= limit:
                hits += 1
                judged += 1
            elif (now - opened_at).total_seconds() > limit:
                judged += 1
        out[f"within_{limit}s"] = round(hits / judged, 4) if judged else None
        out[f"judged_{limit}s"] = judged
    return out
