"""The console's softphone and agent-state API, on top of the CTI's controls.

- ``GET /api/console/phone``: what the phone panel needs at once: the phone mode, the agent's
  state *as Asterisk (or pbxsim) holds it* (the CTI's live view, never a copy kept here), the
  queues, the pause codes, the wrap-up time and, in WebRTC mode, the user's own SIP credentials;
- ``POST /api/console/phone/answer`` and ``/hangup``: in demo mode the pbxsim phone of the user's
  extension is answered / hung up as a real handset would be (``/api/cti/hangup`` does the same
  through Asterisk for the other modes);
- ``/api/console/agents``: the supervisor's grid (agent state plus the call each is on) and
  ``/api/console/agents/{user_id}/pause|unpause|logout`` to act on another agent.
"""

from __future__ import annotations

import logging
from typing import Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from agent_web.choices_api import choice_codes
from agent_web.console_settings import console_settings, phone_mode
from agent_web.schemas import AgentGrid, CallRecords, Disposed, Ok, PhoneView
from core import audit, sip_credentials, users
from core.deps import actor_of, db_session, get_services, require_role
from core.errors import http_error
from core.models import Role, User
from core.services import Services
from core.validation import ONE_LINE
from cti.dispositions import dispose
from cti.http import run_command
from cti.service import CtiError, CtiService
from cti.store import CallFilter, list_records, record_json

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
    """The extension's newest live call (ringing, connected or held) and its other party."""
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
    state = "held" if leg.hold_since is not None else "connected" if leg.bridge else "ringing"
    return {"call_id": leg.linkedid, "channel": leg.name, "number": number, "name": name,
            "state": state, "since": leg.created_at}


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


@router.get("/phone", response_model=PhoneView)
async def phone(request: Request, user: User = Depends(agent)) -> Json:
    """Everything the phone panel restores on load, as the CTI holds it now: the agent's state
    (pause, wrap-up, hold), the live call and its screen pop, parked calls, the queues."""
    services = get_services(request)
    cti = _cti_or_none(services)
    s = console_settings(services)
    mode = phone_mode(services)
    queues = sorted(str(q.get("name") or q.get("queue")) for q in cti.queues()) if cti else []
    now: Json = {"call": None, "pop": None, "agent": None}
    if cti is not None and user.extension:
        try:
            now = await cti.current_call(user.id)
        except CtiError:
            pass
    row = agent_row(cti, user)
    agent_now = now.get("agent") or {}
    wrapup = None
    if agent_now.get("in_wrapup") and agent_now.get("wrapup_until"):
        wrapup = {"call_id": agent_now.get("wrapup_call_id"),
                  "until": agent_now.get("wrapup_until"), "queue": agent_now.get("wrapup_queue")}
    return {
        "mode": mode, "cti": cti is not None, "extension": user.extension,
        "agent": {**row, **agent_now} if agent_now else row,
        "current": now.get("call"), "pop": now.get("pop"), "wrapup": wrapup,
        "placed": now.get("placed") or [],
        "parked": parked_calls(cti, user.extension) if cti else [],
        "queues": queues or list(s.default_queues),
        "default_queues": [q for q in s.default_queues if not queues or q in queues],
        "wrapup_seconds": s.wrapup_seconds,
        "sip": _sip(services, user) if mode == "webrtc" else None,
    }


def _pbx_phones(request: Request, user: User) -> Any:
    sim = get_services(request).extra.get("pbxsim")
    if sim is None:
        return None
    if not user.extension:
        raise http_error(status.HTTP_409_CONFLICT, "no_extension",
                         "this user has no phone extension")
    return sim.engine.phones


def _demo_phone(request: Request, user: User, refused: str) -> Any:
    """The demo's phone of the user; a desk or browser phone does this itself (``refused``
    is the code the console words as "use your phone's key")."""
    phones = _pbx_phones(request, user)
    if phones is None:
        raise http_error(status.HTTP_409_CONFLICT, refused,
                         "do this on your phone (the demo phone is not running)")
    return phones


@router.get("/recent-calls", response_model=CallRecords)
async def recent_calls(request: Request, limit: int = Query(6, ge=1, le=50),
                       session: AsyncSession = Depends(db_session),
                       user: User = Depends(agent)) -> Json:
    """The user's own latest calls (taken from queues or placed), newest first: where a call
    goes when it ends, with the disposition picked in wrap-up."""
    names = {user.display_name}
    cti = _cti_or_none(get_services(request))
    if user.extension:
        ext = user.extension
        names |= {f"PJSIP/{ext}", f"SIP/{ext}"}
        if cti is not None:
            names.add(cti.plan.interface(ext))
    rows, _ = await list_records(session, CallFilter(agents=sorted(names)), limit=limit)
    return {"items": [record_json(r) for r in rows]}


@router.post("/phone/answer", response_model=Ok)
async def phone_answer(request: Request, user: User = Depends(agent)) -> Json:
    if not _demo_phone(request, user, "answer_on_desk_phone").answer(user.extension):
        raise http_error(status.HTTP_409_CONFLICT, "nothing_ringing",
                         "nothing is ringing on your phone")
    return {"ok": True}


@router.post("/phone/hangup")
async def phone_hangup(request: Request, user: User = Depends(agent)) -> Json:
    phones = _pbx_phones(request, user)
    if phones is not None:
        if not phones.hangup(user.extension):
            raise http_error(status.HTTP_409_CONFLICT, "no_call", "you have no call")
        return {"ok": True}
    out = await run_command(_cti(request).hangup(user.id))
    return {"ok": True, "channel": out["result"]}


@router.post("/phone/hold", response_model=Ok)
async def phone_hold(request: Request, user: User = Depends(agent)) -> Json:
    """Hold as the phone holds (the caller hears music, the agent stays busy)."""
    if not _demo_phone(request, user, "hold_on_desk_phone").hold(user.extension):
        raise http_error(status.HTTP_409_CONFLICT, "no_call", "no connected call to hold")
    return {"ok": True}


@router.post("/phone/unhold", response_model=Ok)
async def phone_unhold(request: Request, user: User = Depends(agent)) -> Json:
    if not _demo_phone(request, user, "hold_on_desk_phone").unhold(user.extension):
        raise http_error(status.HTTP_409_CONFLICT, "no_call", "no call on hold")
    return {"ok": True}


@router.post("/phone/mute", response_model=Ok)
async def phone_mute(request: Request, user: User = Depends(agent)) -> Json:
    """The microphone off (the phone's own business: Asterisk is not told)."""
    if not _demo_phone(request, user, "mute_on_desk_phone").mute(user.extension, True):
        raise http_error(status.HTTP_409_CONFLICT, "no_call", "no connected call")
    return {"ok": True}


@router.post("/phone/unmute", response_model=Ok)
async def phone_unmute(request: Request, user: User = Depends(agent)) -> Json:
    _demo_phone(request, user, "mute_on_desk_phone").mute(user.extension, False)
    return {"ok": True}


class KeysIn(BaseModel):
    digits: str = Field(min_length=1, max_length=32, pattern=r"^[0-9*#A-Da-d]+$")


@router.post("/phone/dtmf")
async def phone_dtmf(body: KeysIn, request: Request, user: User = Depends(agent)) -> Json:
    """Keys pressed on the phone during a call (the far party's IVR or voicemail hears them);
    without the demo phone, the CTI plays them into the call."""
    phones = _pbx_phones(request, user)
    if phones is None:
        return await run_command(_cti(request).dtmf(user.id, body.digits))
    if not phones.dtmf(user.extension, body.digits):
        raise http_error(status.HTTP_409_CONFLICT, "no_call", "no connected call")
    return {"ok": True}


class ConferenceIn(BaseModel):
    kind: Literal["agent", "number"]
    target: str = Field(min_length=1, max_length=32, pattern=r"^[0-9+*#]+$")


@router.post("/phone/conference")
async def phone_conference(body: ConferenceIn, request: Request,
                           user: User = Depends(agent)) -> Json:
    """Add a colleague (their phone rings; they choose to join) or a keyholder's number to
    the current call: a three-way call."""
    return await run_command(_cti(request).conference(user.id, body.target))


class DispositionIn(BaseModel):
    disposition: str = Field(min_length=1, max_length=64)
    note: str | None = Field(None, max_length=500)


@router.post("/calls/{call_id}/disposition", response_model=Disposed)
async def call_disposition(call_id: str, body: DispositionIn, request: Request,
                           session: AsyncSession = Depends(db_session),
                           user: User = Depends(agent)) -> Json:
    """What the call was about, picked in wrap-up from the center's list: kept on the call
    record (or until the record is stored, when the call has only just ended)."""
    services = get_services(request)
    if body.disposition not in await choice_codes(session, services, "disposition"):
        raise http_error(status.HTTP_422_UNPROCESSABLE_CONTENT, "bad_disposition_code",
                         f"disposition: no such disposition {body.disposition!r}")
    await session.commit()
    try:
        return await dispose(services.db, services.clock, actor_of(user), call_id,
                             body.disposition, body.note)
    except ValueError as exc:
        raise http_error(status.HTTP_422_UNPROCESSABLE_CONTENT, "invalid", str(exc)) from exc


# ---------------------------------------------------------------------- the supervisor's grid


@router.get("/agents", response_model=AgentGrid)
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
