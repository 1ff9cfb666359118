"""REST API of the receivers under ``/api``.

- **agent** (and above): read the signal journal (``GET /api/signals`` with filters, one signal,
  an account's recent signals).
- **admin**: manage DC-09 keys (``/api/receivers/dc09-keys``; a key is never shown back, only
  its kind, size and fingerprint) and receiver endpoints (``/api/receivers``).

Changes are audited in the same transaction and announced on the bus as
``receivers.config_changed`` after the commit, so running receivers reload their keys.
Removing a key or endpoint archives it (records are never deleted).
"""

# No ``from __future__ import annotations``: FastAPI reads the annotations at runtime.

from datetime import datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, Field, ValidationError, ValidationInfo, field_validator
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit, event_codes
from core.deps import actor_of, db_session, get_services, require_role
from core.models import Role, User
from receivers.config import (
    DEFAULT_ACCOUNT,
    endpoint_public,
    get_receiver_settings,
    key_public,
)
from receivers.dc09 import Dc09Key
from receivers.models import Dc09KeyRecord, ReceiverEndpoint, SignalRecord

router = APIRouter(prefix="/api", tags=["receivers"])

agent = require_role(Role.agent)
admin = require_role(Role.admin)
CONFIG_TOPIC = "receivers.config_changed"


def signal_public(rec: SignalRecord) -> dict[str, Any]:
    """A stored signal as JSON (raw bytes as hex, names of the event code)."""
    code = event_codes.lookup(rec.event_system, rec.event_code)
    return {
        "id": rec.id, "received_at": rec.received_at.isoformat(), "receiver": rec.receiver,
        "line": rec.line, "protocol": rec.protocol, "account": rec.account,
        "event_code": rec.event_code, "event_system": rec.event_system,
        "qualifier": rec.qualifier, "event_class": rec.event_class, "priority": rec.priority,
        "partition": rec.partition, "zone": rec.zone, "user": rec.user,
        "panel_time": rec.panel_time.isoformat() if rec.panel_time else None,
        "sequence": rec.sequence, "extra": dict(rec.extra or {}), "raw": rec.raw.hex(),
        "unknown_account": rec.unknown_account, "name_en": code.en, "name_zh": code.zh,
    }


# --- signals --------------------------------------------------------------------------------


@router.get("/signals")
async def list_signals(
    account: str | None = None,
    event_class: str | None = Query(None, alias="class"),
    receiver: str | None = None,
    protocol: str | None = None,
    since: datetime | None = Query(None, description="received at or after (ISO 8601)"),
    until: datetime | None = Query(None, description="received before (ISO 8601)"),
    unknown_account: bool | None = None,
    before_id: int | None = Query(None, description="page on: the next_before_id of a page"),
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0, le=100_000),
    session: AsyncSession = Depends(db_session),
    _: User = Depends(agent),
) -> dict[str, Any]:
    """Signals, newest first. Page with ``before_id`` (stable while signals arrive) or
    ``offset``."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise HTTPException(422, f"{name} needs a time zone (e.g. ...Z)")
    stmt = select(SignalRecord)
    if account is not None:
        stmt = stmt.where(SignalRecord.account == account.upper())
    if event_class is not None:
        stmt = stmt.where(SignalRecord.event_class == event_class)
    if receiver is not None:
        stmt = stmt.where(SignalRecord.receiver == receiver)
    if protocol is not None:
        stmt = stmt.where(SignalRecord.protocol == protocol)
    if since is not None:
        stmt = stmt.where(SignalRecord.received_at >= since)
    if until is not None:
        stmt = stmt.where(SignalRecord.received_at < until)
    if unknown_account is not None:
        stmt = stmt.where(SignalRecord.unknown_account.is_(unknown_account))
    if before_id is not None:
        stmt = stmt.where(SignalRecord.id < before_id)
    stmt = stmt.order_by(SignalRecord.id.desc()).offset(offset).limit(limit)
    items = [signal_public(r) for r in (await session.execute(stmt)).scalars()]
    return {"items": items,
            "next_before_id": items[-1]["id"] if len(items) == limit else None}


@router.get("/signals/{signal_id}")
async def get_signal(signal_id: int, session: AsyncSession = Depends(db_session),
                     _: User = Depends(agent)) -> dict[str, Any]:
    rec = await session.get(SignalRecord, signal_id)
    if rec is None:
        raise HTTPException(404, "no such signal")
    return signal_public(rec)


@router.get("/accounts/{account}/signals")
async def account_signals(
    account: str,
    receiver: str | None = None,
    limit: int = Query(50, ge=1, le=500),
    session: AsyncSession = Depends(db_session),
    _: User = Depends(agent),
) -> list[dict[str, Any]]:
    """The account's most recent signals (``account`` is the number the panel reports)."""
    stmt = select(SignalRecord).where(SignalRecord.account == account.upper())
    if receiver is not None:
        stmt = stmt.where(SignalRecord.receiver == receiver)
    stmt = stmt.order_by(SignalRecord.received_at.desc(), SignalRecord.id.desc()).limit(limit)
    return [signal_public(r) for r in (await session.execute(stmt)).scalars()]


# --- DC-09 keys -----------------------------------------------------------------------------


def _key_value(value: str, info: ValidationInfo) -> str:
    """The key must suit its kind (checked on ``value``, so the error names that field)."""
    kind = info.data.get("kind")
    if kind is not None:
        Dc09Key(kind, value)  # ValueError says what is wrong
    return value


class KeyIn(BaseModel):
    account: str = Field(min_length=1, max_length=32, pattern=r"^([0-9A-Fa-f]{1,16}|\*)$",
                         description='panel account, or "*" for the receiver\'s default key')
    receiver: str = Field("", max_length=64, description="empty: every DC-09 receiver")
    kind: Literal["hex", "text"]
    value: str = Field(min_length=16, max_length=64)
    note: str | None = Field(None, max_length=200)

    _valid_key = field_validator("value")(_key_value)


class KeyChange(BaseModel):
    kind: Literal["hex", "text"]
    value: str = Field(min_length=16, max_length=64)
    note: str | None = Field(None, max_length=200)

    _valid_key = field_validator("value")(_key_value)


def _audit_key(rec: Dc09KeyRecord) -> dict[str, Any]:
    out = key_public(rec)  # the key itself never goes into the audit log either
    out.pop("created_at", None)
    out.pop("updated_at", None)
    return out


async def _announce(request: Request, what: str) -> None:
    await get_services(request).bus.publish(CONFIG_TOPIC, {"what": what})


@router.get("/receivers/dc09-keys")
async def list_keys(include_archived: bool = False, session: AsyncSession = Depends(db_session),
                    _: User = Depends(admin)) -> list[dict[str, Any]]:
    stmt = select(Dc09KeyRecord).order_by(Dc09KeyRecord.receiver, Dc09KeyRecord.account)
    if not include_archived:
        stmt = stmt.where(Dc09KeyRecord.archived_at.is_(None))
    return [key_public(r) for r in (await session.execute(stmt)).scalars()]


@router.post("/receivers/dc09-keys", status_code=201)
async def create_key(body: KeyIn, request: Request, session: AsyncSession = Depends(db_session),
                     user: User = Depends(admin)) -> dict[str, Any]:
    account = body.account.upper() if body.account != DEFAULT_ACCOUNT else DEFAULT_ACCOUNT
    existing = await session.scalar(select(Dc09KeyRecord).where(
        Dc09KeyRecord.archived_at.is_(None), Dc09KeyRecord.receiver == body.receiver,
        Dc09KeyRecord.account == account))
    if existing is not None:
        raise HTTPException(409, f"account {account} already has a key (id {existing.id})")
    now = get_services(request).clock.now()
    rec = Dc09KeyRecord(receiver=body.receiver, account=account, kind=body.kind,
                        value=body.value, note=body.note, created_at=now, updated_at=now)
    session.add(rec)
    await session.flush()
    audit.record(session, actor_of(user), "create", "dc09_key", rec.id, None, _audit_key(rec),
                 clock=get_services(request).clock)
    await session.commit()
    await _announce(request, "dc09_keys")
    return key_public(rec)


async def _key(session: AsyncSession, key_id: int) -> Dc09KeyRecord:
    rec = await session.get(Dc09KeyRecord, key_id)
    if rec is None:
        raise HTTPException(404, "no such key")
    return rec


@router.put("/receivers/dc09-keys/{key_id}")
async def replace_key(key_id: int, body: KeyChange, request: Request,
                      session: AsyncSession = Depends(db_session),
                      user: User = Depends(admin)) -> dict[str, Any]:
    rec = await _key(session, key_id)
    if rec.archived_at is not None:
        raise HTTPException(409, "archived keys cannot be changed")
    before = _audit_key(rec)
    rec.kind, rec.value, rec.note = body.kind, body.value, body.note
    rec.updated_at = get_services(request).clock.now()
    audit.record(session, actor_of(user), "update", "dc09_key", rec.id, before, _audit_key(rec),
                 clock=get_services(request).clock)
    await session.commit()
    await _announce(request, "dc09_keys")
    return key_public(rec)


@router.delete("/receivers/dc09-keys/{key_id}")
async def archive_key(key_id: int, request: Request, session: AsyncSession = Depends(db_session),
                      user: User = Depends(admin)) -> dict[str, Any]:
    rec = await _key(session, key_id)
    if rec.archived_at is None:
        before = _audit_key(rec)
        rec.archived_at = get_services(request).clock.now()
        audit.record(session, actor_of(user), "archive", "dc09_key", rec.id, before,
                     _audit_key(rec), clock=get_services(request).clock)
        await session.commit()
        await _announce(request, "dc09_keys")
    return key_public(rec)


@router.get("/receivers/dc09-plaintext")
async def plaintext_accounts(
    request: Request, days: int = Query(7, ge=1, le=90),
    limit: int = Query(500, ge=1, le=5000),
    session: AsyncSession = Depends(db_session), _: User = Depends(admin),
) -> dict[str, Any]:
    """DC-09 accounts that reported in plain text within ``days`` (newest first): each with
    how many plain and encrypted messages, how many lacked a timestamp (never window-checked)
    and whether a key is configured for it, so an administrator sees which panels still need a
    key."""
    since = get_services(request).clock.now() - timedelta(days=days)
    plain = SignalRecord.extra["encrypted"].as_string() == "no"
    stmt = (select(SignalRecord.receiver, SignalRecord.account,
                   func.count().label("messages"),
                   func.sum(case((plain, 1), else_=0)).label("plain"),
                   func.sum(case((SignalRecord.panel_time.is_(None), 1), else_=0)).label("untimed"),
                   func.max(SignalRecord.received_at).label("last"))
            .where(SignalRecord.protocol == "dc09", SignalRecord.received_at >= since)
            .group_by(SignalRecord.receiver, SignalRecord.account)
            .having(func.sum(case((plain, 1), else_=0)) > 0)
            .order_by(func.max(SignalRecord.received_at).desc()).limit(limit))
    keyed = set((await session.execute(select(Dc09KeyRecord.account).where(
        Dc09KeyRecord.archived_at.is_(None)))).scalars())
    keyed |= set(get_receiver_settings().dc09_keys)
    rows = (await session.execute(stmt)).all()
    return {"days": days, "items": [
        {"receiver": r.receiver, "account": r.account, "plain": int(r.plain or 0),
         "encrypted": int(r.messages) - int(r.plain or 0), "untimed": int(r.untimed or 0),
         "last_plain_at": r.last.isoformat() if r.last else None,
         "has_key": r.account in keyed or DEFAULT_ACCOUNT in keyed} for r in rows]}


# --- receiver endpoints ---------------------------------------------------------------------


class EndpointIn(BaseModel):
    """Each rule is checked on the field that breaks it, so the error names that field."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    kind: Literal["dc09", "surgard", "ademco685"]
    transport: Literal["tcp", "udp", "tcp+udp", "serial", "connect"]
    host: str | None = Field(None, max_length=128)
    port: int | None = Field(None, ge=0, le=65535, validate_default=True)
    device: str | None = Field(None, max_length=200, validate_default=True)
    heartbeat_timeout: float | None = Field(None, gt=0)
    options: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True

    @field_validator("transport")
    @classmethod
    def _transport_fits_kind(cls, transport: str, info: ValidationInfo) -> str:
        kind = info.data.get("kind")
        if kind == "dc09" and transport not in ("tcp", "udp", "tcp+udp"):
            raise ValueError("DC-09 runs over tcp, udp or tcp+udp")
        if kind is not None and kind != "dc09" and transport not in ("serial", "tcp", "connect"):
            raise ValueError("serial receiver lines run over serial, tcp or connect")
        return transport

    @field_validator("port")
    @classmethod
    def _network_needs_port(cls, port: int | None, info: ValidationInfo) -> int | None:
        if info.data.get("transport") not in (None, "serial") and port is None:
            raise ValueError("a network endpoint needs a port")
        return port

    @field_validator("device")
    @classmethod
    def _serial_needs_device(cls, device: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("transport") == "serial" and not device:
            raise ValueError("a serial line needs its device path")
        return device


class EndpointChange(BaseModel):
    host: str | None = Field(None, max_length=128)
    port: int | None = Field(None, ge=0, le=65535)
    device: str | None = Field(None, max_length=200)
    heartbeat_timeout: float | None = Field(None, gt=0)
    options: dict[str, Any] | None = None
    enabled: bool | None = None


def _settings_endpoint(request: Request) -> dict[str, Any]:
    settings = get_services(request).settings
    rx = get_receiver_settings()
    transport = "+".join(t for t, on in (("tcp", rx.dc09_tcp), ("udp", rx.dc09_udp)) if on)
    return {"id": None, "name": rx.dc09_name, "kind": "dc09", "transport": transport,
            "host": settings.dc09_host, "port": settings.dc09_port, "device": None,
            "heartbeat_timeout": None, "options": {}, "enabled": bool(transport),
            "archived": False, "source": "settings"}


@router.get("/receivers")
async def list_endpoints(request: Request, include_archived: bool = False,
                         session: AsyncSession = Depends(db_session),
                         _: User = Depends(admin)) -> list[dict[str, Any]]:
    """The receivers: the settings' DC-09 listener and serial lines, then the database's."""
    out = [_settings_endpoint(request)]
    for line in get_receiver_settings().serial_lines:
        out.append({"id": None, "name": line.name, "kind": line.format,
                    "transport": line.transport, "host": line.host, "port": line.port,
                    "device": line.device, "heartbeat_timeout": line.heartbeat_timeout,
                    "options": {"baudrate": line.baudrate}, "enabled": True,
                    "archived": False, "source": "settings"})
    stmt = select(ReceiverEndpoint).order_by(ReceiverEndpoint.name)
    if not include_archived:
        stmt = stmt.where(ReceiverEndpoint.archived_at.is_(None))
    out += [endpoint_public(r) for r in (await session.execute(stmt)).scalars()]
    return out


@router.post("/receivers", status_code=201)
async def create_endpoint(body: EndpointIn, request: Request,
                          session: AsyncSession = Depends(db_session),
                          user: User = Depends(admin)) -> dict[str, Any]:
    if await session.scalar(select(ReceiverEndpoint.id).where(
            ReceiverEndpoint.name == body.name)) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"receiver {body.name} exists")
    now = get_services(request).clock.now()
    rec = ReceiverEndpoint(**body.model_dump(), created_at=now, updated_at=now)
    session.add(rec)
    await session.flush()
    audit.record(session, actor_of(user), "create", "receiver_endpoint", rec.id, None,
                 endpoint_public(rec), clock=get_services(request).clock)
    await session.commit()
    await _announce(request, "endpoints")
    return endpoint_public(rec)


async def _endpoint(session: AsyncSession, endpoint_id: int) -> ReceiverEndpoint:
    rec = await session.get(ReceiverEndpoint, endpoint_id)
    if rec is None:
        raise HTTPException(404, "no such receiver")
    return rec


@router.patch("/receivers/{endpoint_id}")
async def change_endpoint(endpoint_id: int, body: EndpointChange, request: Request,
                          session: AsyncSession = Depends(db_session),
                          user: User = Depends(admin)) -> dict[str, Any]:
    rec = await _endpoint(session, endpoint_id)
    before = endpoint_public(rec)
    for name, value in body.model_dump(exclude_unset=True).items():
        setattr(rec, name, value)
    try:
        current = endpoint_public(rec)
        EndpointIn(**{k: v for k, v in current.items() if k in EndpointIn.model_fields})
    except ValidationError as exc:
        raise HTTPException(422, [{"loc": ["body", *e["loc"]], "msg": e["msg"]}
                                  for e in exc.errors()]) from None
    rec.updated_at = get_services(request).clock.now()
    audit.record(session, actor_of(user), "update", "receiver_endpoint", rec.id, before,
                 endpoint_public(rec), clock=get_services(request).clock)
    await session.commit()
    await _announce(request, "endpoints")
    return endpoint_public(rec)


@router.delete("/receivers/{endpoint_id}")
async def archive_endpoint(endpoint_id: int, request: Request,
                           session: AsyncSession = Depends(db_session),
                           user: User = Depends(admin)) -> dict[str, Any]:
    rec = await _endpoint(session, endpoint_id)
    if rec.archived_at is None:
        before = endpoint_public(rec)
        rec.archived_at = get_services(request).clock.now()
        rec.enabled = False
        audit.record(session, actor_of(user), "archive", "receiver_endpoint", rec.id, before,
                     endpoint_public(rec), clock=get_services(request).clock)
        await session.commit()
        await _announce(request, "endpoints")
    return endpoint_public(rec)
