"""The console's softphone and agent-state API, on top of the CTI's controls.

- ``GET /api/console/phone``: what the phone panel needs at once: the phone mode, the agent's
  state *as Asterisk (or pbxsim) holds it* (the CTI's live view, never a copy kept here), the
  queues, the pause codes, the wrap-up time and, in WebRTC mode, the user's own SIP credentials;
- ``POST /api/console/phone/answer`` and ``/hangup``: in demo mode the pbxsim phone of the user's
  extension is answered / hung up as a real handset would be (``/api/cti/hangup`` does the same
  through Asterisk for the other modes);
- ``/api/console/pause-codes``: the configured list (supervisors edit it);
- ``/api/console/agents``: the supervisor's grid (agent state plus the call each is on) and
  ``/api/console/agents/{user_id}/pause|unpause|logout`` to act on another agent.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agent_web.console_settings import DEFAULT_PAUSE_CODES, console_settings, phone_mode
from agent_web.models import PauseCode
from core import audit, sip_credentials, users
from core.deps import actor_of, db_session, get_services, require_role
from core.models import Role, User
from core.services import Services
from core.validation import ONE_LINE
from cti.http import run_command
from cti.service import CtiError, CtiService

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/console", tags=["console"])
agent = require_role(Role.agent)
supervisor = require_role(Role.supervisor)

Json = dict[str, Any]


def _cti_or_none(services: Services) -> CtiService | None:
    found = services.extra.get("cti")
    return found if isinstance(found, CtiService) else None


def _cti(request: Request) -> CtiService:
    found = _cti_or_none(get_services(request))
    if found is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the CTI is not running")
    return found


def agent_rows(cti: CtiService) -> list[Json]:
    """The CTI's agent rows with ``since`` (when the state began) filled in: the publisher
    stamps it on its ``agent.state`` events, but its snapshot leaves it out (reported to the
    CTI; until it carries it, it is read from the publisher)."""
    since: dict[str, float] = getattr(cti.live, "_since", {}) if cti.live else {}
    return [{**row, "since": row.get("since") or since.get(str(row.get("interface")))}
            for row in cti.agents()]


def agent_row(cti: CtiService | None, user: User) -> Json:
    """The user's state across their queues, from the CTI's live view of Asterisk."""
    if cti is not None and user.extension:
        for row in agent_rows(cti):
            if row.get("user_id") == user.id or row.get("extension") == user.extension:
                return {**row, "call": current_call(cti, user.extension)}
    return {"state": "logged_out", "queues": [], "paused": False, "reason": None,
            "extension": user.extension, "user_id": user.id, "call": None}


def parked_calls(cti: CtiService, ext: str | None) -> list[Json]:
    """Calls the extension parked that still wait in the lot (from the CTI's ParkedCall events:
    space, who, since), so the agent sees where to retrieve them."""
    if not ext:
        return []
    device = cti.plan.channel(ext)
    out = []
    for call in cti.model.calls.values():
        for park in call.parks:
            parker = str(park.get("parker") or "")
            if park.get("ended_at") is not None:
                continue
            mine = (parker.startswith(f"Local/{ext}@") or parker.endswith(f"/{ext}")
                    or call.agent_interface == device)
            if not mine:
                continue
            party = next((c for c in call.channels.values() if c.uniqueid == park["uniqueid"]),
                         None)
            out.append({"space": park.get("space"), "lot": park.get("lot"),
                        "parked_at": park.get("parked_at"),
                        "number": party.caller_number if party else None,
                        "name": party.caller_name if party else None})
    return sorted(out, key=lambda p: str(p["space"]))


def current_call(cti: CtiService, ext: str | None) -> Json | None:
    """The other party of the extension's newest live call leg (ringing or connected)."""
    if not ext:
        return None
    try:
        leg = cti.agent_leg(ext)  # the half that faces the caller (bridged when connected)
    except CtiError:
        return None
    number = leg.connected_number or leg.caller_number
    name = leg.connected_name or leg.caller_name
    try:
        other = cti.other_party(ext)
        number, name = other.caller_number or number, other.caller_name or name
    except CtiError:
        pass
    return {"channel": leg.name, "number": number, "name": name,
            "state": "connected" if leg.bridge else "ringing", "since": leg.created_at}


async def pause_codes(session: AsyncSession, services: Services) -> list[PauseCode]:
    """The stored list; the first read of an empty list stores the defaults."""
    rows = list((await session.execute(
        select(PauseCode).order_by(PauseCode.position, PauseCode.id))).scalars())
    if rows:
        return rows
    now = services.clock.now()
    rows = [PauseCode(code=c, label=label, position=i, created_at=now)
            for i, (c, label) in enumerate(DEFAULT_PAUSE_CODES)]
    session.add_all(rows)
    await session.commit()
    return rows


def _code_json(p: PauseCode) -> Json:
    return {"code": p.code, "label": p.label, "position": p.position}


def _sip(services: Services, user: User) -> Json | None:
    """What the user's own WebRTC phone registers with. The one answer that carries the SIP
    password in clear: only to its owner, over the signed-in session."""
    s = console_settings(services)
    if not s.webrtc_wss_url or not user.extension:
        return None
    domain = s.sip_domain or urlsplit(s.webrtc_wss_url).hostname or "localhost"
    password = users.sip_password(user, sip_credentials.for_secret(services.settings.secret_key))
    if password is None:
        log.warning("user %s has no readable SIP password (none yet, or VIGIL_SECRET_KEY "
                    "changed): its phone cannot register; vigil rotate-sip-password %s",
                    user.username, user.username)
    return {"ws_url": s.webrtc_wss_url, "uri": f"sip:{user.extension}@{domain}",
            "authorization_user": user.extension, "password": password or "",
            "display_name": user.display_name}


@router.get("/phone")
async def phone(request: Request, session: AsyncSession = Depends(db_session),
                user: User = Depends(agent)) -> Json:
    services = get_services(request)
    cti = _cti_or_none(services)
    s = console_settings(services)
    mode = phone_mode(services)
    queues = sorted(str(q.get("name") or q.get("queue")) for q in cti.queues()) if cti else []
    return {
        "mode": mode, "cti": cti is not None, "extension": user.extension,
        "agent": agent_row(cti, user),
        "parked": parked_calls(cti, user.extension) if cti else [],
        "queues": queues or list(s.default_queues),
        "default_queues": [q for q in s.default_queues if not queues or q in queues],
        "pause_codes": [_code_json(p) for p in await pause_codes(session, services)],
        "wrapup_seconds": s.wrapup_seconds,
        "sip": _sip(services, user) if mode == "webrtc" else None,
    }


def _pbx_phones(request: Request, user: User) -> Any:
    sim = get_services(request).extra.get("pbxsim")
    if sim is None:
        return None
    if not user.extension:
        raise HTTPException(status.HTTP_409_CONFLICT, "this user has no phone extension")
    return sim.engine.phones


@router.post("/phone/answer")
async def phone_answer(request: Request, user: User = Depends(agent)) -> Json:
    phones = _pbx_phones(request, user)
    if phones is None:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            "answer on your phone (the demo phone is not running)")
    if not phones.answer(user.extension):
        raise HTTPException(status.HTTP_409_CONFLICT, "nothing is ringing on your phone")
    return {"ok": True}


@router.post("/phone/hangup")
async def phone_hangup(request: Request, user: User = Depends(agent)) -> Json:
    phones = _pbx_phones(request, user)
    if phones is not None:
        if not phones.hangup(user.extension):
            raise HTTPException(status.HTTP_409_CONFLICT, "you have no call")
        return {"ok": True}
    out = await run_command(_cti(request).hangup(user.id))
    return {"ok": True, "channel": out["result"]}


# ---------------------------------------------------------------------- pause codes


class PauseCodeIn(BaseModel):
    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")
    label: str = Field(min_length=1, max_length=128)
    position: int | None = Field(None, ge=0, le=1000)


@router.get("/pause-codes")
async def list_pause_codes(request: Request, session: AsyncSession = Depends(db_session),
                           _: User = Depends(agent)) -> Json:
    return {"items": [_code_json(p) for p in await pause_codes(session,
                                                               get_services(request))]}


@router.put("/pause-codes/{code}")
async def put_pause_code(code: str, body: PauseCodeIn, request: Request,
                         session: AsyncSession = Depends(db_session),
                         user: User = Depends(supervisor)) -> Json:
    """Add a pause code, or change its label and place (the code itself is what reports
    count, so renaming it means a new code)."""
    if body.code != code:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "code in path and body differ")
    services = get_services(request)
    existing = await pause_codes(session, services)
    row = next((p for p in existing if p.code == code), None)
    before = _code_json(row) if row else None
    if row is None:
        row = PauseCode(code=code, label=body.label, created_at=services.clock.now(),
                        position=body.position if body.position is not None else
                        max((p.position for p in existing), default=-1) + 1)
        session.add(row)
    else:
        row.label = body.label
        if body.position is not None:
            row.position = body.position
    audit.record(session, actor_of(user), "update" if before else "create", "pause_code", code,
                 before, _code_json(row), clock=services.clock)
    await session.commit()
    return _code_json(row)


@router.delete("/pause-codes/{code}")
async def delete_pause_code(code: str, request: Request,
                            session: AsyncSession = Depends(db_session),
                            user: User = Depends(supervisor)) -> Json:
    services = get_services(request)
    row = next((p for p in await pause_codes(session, services) if p.code == code), None)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no pause code {code}")
    audit.record(session, actor_of(user), "delete", "pause_code", code, _code_json(row), None,
                 clock=services.clock, only_changes=False)
    await session.delete(row)
    await session.commit()
    return {"deleted": code}


# ---------------------------------------------------------------------- the supervisor's grid


@router.get("/agents")
async def agents_grid(request: Request, _: User = Depends(supervisor)) -> Json:
    """Every logged-in agent with state, pause reason, since and the call they are on."""
    cti = _cti(request)
    rows = []
    for row in agent_rows(cti):
        rows.append({**row, "call": current_call(cti, row.get("extension"))})
    return {"items": rows, "now": get_services(request).clock.now().timestamp()}


class ForcePauseIn(BaseModel):
    reason: str | None = Field(None, max_length=64, pattern=ONE_LINE)


@router.post("/agents/{user_id}/pause")
async def force_pause(user_id: int, body: ForcePauseIn, request: Request,
                      session: AsyncSession = Depends(db_session),
                      user: User = Depends(supervisor)) -> Json:
    cti = _cti(request)
    reason = body.reason or "supervisor"
    out = await run_command(cti.pause(user_id, reason))
    audit.record(session, actor_of(user), "force_pause", "agent", user_id, None,
                 {"reason": reason}, clock=get_services(request).clock)
    await session.commit()
    return out


@router.post("/agents/{user_id}/unpause")
async def force_unpause(user_id: int, request: Request,
                        session: AsyncSession = Depends(db_session),
                        user: User = Depends(supervisor)) -> Json:
    out = await run_command(_cti(request).unpause(user_id))
    audit.record(session, actor_of(user), "force_unpause", "agent", user_id, None,
                 {"paused": False}, clock=get_services(request).clock)
    await session.commit()
    return out


@router.post("/agents/{user_id}/logout")
async def force_logout(user_id: int, request: Request,
                       session: AsyncSession = Depends(db_session),
                       user: User = Depends(supervisor)) -> Json:
    out = await run_command(_cti(request).logout(user_id))
    audit.record(session, actor_of(user), "force_logout", "agent", user_id, None,
                 {"queues": out["result"]}, clock=get_services(request).clock)
    await session.commit()
    return out
