"""What the reports, the admin pages and the transfer picker need that no backing API offers.

- ``/api/console/reports/alarms-per-day``: incidents per day and class (the alarm engine's
  statistics have false alarms, handling times and the monthly summary, not this one; asked of
  the alarms package as ``stats.per_day``, read from its incidents table until it lands);
- ``/api/console/transfer-targets``: the agents and queues an agent may transfer a call to (the
  CTI's agent list is for supervisors only, and carries no queue extensions);
- ``POST /api/console/phone/transfer``: a blind or attended transfer to an agent's extension,
  a queue's line (in the queues' dialplan context) or a number.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from agent_web.console_settings import console_settings
from agent_web.phone_api import _cti, _cti_or_none, agent_rows
from agent_web.schemas import TransferTargets
from alarms.stats import incidents_per_day
from core.deps import db_session, get_services, require_role
from core.models import Role, User
from cti.dispositions import counts_since as disposition_counts
from cti.http import run_command

router = APIRouter(prefix="/api/console", tags=["console"])
agent = require_role(Role.agent)
supervisor = require_role(Role.supervisor)

Json = dict[str, Any]


@router.get("/reports/alarms-per-day")
async def alarms_per_day(request: Request, days: int = Query(30, ge=1, le=366),
                         session: AsyncSession = Depends(db_session),
                         _: User = Depends(supervisor)) -> Json:
    """Incidents opened per (UTC) day and class (``kind``) over the last ``days``; every day
    of the window is listed, so a quiet day shows as zero rather than disappearing."""
    now = get_services(request).clock.now()
    start = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    counts: Counter[tuple[str, str]] = Counter(await incidents_per_day(session, start))
    day_list = [(start + timedelta(days=i)).date().isoformat() for i in range(days)]
    classes = sorted({k for _, k in counts})
    return {"days": day_list, "classes": classes,
            "items": [{"day": d, "class": c, "count": counts[(d, c)]}
                      for d in day_list for c in classes if counts[(d, c)]],
            "total": sum(counts.values())}


@router.get("/reports/dispositions")
async def dispositions(request: Request, days: int = Query(30, ge=1, le=366),
                       session: AsyncSession = Depends(db_session),
                       _: User = Depends(supervisor)) -> Json:
    """Calls of the last ``days`` per disposition the agents picked in wrap-up (``null``: none
    picked), most first."""
    since = get_services(request).clock.now() - timedelta(days=days)
    counts = await disposition_counts(session, since)
    items = sorted(({"disposition": code, "count": n} for code, n in counts.items()),
                   key=lambda r: (-int(r["count"] or 0), str(r["disposition"])))
    return {"items": items, "total": sum(counts.values())}


@router.get("/transfer-targets", response_model=TransferTargets)
async def transfer_targets(request: Request, user: User = Depends(agent)) -> Json:
    """Who a call can go to: logged-in agents (but oneself) with their state, and the queues
    with the line that reaches them."""
    services = get_services(request)
    cti = _cti_or_none(services)
    s = console_settings(services)
    agents = []
    queue_names: set[str] = set(s.queue_lines)
    if cti is not None:
        for row in agent_rows(cti):
            if not row.get("extension") or row.get("extension") == user.extension:
                continue
            agents.append({"name": row.get("name") or row.get("member"),
                           "extension": row["extension"], "state": row.get("state"),
                           "queues": row.get("queues") or []})
        queue_names |= {str(q.get("name") or q.get("queue")) for q in cti.queues()}
    agents.sort(key=lambda a: (a["state"] != "ready", str(a["name"])))
    queues = [{"name": q, "exten": s.queue_lines.get(q)} for q in sorted(queue_names)]
    return {"agents": agents, "queues": queues, "cti": cti is not None}


class TransferIn(BaseModel):
    kind: Literal["agent", "queue", "number"]
    target: str = Field(min_length=1, max_length=64)
    attended: bool = False


@router.post("/phone/transfer")
async def phone_transfer(body: TransferIn, request: Request,
                         user: User = Depends(agent)) -> Json:
    services = get_services(request)
    cti = _cti(request)
    s = console_settings(services)
    context: str | None = None
    exten = body.target
    if body.kind == "queue":
        line = s.queue_lines.get(body.target)
        if line is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                f"no line is configured for queue {body.target}")
        exten, context = line, s.queue_context
    if not exten.replace("+", "").replace("*", "").replace("#", "").isdigit():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            "a transfer target is dialled: digits, *, # and + only")
    out = await run_command(cti.transfer(user.id, exten, attended=body.attended, context=context))
    return {**out, "exten": exten, "context": context}
