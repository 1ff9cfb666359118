"""Small REST helpers the console needs that no backing package offers on its own.

- ``/api/console/options``: the closing dispositions, false-alarm causes and action-plan step
  labels, so the forms offer exactly what the alarm engine accepts;
- ``/api/console/incidents/{id}/avs-preview``: the AVS-01 score an incident would get now, so
  the operator sees the level and its reasons *before* asking for a dispatch;
- ``/api/console/blacklist``: the IVR's blacklist (ivr has no REST of its own), supervisors only.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from alarms import avs01, plans, workflow
from alarms import incidents as alarm_incidents
from core.deps import actor_of, db_session, get_services, require_role
from core.models import Role, User
from crm.phones import InvalidPhone
from ivr import blacklist

router = APIRouter(prefix="/api/console", tags=["console"])
agent = require_role(Role.agent)
supervisor = require_role(Role.supervisor)


@router.get("/options")
async def options(_: User = Depends(agent)) -> dict[str, Any]:
    return {"dispositions": list(workflow.OPERATOR_DISPOSITIONS),
            "false_alarm_causes": list(workflow.FALSE_ALARM_CAUSES),
            "steps": dict(plans.LABELS)}


@router.get("/incidents/{incident_id}/avs-preview")
async def avs_preview(incident_id: int, audio_video: bool = False,
                      threat_to_property: bool = False, threat_to_life: bool = False,
                      session: AsyncSession = Depends(db_session),
                      _: User = Depends(agent)) -> dict[str, Any]:
    """The score the dispatch would record with these observations (nothing is written)."""
    try:
        inc = await alarm_incidents.get(session, incident_id)
    except alarm_incidents.NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    ev = await alarm_incidents.evidence_of(session, inc, audio_video=audio_video,
                                           threat_to_property=threat_to_property,
                                           threat_to_life=threat_to_life)
    sc = avs01.score(ev)
    return {"level": sc.level, "reasons": sc.reasons, "call": ev.call}


class BlacklistIn(BaseModel):
    number: str = Field(min_length=3, max_length=64)
    reason: str = Field("", max_length=400)


def _entry(e: Any) -> dict[str, Any]:
    return {"id": e.id, "number": e.e164, "reason": e.reason, "added_by": e.added_by,
            "created_at": e.created_at.isoformat()}


@router.get("/blacklist")
async def list_blacklist(session: AsyncSession = Depends(db_session),
                         _: User = Depends(supervisor)) -> dict[str, Any]:
    return {"items": [_entry(e) for e in await blacklist.list_numbers(session)]}


@router.post("/blacklist", status_code=201)
async def add_blacklist(body: BlacklistIn, request: Request,
                        session: AsyncSession = Depends(db_session),
                        user: User = Depends(supervisor)) -> dict[str, Any]:
    services = get_services(request)
    try:
        entry = await blacklist.add_number(session, services.clock, actor_of(user), body.number,
                                           body.reason, services.settings.default_region)
    except InvalidPhone as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    await session.commit()
    return _entry(entry)


@router.delete("/blacklist")
async def remove_blacklist(request: Request, number: str = Query(min_length=3, max_length=64),
                           session: AsyncSession = Depends(db_session),
                           user: User = Depends(supervisor)) -> dict[str, Any]:
    services = get_services(request)
    removed = await blacklist.remove_number(session, services.clock, actor_of(user), number,
                                            services.settings.default_region)
    await session.commit()
    if not removed:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{number} is not on the blacklist")
    return {"removed": number}
