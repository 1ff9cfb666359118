"""What other packages may ask of crm. They never read crm tables; they call these.

Readers take a session; writers take ``(session, clock, actor, ...)`` and leave the commit to the
caller, so a change and its audit entry commit together.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any, Literal, cast

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import alerts, audit, throttle
from core.clock import Clock
from core.db import in_param, one_of
from core.security import verify_code_async
from crm import records
from crm.completeness import Completeness, assess
from crm.config import CrmSettings, get_crm_settings
from crm.errors import CodeLocked, FieldError, NotFound
from crm.kb import create_article, search, view_article
from crm.models import (
    Account,
    Contact,
    Contract,
    Holiday,
    Panel,
    Phone,
    ScheduleException,
    ScheduleWindow,
    Ticket,
    TicketStatus,
    Zone,
)
from crm.phones import PhoneOwner, lookup_by_phone, normalize, try_normalize
from crm.schedule import Override, Schedule, Window, expected_state
from crm.tickets import SlaPolicy, create_ticket, create_work_order, sla_colour, transition

__all__ = [
    "CallListEntry", "Completeness", "FieldError", "NotFound", "PhoneOwner", "Schedule",
    "SlaPolicy", "account_info", "account_summary", "call_list", "completeness",
    "create_article", "create_ticket", "create_work_order", "current_contract",
    "expected_state", "find_account", "find_account_info", "find_account_infos",
    "get_schedule", "get_schedules", "live_account_infos",
    "lookup_by_phone", "normalize", "panel_settings", "scheduled_account_ids", "search",
    "sla_colour", "transition", "zones",
    "try_normalize", "verify_account_code", "verify_contact_code", "view_article",
]

CodeResult = Literal["valid", "duress", "invalid"]


@dataclass(frozen=True, slots=True)
class CallListEntry:
    """One stop of a verification round: the premises line first (``contact_id`` None,
    ``role`` "premises", ``order`` 0), then the contacts in call-list order."""

    contact_id: int | None
    name: str
    role: str
    order: int
    phones: list[dict[str, str]] = field(default_factory=list)
    has_passcode: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


async def find_account(session: AsyncSession, number: str,
                       receiver_prefix: str = "") -> int | None:
    """The id of the live account a receiver reports as ``number`` (for signal routing)."""
    return await session.scalar(select(Account.id).where(
        Account.receiver_prefix == receiver_prefix, Account.number == number,
        Account.archived_at.is_(None)))


def _info(a: Account) -> dict[str, Any]:
    return {"id": a.id, "number": a.number, "receiver_prefix": a.receiver_prefix,
            "name": a.name, "status": a.status, "language": a.language,
            "timezone": a.timezone, "archived": a.archived_at is not None}


async def account_info(session: AsyncSession, account_id: int) -> dict[str, Any] | None:
    """The account's identity, status and test-report interval in one primary-key read (None
    if there is none)."""
    row = (await session.execute(select(*_INFO_COLUMNS, _TEST_INTERVAL, Account.archived_at)
                                 .where(Account.id == account_id))).mappings().first()
    if row is None:
        return None
    out = dict(row)
    out["archived"] = out.pop("archived_at") is not None
    return out


async def find_account_info(session: AsyncSession, number: str,
                            receiver_prefix: str = "") -> dict[str, Any] | None:
    """Like :func:`find_account` with identity and status, from the unique index."""
    a = await session.scalar(select(Account).where(
        Account.receiver_prefix == receiver_prefix, Account.number == number,
        Account.archived_at.is_(None)))
    return None if a is None else _info(a)


async def find_account_infos(session: AsyncSession,
                             numbers: Iterable[str]) -> list[dict[str, Any]]:
    """The live accounts reported as any of ``numbers``, under every receiver prefix, with
    their test-report interval: what a batch of signals needs in one query (the caller picks
    by prefix)."""
    wanted = sorted({n for n in numbers if n})
    out: list[dict[str, Any]] = []
    dialect = session.get_bind().dialect.name
    stmt = _FIND_BY_NUMBERS.get(dialect)
    if stmt is None:  # built once: rows, not ORM objects (a batch reads hundreds)
        stmt = _FIND_BY_NUMBERS[dialect] = select(*_INFO_COLUMNS, _TEST_INTERVAL).where(
            in_param(dialect, Account.number, "numbers"), Account.archived_at.is_(None))
    for i in range(0, len(wanted), 900):
        rows = await session.execute(stmt, {"numbers": wanted[i:i + 900]})
        out += [{**row, "archived": False} for row in rows.mappings()]
    return out


_FIND_BY_NUMBERS: dict[str, Any] = {}  # dialect -> statement


_INFO_COLUMNS = (Account.id, Account.number, Account.receiver_prefix, Account.name,
                 Account.status, Account.language, Account.timezone)
# The shortest test-report interval of the account's live panels (None: not supervised), read
# with the account so a batch's test reports need no query of their own.
_TEST_INTERVAL = (select(func.min(Panel.test_interval_minutes))
                  .where(Panel.account_id == Account.id, Panel.archived_at.is_(None),
                         Panel.test_interval_minutes > 0)
                  .scalar_subquery().label("test_interval_minutes"))


async def live_account_infos(session: AsyncSession, after_id: int,
                             limit: int) -> list[dict[str, Any]]:
    """Live accounts with an id above ``after_id``, by id, at most ``limit``, as
    :func:`find_account_infos` gives them: for a reader that keeps every account in memory."""
    dialect = session.get_bind().dialect.name
    stmt = _LIVE_PAGE.get(dialect)
    if stmt is None:
        stmt = _LIVE_PAGE[dialect] = (
            select(*_INFO_COLUMNS, _TEST_INTERVAL)
            .where(Account.id > bindparam("after"), Account.archived_at.is_(None))
            .order_by(Account.id).limit(bindparam("limit")))
    rows = await session.execute(stmt, {"after": after_id, "limit": limit})
    return [{**row, "archived": False} for row in rows.mappings()]


_LIVE_PAGE: dict[str, Any] = {}  # dialect -> statement


async def scheduled_account_ids(session: AsyncSession) -> list[int]:
    """Live accounts that have at least one live weekly window (whose openings are judged)."""
    rows = await session.execute(
        select(ScheduleWindow.account_id).join(Account, Account.id == ScheduleWindow.account_id)
        .where(ScheduleWindow.archived_at.is_(None), Account.archived_at.is_(None))
        .distinct().order_by(ScheduleWindow.account_id))
    return list(rows.scalars())


async def zones(session: AsyncSession, account_id: int) -> list[dict[str, Any]]:
    """Live zones of the account's live panels, with their devices."""
    rows = await session.execute(
        select(Zone, Panel.model).join(Panel, Panel.id == Zone.panel_id)
        .where(Panel.account_id == account_id, Panel.archived_at.is_(None),
               Zone.archived_at.is_(None)).order_by(Panel.id, Zone.number))
    return [{"panel_id": z.panel_id, "number": z.number, "description": z.description,
             "device_type": z.device_type, "device_model": z.device_model,
             "panel_model": model} for z, model in rows.all()]


async def call_list(session: AsyncSession, account_id: int) -> list[CallListEntry]:
    """Whom to call to verify an alarm, in order; archived contacts and numbers left out."""
    await records.get(session, Account, account_id)
    contacts = (await session.execute(
        select(Contact).where(Contact.account_id == account_id, Contact.archived_at.is_(None))
        .order_by(Contact.call_order, Contact.id))).scalars().all()
    phones = (await session.execute(
        select(Phone).where(Phone.account_id == account_id, Phone.archived_at.is_(None))
        .order_by(Phone.id))).scalars().all()
    by_contact: dict[int | None, list[dict[str, str]]] = {}
    for p in phones:
        by_contact.setdefault(p.contact_id, []).append(
            {"e164": p.e164, "raw": p.raw, "kind": p.kind})
    out = []
    if None in by_contact:
        out.append(CallListEntry(None, "premises", "premises", 0, by_contact[None]))
    out += [CallListEntry(c.id, c.name, c.role, c.call_order, by_contact.get(c.id, []),
                          c.passcode_hash is not None) for c in contacts]
    return out


async def verify_contact_code(session: AsyncSession, clock: Clock, actor: audit.Actor,
                              contact_id: int, code: str,
                              settings: CrmSettings | None = None) -> CodeResult:
    """Check a code a caller gave for a contact. ``duress`` must look like success to the caller
    while the system escalates silently; every check is audited (the result in the note).

    Guessing is throttled like the IVR's PINs: after ``code_max_failures`` wrong codes for the
    contact, or ``code_operator_max_failures`` by the operator, checks are refused
    (:class:`CodeLocked`) for ``code_lockout_minutes``; the lock is audited and queued as an
    alert for the supervisors (:mod:`core.alerts`), published once the caller commits."""
    st = settings or get_crm_settings()
    contact = await records.get(session, Contact, contact_id)
    now = clock.now()
    keys = {"contact": f"code-contact:{contact.id}"}
    if actor.user_id is not None:
        keys["operator"] = f"code-operator:{actor.user_id}"
    for scope, key in keys.items():
        until = await throttle.locked_until(session, [key], now)
        if until is not None:
            raise CodeLocked(scope, int((until - now).total_seconds()) + 1)
    result: CodeResult = "invalid"
    if contact.archived_at is None and code:
        if await verify_code_async(contact.duress_hash, code):
            result = "duress"
        elif await verify_code_async(contact.passcode_hash, code):
            result = "valid"
    audit.record(session, actor, "verify_code", "contact", contact.id, note=result, clock=clock)
    window, lock_for = (timedelta(minutes=st.code_window_minutes),
                        timedelta(minutes=st.code_lockout_minutes))
    limits = {"contact": throttle.Limit(st.code_max_failures, window, lock_for),
              "operator": throttle.Limit(st.code_operator_max_failures, window, lock_for)}
    for scope, key in keys.items():
        if result != "invalid":  # a right code clears the contact's count, not the operator's
            if scope == "contact":
                await throttle.clear(session, key, now)
        elif (until := await throttle.fail(session, key, limits[scope], now)) is not None:
            note = (f"{limits[scope].max_failures} wrong codes "
                    + (f"for contact {contact.id}" if scope == "contact" else "by this operator")
                    + f"; checks refused until {until.isoformat()}")
            audit.record(session, actor, "code_lockout", "contact", contact.id, None,
                         {"scope": scope, "locked_until": until}, note=note, clock=clock)
            alerts.queue(session, {"kind": "code_locked", "scope": scope,
                                   "contact_id": contact.id, "account_id": contact.account_id,
                                   "operator": actor.name, "operator_id": actor.user_id,
                                   "locked_until": until.isoformat(), "note": note})
    return result


async def verify_account_code(session: AsyncSession, clock: Clock, actor: audit.Actor,
                              account_id: int, code: str) -> tuple[CodeResult, int | None]:
    """Check a code against every live contact of an account (the IVR does not know who is
    calling); returns the result and the contact it matched. Audited on the account."""
    await records.get(session, Account, account_id)
    contacts = (await session.execute(select(Contact).where(
        Contact.account_id == account_id, Contact.archived_at.is_(None))
        .order_by(Contact.call_order, Contact.id))).scalars().all()
    result: CodeResult = "invalid"
    matched: int | None = None
    if code:
        for c in contacts:
            if await verify_code_async(c.duress_hash, code):
                result, matched = "duress", c.id
                break
            if await verify_code_async(c.passcode_hash, code):
                result, matched = "valid", c.id
                break
    audit.record(session, actor, "verify_code", "account", account_id,
                 note=f"{result} contact={matched}" if matched else result, clock=clock)
    return result, matched


async def completeness(session: AsyncSession, account_id: int, today: date) -> Completeness:
    return assess(await records.load_account(session, account_id), today)


async def account_summary(session: AsyncSession, account_id: int,
                          today: date) -> dict[str, Any]:
    """What a screen pop shows: the account, its first premises, panels, the call list, the
    contract's payment status, open tickets and the completeness score."""
    account = await records.load_account(session, account_id)
    premises = [p for p in account.premises if p.archived_at is None]
    contracts = [c for c in account.contracts if c.archived_at is None
                 and c.starts_on <= today and (c.ends_on is None or c.ends_on >= today)]
    open_tickets = await session.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.account_id == account_id, Ticket.archived_at.is_(None),
        Ticket.status != TicketStatus.closed.value)) or 0
    p0 = premises[0] if premises else None
    return {
        **records.account_dict(account),
        "premises": None if p0 is None else {
            "id": p0.id, "name": p0.name, "address": p0.address, "latitude": p0.latitude,
            "longitude": p0.longitude, "type": p0.type, "access_notes": p0.access_notes,
            "hazard_notes": p0.hazard_notes},
        "panels": [{"id": p.id, "make": p.make, "model": p.model, "protocol": p.protocol,
                    "account_code": p.account_code,
                    "zones": sum(1 for z in p.zones if z.archived_at is None)}
                   for p in account.panels if p.archived_at is None],
        "call_list": [e.to_dict() for e in await call_list(session, account_id)],
        "contract": None if not contracts else {
            "fee_plan": contracts[-1].fee_plan,
            "payment_status": contracts[-1].payment_status,
            "ends_on": contracts[-1].ends_on.isoformat() if contracts[-1].ends_on else None},
        "open_tickets": open_tickets,
        "completeness": assess(account, today).to_dict(),
    }


def _schedule_of(account: Account, windows: list[ScheduleWindow], holidays: list[Holiday],
                 overrides: list[ScheduleException]) -> Schedule:
    return Schedule(
        account_id=account.id, timezone=account.timezone,
        windows=tuple(Window(w.weekday, w.opens, w.closes) for w in windows),
        holidays=frozenset(h.day for h in holidays),
        overrides=tuple(Override(o.starts_at, o.ends_at,
                                 "open" if o.expected == "open" else "closed", o.reason)
                        for o in overrides))


async def get_schedules(session: AsyncSession, account_ids: list[int]) -> dict[int, Schedule]:
    """The live open/close schedules of several accounts (for the alarm engine's timers)."""
    if not account_ids:
        return {}

    def of(column: Any) -> Any:
        return one_of(session, column, account_ids)

    accounts = (await session.execute(select(Account).where(of(Account.id)))).scalars().all()
    windows = (await session.execute(select(ScheduleWindow).where(
        of(ScheduleWindow.account_id), ScheduleWindow.archived_at.is_(None))
        .order_by(ScheduleWindow.weekday, ScheduleWindow.opens))).scalars().all()
    holidays = (await session.execute(select(Holiday).where(
        of(Holiday.account_id), Holiday.archived_at.is_(None)))).scalars().all()
    overrides = (await session.execute(select(ScheduleException).where(
        of(ScheduleException.account_id), ScheduleException.archived_at.is_(None))
        .order_by(ScheduleException.starts_at))).scalars().all()
    by_account: dict[int, tuple[list[Any], list[Any], list[Any]]] = {
        a.id: ([], [], []) for a in accounts}
    for place, rows in enumerate((windows, holidays, overrides)):
        for row in cast(Sequence[Any], rows):
            if row.account_id in by_account:
                by_account[row.account_id][place].append(row)
    return {a.id: _schedule_of(a, *by_account[a.id]) for a in accounts}


async def get_schedule(session: AsyncSession, account_id: int) -> Schedule:
    found = await get_schedules(session, [account_id])
    if account_id not in found:
        raise NotFound("account", account_id)
    return found[account_id]


async def panel_settings(session: AsyncSession, account_id: int) -> list[dict[str, Any]]:
    """Live panels with their test-report interval (for fail-to-test timers)."""
    rows = (await session.execute(select(Panel).where(
        Panel.account_id == account_id, Panel.archived_at.is_(None)))).scalars().all()
    return [{"id": p.id, "account_code": p.account_code, "protocol": p.protocol,
             "test_interval_minutes": p.test_interval_minutes} for p in rows]


async def current_contract(session: AsyncSession, account_id: int,
                           today: date) -> dict[str, Any] | None:
    c = await session.scalar(select(Contract).where(
        Contract.account_id == account_id, Contract.archived_at.is_(None),
        Contract.starts_on <= today).order_by(Contract.starts_on.desc()).limit(1))
    if c is None or (c.ends_on is not None and c.ends_on < today):
        return None
    return {"fee_plan": c.fee_plan, "monthly_fee": str(c.monthly_fee),
            "payment_status": c.payment_status,
            "ends_on": c.ends_on.isoformat() if c.ends_on else None}


async def sample_subscriber_numbers(session: AsyncSession,
                                    limit: int = 200) -> list[tuple[str, str]]:
    """(E.164, account name) of some live subscribers' phones, oldest first: callers for the
    demo's and the simulators' traffic, so their screen pops find a record."""
    rows = (await session.execute(
        select(Phone.e164, Account.name).join(Account, Account.id == Phone.account_id)
        .where(Phone.archived_at.is_(None), Account.archived_at.is_(None))
        .order_by(Phone.id).limit(limit))).all()
    return [(str(n), str(name)) for n, name in rows]
