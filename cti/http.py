"""REST for calls, queue statistics and the console's call controls.

Roles: every logged-in user (agents and up) may list and read call records and use their own
phone's controls; supervisors (and admins) see live queue and agent state and statistics, and may
listen / whisper / barge. Live views and commands need the CTI part running on this node
(``services.extra["cti"]``), else 503.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from core.deps import db_session, get_services, require_role
from core.models import Role, User
from core.services import Services
from core.validation import ONE_LINE
from cti import stats
from cti.ami_client import AmiActionFailed, AmiConnectionLost, AmiError, AmiTimeout
from cti.config import CtiSettings, cti_settings
from cti.service import CtiError, CtiService
from cti.store import (
    CallFilter,
    get_record,
    list_records,
    record_json,
    records_between,
    spy_sessions,
)

router = APIRouter(prefix="/api", tags=["calls and queues"])

agent_only = require_role(Role.agent)
supervisor_only = require_role(Role.supervisor)


def _cti(services: Services = Depends(get_services)) -> CtiService:
    found = services.extra.get("cti")
    if not isinstance(found, CtiService):
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the CTI is not running")
    return found


def _settings(services: Services = Depends(get_services)) -> CtiSettings:
    return cti_settings(services)


def _filter(since: datetime | None, until: datetime | None, queue: str | None,
            agent: str | None, direction: str | None, outcome: str | None,
            number: str | None, incident_id: str | None = None) -> CallFilter:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                f"{name} needs a time zone (e.g. 2026-01-05T09:00:00Z)")
    return CallFilter(since=since, until=until, queue=queue, agent=agent, direction=direction,
                      outcome=outcome, number=number, incident_id=incident_id)


Direction = Literal["inbound", "outbound", "internal"]


@router.get("/calls")
async def list_calls(
    since: datetime | None = None, until: datetime | None = None,
    queue: str | None = None, agent: str | None = None, direction: Direction | None = None,
    outcome: str | None = None, number: str | None = None, incident_id: str | None = None,
    limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0),
    session: AsyncSession = Depends(db_session), user: User = Depends(agent_only),
) -> dict[str, Any]:
    """Call records, newest first; ``number`` matches caller or called number (digits)."""
    f = _filter(since, until, queue, agent, direction, outcome, number, incident_id)
    rows, total = await list_records(session, f, limit=limit, offset=offset)
    return {"items": [record_json(r) for r in rows], "total": total, "limit": limit,
            "offset": offset}


@router.get("/calls/{record_id}")
async def read_call(record_id: int, session: AsyncSession = Depends(db_session),
                    user: User = Depends(agent_only)) -> dict[str, Any]:
    row = await get_record(session, record_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"call record {record_id} not found")
    return {**record_json(row), "spy_sessions_stored": await spy_sessions(session, row.id)}


@router.get("/stats/calls")
async def call_stats(
    since: datetime | None = None, until: datetime | None = None,
    group: Literal["interval", "queue", "agent"] = "interval",
    interval: int = Query(900, ge=60, le=86400 * 31), queue: str | None = None,
    agent: str | None = None, threshold: float | None = Query(None, ge=0),
    exclude_short_abandons: bool | None = None,
    short_abandon_seconds: float | None = Query(None, ge=0),
    wrapup_seconds: float | None = Query(None, ge=0),
    session: AsyncSession = Depends(db_session), user: User = Depends(supervisor_only),
    settings: CtiSettings = Depends(_settings),
) -> dict[str, Any]:
    """Historical figures from stored records (formulas in docs/cti.md). Parameters left out
    take the ``VIGIL_CTI_*`` settings."""
    f = _filter(since, until, queue, agent, None, None, None)
    records = await records_between(session, f)
    base = settings.stats_config()
    cfg = stats.StatsConfig(
        threshold_seconds=base.threshold_seconds if threshold is None else threshold,
        exclude_short_abandons=(base.exclude_short_abandons if exclude_short_abandons is None
                                else exclude_short_abandons),
        short_abandon_seconds=(base.short_abandon_seconds if short_abandon_seconds is None
                               else short_abandon_seconds),
        wrapup_seconds=base.wrapup_seconds if wrapup_seconds is None else wrapup_seconds)
    groups: dict[Any, Any]
    if group == "queue":
        groups = stats.by_queue(records, cfg)
    elif group == "agent":
        groups = stats.by_agent(records, cfg)
    else:
        groups = {datetime.fromtimestamp(k, UTC).isoformat(): v
                  for k, v in stats.by_interval(records, interval, cfg).items()}
    return {"group": group, "interval": interval if group == "interval" else None,
            "groups": groups, "total": stats.summarize(records, cfg),
            "settings": {"threshold_seconds": cfg.threshold_seconds,
                         "exclude_short_abandons": cfg.exclude_short_abandons,
                         "short_abandon_seconds": cfg.short_abandon_seconds,
                         "wrapup_seconds": cfg.wrapup_seconds}}


@router.get("/queues/live")
async def queues_live(user: User = Depends(supervisor_only),
                      cti: CtiService = Depends(_cti)) -> dict[str, Any]:
    """Per queue: callers waiting, longest wait, agents by state, today's SL/ASA/AHT/abandons."""
    return {"items": cti.queues(), "connection": cti.status()}


@router.get("/cti/queues")
async def cti_queues(user: User = Depends(supervisor_only),
                     cti: CtiService = Depends(_cti)) -> dict[str, Any]:
    return {"items": cti.queues()}


@router.get("/cti/agents")
async def cti_agents(user: User = Depends(supervisor_only),
                     cti: CtiService = Depends(_cti)) -> dict[str, Any]:
    return {"items": cti.agents()}


@router.get("/cti/status")
async def cti_status(user: User = Depends(supervisor_only),
                     cti: CtiService = Depends(_cti)) -> dict[str, Any]:
    return cti.status()


# ---------------------------------------------------------------------- the console's controls


class LoginBody(BaseModel):
    queues: list[str] | None = None
    paused: bool = False
    reason: str | None = Field(None, max_length=64, pattern=ONE_LINE)


class PauseBody(BaseModel):
    reason: str | None = Field(None, max_length=64, pattern=ONE_LINE)
    queue: str | None = Field(None, max_length=64, pattern=ONE_LINE)


class DialBody(BaseModel):
    number: str = Field(min_length=1, max_length=32)


class TransferBody(BaseModel):
    exten: str = Field(min_length=1, max_length=32, pattern=r"^[0-9*#+]+$")
    attended: bool = False


class DigitsBody(BaseModel):
    digits: str = Field(min_length=1, max_length=32)


class ParkedBody(BaseModel):
    space: str = Field(min_length=1, max_length=16, pattern=r"^[0-9]+$")


SpyMode = Literal["listen", "whisper", "barge"]


class SpyBody(BaseModel):
    agent_user_id: int
    mode: SpyMode


class SpyModeBody(BaseModel):
    mode: SpyMode


def command_error(exc: Exception) -> HTTPException | None:
    """The HTTP error a failed console command means, ``detail`` = ``{"code", "message"}``
    (the console shows the code in the user's language): refused by the rules or by Asterisk
    409 (or the rule's own status), Asterisk not answering in time 504, not connected 503,
    other AMI errors 502, bad input 422. None for anything else (a bug: it propagates)."""
    if isinstance(exc, CtiError):
        code, http = exc.code, exc.status
    elif isinstance(exc, AmiActionFailed):
        code, http = exc.code, status.HTTP_409_CONFLICT
    elif isinstance(exc, AmiTimeout):
        code, http = exc.code, status.HTTP_504_GATEWAY_TIMEOUT
    elif isinstance(exc, AmiConnectionLost):
        code, http = exc.code, status.HTTP_503_SERVICE_UNAVAILABLE
    elif isinstance(exc, AmiError):
        code, http = exc.code, status.HTTP_502_BAD_GATEWAY
    elif isinstance(exc, ValueError):
        code, http = "invalid_request", status.HTTP_422_UNPROCESSABLE_CONTENT
    else:
        return None
    return HTTPException(http, {"code": code, "message": str(exc)})


async def run_command(coro: Any) -> dict[str, Any]:
    """A console command's answer, or the HTTP error its failure means (:func:`command_error`)."""
    try:
        result = await coro
    except Exception as exc:
        error = command_error(exc)
        if error is None:
            raise
        raise error from exc
    return {"ok": True, "result": result}


@router.post("/cti/login")
async def cti_login(body: LoginBody, user: User = Depends(agent_only),
                    cti: CtiService = Depends(_cti)) -> dict[str, Any]:
    return await run_command(cti.login(user.id, body.queues, paused=body.paused,
                                       reason=body.reason))


@router.post("/cti/logout")
async def cti_logout(user: User = Depends(agent_only),
                     cti: CtiService = Depends(_cti)) -> dict[str, Any]:
    return await run_command(cti.logout(user.id))


@router.post("/cti/pause")
async def cti_pause(body: PauseBody, user: User = Depends(agent_only),
                    cti: CtiService = Depends(_cti)) -> dict[str, Any]:
    return await run_command(cti.pause(user.id, body.reason, body.queue))


@router.post("/cti/unpause")
async def cti_unpause(user: User = Depends(agent_only),
                      cti: CtiService = Depends(_cti)) -> dict[str, Any]:
    return await run_command(cti.unpause(user.id))


@router.post("/cti/dial")
async def cti_dial(body: DialBody, user: User = Depends(agent_only),
                   cti: CtiService = Depends(_cti)) -> dict[str, Any]:
    return await run_command(cti.dial(user.id, body.number))


@router.post("/cti/hangup")
async def cti_hangup(user: User = Depends(agent_only),
                     cti: CtiService = Depends(_cti)) -> dict[str, Any]:
    return await run_command(cti.hangup(user.id))


@router.post("/cti/transfer")
async def cti_transfer(body: TransferBody, user: User = Depends(agent_only),
                       cti: CtiService = Depends(_cti)) -> dict[str, Any]:
    return await run_command(cti.transfer(user.id, body.exten, attended=body.attended))


@router.post("/cti/park")
async def cti_park(user: User = Depends(agent_only),
                   cti: CtiService = Depends(_cti)) -> dict[str, Any]:
    return await run_command(cti.park(user.id))


@router.post("/cti/retrieve")
async def cti_retrieve(body: ParkedBody, user: User = Depends(agent_only),
                       cti: CtiService = Depends(_cti)) -> dict[str, Any]:
    return await run_command(cti.retrieve(user.id, body.space))


@router.post("/cti/dtmf")
async def cti_dtmf(body: DigitsBody, user: User = Depends(agent_only),
                   cti: CtiService = Depends(_cti)) -> dict[str, Any]:
    return await run_command(cti.dtmf(user.id, body.digits))


@router.post("/cti/record/start")
async def cti_record_start(user: User = Depends(agent_only),
                           cti: CtiService = Depends(_cti)) -> dict[str, Any]:
    return await run_command(cti.record_start(user.id))


@router.post("/cti/record/stop")
async def cti_record_stop(user: User = Depends(agent_only),
                          cti: CtiService = Depends(_cti)) -> dict[str, Any]:
    return await run_command(cti.record_stop(user.id))


@router.post("/cti/spy")
async def cti_spy(body: SpyBody, user: User = Depends(supervisor_only),
                  cti: CtiService = Depends(_cti)) -> dict[str, Any]:
    """Listen to, whisper to or barge into the agent's connected call: ``result.call_id``
    names the spy, whose progress comes as ``call.progress`` (kind ``spy``)."""
    return await run_command(cti.spy(user.id, body.agent_user_id, body.mode))


@router.post("/cti/spy/mode")
async def cti_spy_mode(body: SpyModeBody, user: User = Depends(supervisor_only),
                       cti: CtiService = Depends(_cti)) -> dict[str, Any]:
    """Switch my live spy to listen, whisper or barge (``spy.changed`` follows)."""
    return await run_command(cti.spy_mode(user.id, body.mode))


@router.post("/cti/spy/stop")
async def cti_spy_stop(user: User = Depends(supervisor_only),
                       cti: CtiService = Depends(_cti)) -> dict[str, Any]:
    return await run_command(cti.spy_stop(user.id))


@router.get("/cti/spies")
async def cti_spies(user: User = Depends(supervisor_only),
                    cti: CtiService = Depends(_cti)) -> dict[str, Any]:
    """The spy sessions going on now."""
    return {"items": cti.spies()}


@router.get("/cti/placed")
async def cti_placed(user: User = Depends(agent_only),
                     cti: CtiService = Depends(_cti)) -> dict[str, Any]:
    """My calls placed by the console that are still going on (their last ``call.progress``),
    so a reloaded console shows them again."""
    return {"items": cti.placed_calls(user.id)}
