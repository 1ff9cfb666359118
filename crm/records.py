"""Creating, changing and archiving subscriber records, each change audited in its transaction.

All writers take ``(session, clock, actor, ...)``, add the change and its audit entry to the
session and flush; the caller commits (or rolls back both). Nothing is deleted: ``archive``
stamps ``archived_at`` and archived rows stay readable.
"""

from __future__ import annotations

from datetime import time
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, func, inspect, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.elements import ColumnElement

from core import audit
from core.clock import Clock
from core.db import Base
from core.security import hash_code, verify_code
from crm.errors import FieldError, NotFound
from crm.models import (
    Account,
    AccountStatus,
    Contact,
    ContactRole,
    Contract,
    ExpectedState,
    Holiday,
    KbArticle,
    Note,
    Panel,
    PaymentStatus,
    Phone,
    PhoneKind,
    Premises,
    PremisesType,
    ScheduleException,
    ScheduleWindow,
    Ticket,
    WorkOrder,
    WorkOrderStatus,
    Zone,
)
from crm.phones import InvalidPhone, normalize, try_normalize

M = TypeVar("M", bound=Base)

ENTITY: dict[type[Base], str] = {
    Account: "account", Premises: "premises", Panel: "panel", Zone: "zone",
    Contact: "contact", Phone: "phone", ScheduleWindow: "schedule_window", Holiday: "holiday",
    ScheduleException: "schedule_exception", Contract: "contract", Note: "note",
    Ticket: "ticket", WorkOrder: "work_order", KbArticle: "kb_article",
}

# Fields a change may never touch directly (identity, ownership, secrets, life cycle).
_FIXED = {"id", "account_id", "panel_id", "contact_id", "archived_at", "created_at",
          "created_by", "passcode_hash", "duress_hash", "e164", "search_text", "views",
          "done_at", "closed_at", "completed_at", "updated_at"}

_CHOICES: dict[tuple[type[Base], str], set[str]] = {
    (Account, "status"): {s.value for s in AccountStatus},
    (Account, "language"): {"zh-CN", "en"},
    (Premises, "type"): {t.value for t in PremisesType},
    (Contact, "role"): {r.value for r in ContactRole},
    (Phone, "kind"): {k.value for k in PhoneKind},
    (Contract, "payment_status"): {s.value for s in PaymentStatus},
    (ScheduleException, "expected"): {s.value for s in ExpectedState},
    (WorkOrder, "status"): {s.value for s in WorkOrderStatus},
}


def snapshot(obj: Base) -> dict[str, Any]:
    """core's audit snapshot, with times of day as text (core's JSON conversion lacks them)."""
    return {k: v.isoformat() if isinstance(v, time) else v
            for k, v in audit.snapshot(obj).items()}


def entity_of(obj: Base) -> str:
    return ENTITY[type(obj)]


async def get(session: AsyncSession, model: type[M], record_id: int) -> M:
    """A record by id, archived or not; :class:`NotFound` otherwise."""
    obj = await session.get(model, record_id)
    if obj is None:
        raise NotFound(ENTITY[model], record_id)
    return obj


def _columns(obj: Base) -> dict[str, bool]:
    """Column attribute name -> whether it is nullable."""
    return {a.key: bool(a.columns[0].nullable) for a in inspect(obj).mapper.column_attrs}


def _check_choices(obj: Base) -> None:
    for (model, field), allowed in _CHOICES.items():
        if isinstance(obj, model):
            value = getattr(obj, field)
            if value not in allowed:
                raise FieldError(field, f"must be one of {', '.join(sorted(allowed))}")


async def _check_rules(session: AsyncSession, obj: Base) -> None:
    """Rules that need the database or more than one field; checked before the change is
    flushed, so a broken rule is a named field error, not a constraint violation."""
    with session.no_autoflush:
        await _check_rules_unflushed(session, obj)


async def _check_rules_unflushed(session: AsyncSession, obj: Base) -> None:
    _check_choices(obj)
    if isinstance(obj, Account):
        try:
            ZoneInfo(obj.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise FieldError("timezone", f"unknown time zone {obj.timezone!r}") from exc
        clash = await session.execute(select(Account.id).where(
            Account.receiver_prefix == obj.receiver_prefix, Account.number == obj.number,
            Account.id != (obj.id or 0)))
        if clash.first() is not None:
            prefix = obj.receiver_prefix or "(none)"
            raise FieldError("number", f"account number {obj.number} already exists for "
                                       f"receiver prefix {prefix}")
    elif isinstance(obj, Zone):
        clash = await session.execute(select(Zone.id).where(
            Zone.panel_id == obj.panel_id, Zone.number == obj.number, Zone.id != (obj.id or 0)))
        if clash.first() is not None:
            raise FieldError("number", f"zone {obj.number} already exists on this panel")
    elif isinstance(obj, Panel) and obj.premises_id is not None:
        owner = await session.scalar(select(Premises.account_id).where(
            Premises.id == obj.premises_id))
        if owner != obj.account_id:
            raise FieldError("premises_id", "premises does not belong to this account")
    elif isinstance(obj, ScheduleWindow):
        if obj.opens == obj.closes:
            raise FieldError("closes", "must differ from opens")
    elif isinstance(obj, ScheduleException):
        if obj.ends_at <= obj.starts_at:
            raise FieldError("ends_at", "must be after starts_at")
    elif isinstance(obj, Contract):
        if obj.ends_on is not None and obj.ends_on < obj.starts_on:
            raise FieldError("ends_on", "must not be before starts_on")
    elif isinstance(obj, WorkOrder) and obj.panel_id is not None:
        owner = await session.scalar(select(Panel.account_id).where(Panel.id == obj.panel_id))
        if owner != obj.account_id:
            raise FieldError("panel_id", "panel does not belong to this account")


async def create(session: AsyncSession, clock: Clock, actor: audit.Actor, obj: M,
                 note: str | None = None) -> M:
    """Add ``obj`` after checking its rules, and audit its creation."""
    await _check_rules(session, obj)
    session.add(obj)
    await session.flush()
    after = snapshot(obj)
    audit.record(session, actor, "create", entity_of(obj), after["id"], None, after, note=note,
                 clock=clock)
    return obj


def _set(obj: Base, key: str, value: Any, region: str) -> None:
    """Assign one changed field, translating the fields that are not stored as given."""
    if key in ("passcode", "duress_code") and isinstance(obj, Contact):
        column = "passcode_hash" if key == "passcode" else "duress_hash"
        setattr(obj, column, hash_code(value) if value else None)
    elif key == "number" and isinstance(obj, Phone):
        try:
            obj.e164 = normalize(value, region)
        except InvalidPhone as exc:
            raise FieldError("number", str(exc)) from exc
        obj.raw = value
    elif key in ("status", "assignee_id") and isinstance(obj, Ticket):
        raise FieldError(key, "changes only through a ticket transition")
    elif key in _FIXED or key not in _columns(obj):
        raise FieldError(key, "cannot be changed")
    elif value is None and not _columns(obj)[key]:
        raise FieldError(key, "may not be null")
    else:
        setattr(obj, key, value)


async def update(session: AsyncSession, clock: Clock, actor: audit.Actor, obj: M,
                 changes: dict[str, Any], region: str = "CN") -> M:
    """Apply ``changes`` (field -> new value), check the rules, audit before and after."""
    before = snapshot(obj)
    stored = (obj.passcode_hash, obj.duress_hash) if isinstance(obj, Contact) else (None, None)
    for key, value in changes.items():
        _set(obj, key, value, region)
    if isinstance(obj, Contact):
        _check_codes_differ(changes)
        _check_against_stored(stored, changes)
    if isinstance(obj, KbArticle):
        obj.search_text = kb_search_text(obj.title, obj.tags, obj.body)
    if isinstance(obj, WorkOrder) and "status" in changes:
        obj.completed_at = clock.now() if obj.status == WorkOrderStatus.done.value else None
    if hasattr(obj, "updated_at"):
        obj.updated_at = clock.now()
    await _check_rules(session, obj)
    await session.flush()
    after = snapshot(obj)
    if after != before:
        audit.record(session, actor, "update", entity_of(obj), after["id"], before, after,
                     clock=clock)
    return obj


async def archive(session: AsyncSession, clock: Clock, actor: audit.Actor, obj: M,
                  reason: str | None = None) -> M:
    """Stamp ``archived_at`` (once); the record stays readable and is audited."""
    if getattr(obj, "archived_at", None) is not None:
        return obj
    before = snapshot(obj)
    obj.archived_at = clock.now()  # type: ignore[attr-defined]
    await session.flush()
    audit.record(session, actor, "archive", entity_of(obj), before["id"], before,
                 snapshot(obj), note=reason, clock=clock)
    return obj


def kb_search_text(title: str, tags: str, body: str) -> str:
    return " ".join((title, tags, body)).lower()


def _check_codes_differ(given: dict[str, Any]) -> None:
    passcode, duress = given.get("passcode"), given.get("duress_code")
    if passcode and duress and passcode == duress:
        raise FieldError("duress_code", "must differ from the passcode")


def _check_against_stored(stored: tuple[str | None, str | None],
                          given: dict[str, Any]) -> None:
    """A new passcode may not equal the kept duress code, nor a new duress code the kept
    passcode (the stored one is only a hash, so it is checked by verifying)."""
    passcode_hash, duress_hash = stored
    if given.get("passcode") and "duress_code" not in given and verify_code(
            duress_hash, given["passcode"]):
        raise FieldError("passcode", "must differ from the duress code")
    if given.get("duress_code") and "passcode" not in given and verify_code(
            passcode_hash, given["duress_code"]):
        raise FieldError("duress_code", "must differ from the passcode")


# --- accounts -------------------------------------------------------------------------------


async def create_account(session: AsyncSession, clock: Clock, actor: audit.Actor, *,
                         number: str, name: str, receiver_prefix: str = "",
                         status: str = "active", language: str = "zh-CN",
                         timezone: str = "Asia/Shanghai") -> Account:
    now = clock.now()
    account = Account(number=number, name=name, receiver_prefix=receiver_prefix, status=status,
                      language=language, timezone=timezone, created_at=now, updated_at=now)
    return await create(session, clock, actor, account)


async def load_account(session: AsyncSession, account_id: int) -> Account:
    """An account with everything the record page and the completeness score read."""
    stmt = (select(Account).where(Account.id == account_id).options(
        selectinload(Account.premises),
        selectinload(Account.panels).selectinload(Panel.zones),
        selectinload(Account.contacts).selectinload(Contact.phones),
        selectinload(Account.phones),
        selectinload(Account.windows),
        selectinload(Account.holidays),
        selectinload(Account.exceptions),
        selectinload(Account.contracts),
    ).execution_options(populate_existing=True))
    account = (await session.execute(stmt)).scalar_one_or_none()
    if account is None:
        raise NotFound("account", account_id)
    return account


def _looks_like_phone(q: str) -> bool:
    digits = sum(ch.isdigit() for ch in q)
    return digits >= 5 and all(ch.isdigit() or ch in "+-() ." for ch in q)


async def list_accounts(session: AsyncSession, *, q: str | None = None,
                        status: str | None = None, receiver_prefix: str | None = None,
                        include_archived: bool = False, limit: int = 50, offset: int = 0,
                        region: str = "CN") -> tuple[list[dict[str, Any]], int]:
    """A page of accounts matching a search over number, name, phone and premises address."""
    address = (select(Premises.address).where(Premises.account_id == Account.id,
                                              Premises.archived_at.is_(None))
               .order_by(Premises.id).limit(1).scalar_subquery())
    stmt = select(Account, address.label("address"))
    conds: list[ColumnElement[bool]] = []
    if not include_archived:
        conds.append(Account.archived_at.is_(None))
    if status:
        conds.append(Account.status == status)
    if receiver_prefix is not None:
        conds.append(Account.receiver_prefix == receiver_prefix)
    if q and q.strip():
        q = q.strip()
        alternatives: list[ColumnElement[bool]] = [
            Account.number == q, Account.number.startswith(q, autoescape=True),
            Account.name.icontains(q, autoescape=True),
            select(Premises.id).where(Premises.account_id == Account.id,
                                      Premises.address.icontains(q, autoescape=True)).exists()]
        e164 = try_normalize(q, region) if _looks_like_phone(q) else None
        if e164 is not None:
            alternatives.append(select(Phone.id).where(
                Phone.account_id == Account.id, Phone.e164 == e164,
                Phone.archived_at.is_(None)).exists())
        conds.append(or_(*alternatives))
    if conds:
        stmt = stmt.where(and_(*conds))
    total = await session.scalar(select(func.count()).select_from(
        select(Account.id).where(*conds).subquery())) or 0
    rows = (await session.execute(stmt.order_by(Account.receiver_prefix, Account.number)
                                  .limit(limit).offset(offset))).all()
    return [account_dict(a) | {"address": addr} for a, addr in rows], total


def account_dict(a: Account) -> dict[str, Any]:
    return {"id": a.id, "number": a.number, "receiver_prefix": a.receiver_prefix,
            "name": a.name, "status": a.status, "language": a.language, "timezone": a.timezone,
            "created_at": a.created_at.isoformat(), "updated_at": a.updated_at.isoformat(),
            "archived": a.archived_at is not None}


# --- contacts and phones --------------------------------------------------------------------


async def add_phone(session: AsyncSession, clock: Clock, actor: audit.Actor, *,
                    account_id: int, number: str, kind: str = "mobile",
                    contact_id: int | None = None, region: str = "CN",
                    field: list[str | int] | None = None) -> Phone:
    """Index a number for an account (and a contact); ``field`` locates errors in a request."""
    try:
        e164 = normalize(number, region)
    except InvalidPhone as exc:
        raise FieldError(field or ["number"], str(exc)) from exc
    phone = Phone(account_id=account_id, contact_id=contact_id, kind=kind, raw=number.strip(),
                  e164=e164)
    return await create(session, clock, actor, phone)


async def create_contact(session: AsyncSession, clock: Clock, actor: audit.Actor, *,
                         account_id: int, name: str, role: str = "keyholder",
                         call_order: int | None = None, passcode: str | None = None,
                         duress_code: str | None = None, notes: str = "",
                         phones: list[dict[str, str]] | None = None,
                         region: str = "CN") -> Contact:
    """Add a person to the call list (last, unless ``call_order`` is given), codes hashed."""
    await get(session, Account, account_id)
    _check_codes_differ({"passcode": passcode, "duress_code": duress_code})
    if call_order is None:
        last = await session.scalar(select(func.max(Contact.call_order)).where(
            Contact.account_id == account_id, Contact.archived_at.is_(None)))
        call_order = (last or 0) + 1
    contact = Contact(account_id=account_id, name=name, role=role, call_order=call_order,
                      passcode_hash=hash_code(passcode) if passcode else None,
                      duress_hash=hash_code(duress_code) if duress_code else None, notes=notes)
    await create(session, clock, actor, contact)
    for i, p in enumerate(phones or []):
        await add_phone(session, clock, actor, account_id=account_id, contact_id=contact.id,
                        number=p["number"], kind=p.get("kind", "mobile"), region=region,
                        field=["phones", i, "number"])
    return contact
