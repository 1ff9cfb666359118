"""REST API of the subscriber records under ``/api``.

Who may do what (roles are ranked: a supervisor may do what an agent may, an admin what a
supervisor may):

- **agent**: read everything (accounts with all their records, call lists, completeness,
  phone lookup, tickets, work orders, knowledge base), check a contact's passcode, add notes,
  record tickets, and start / finish tickets assigned to them.
- **supervisor**: manage tickets (edit, assign, close, send back for rework, archive), work
  orders and knowledge-base articles; archive notes.
- **admin**: create, change and archive subscriber data: accounts, premises, panels, zones,
  contacts, phone numbers, schedules, holidays, schedule exceptions, contracts.

Every change is audited in the same transaction. Archiving (``POST .../archive``) never deletes;
archived records stay readable (``include_archived=true`` in lists). A domain rule that fails
answers 422 in the same shape as a validation error, naming the field and the reason.
"""

# No ``from __future__ import annotations`` here: the generic routes below give FastAPI real
# classes as annotations.

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from core import alerts, audit
from core.db import Base
from core.deps import actor_of, db_session, get_services, require_role
from core.models import Role, User
from core.services import Services
from crm import kb, records, schemas, services, tickets
from crm.completeness import assess
from crm.errors import CodeLocked, FieldError, NotFound
from crm.models import (
    Account,
    Contact,
    Contract,
    Holiday,
    KbArticle,
    Note,
    Panel,
    Phone,
    Premises,
    ScheduleException,
    ScheduleWindow,
    Ticket,
    TicketStatus,
    WorkOrder,
    Zone,
)
from crm.phones import lookup_by_phone


class CrmRoute(APIRoute):
    """Turns the services' domain errors into 404 / 422 answers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except FieldError as exc:
                field = ".".join(str(p) for p in exc.loc)
                return JSONResponse(
                    {"detail": [{"field": field, "loc": ["body", *exc.loc], "msg": exc.msg,
                                 "type": "value_error"}],
                     "message": f"{field}: {exc.msg}"},
                    status_code=422)
            except NotFound as exc:
                return JSONResponse({"detail": str(exc)}, status_code=404)

        return run


router = APIRouter(prefix="/api", tags=["subscribers"], route_class=CrmRoute)

agent = require_role(Role.agent)
supervisor = require_role(Role.supervisor)
admin = require_role(Role.admin)


def _svc(request: Request) -> Services:
    return get_services(request)


def _today(svc: Services) -> date:
    return svc.clock.now().date()


def row(obj: Base) -> dict[str, Any]:
    """A record as JSON; secrets are reported only as present or not."""
    out = records.snapshot(obj)
    if isinstance(obj, Contact):
        out.pop("passcode_hash", None)
        out.pop("duress_hash", None)
        out["has_passcode"] = obj.passcode_hash is not None
        out["has_duress_code"] = obj.duress_hash is not None
    if isinstance(obj, KbArticle):
        out.pop("search_text", None)
    out["archived"] = out.get("archived_at") is not None
    return out


# --- accounts -------------------------------------------------------------------------------


@router.get("/accounts")
async def list_accounts(
    request: Request, session: AsyncSession = Depends(db_session), _: User = Depends(agent),
    q: str | None = Query(None, max_length=200,
                          description="account number, name, phone number or address"),
    status_: str | None = Query(None, alias="status", pattern="^(active|on_hold|cancelled)$"),
    receiver_prefix: str | None = Query(None, max_length=16),
    include_archived: bool = False,
    limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    items, total = await records.list_accounts(
        session, q=q, status=status_, receiver_prefix=receiver_prefix,
        include_archived=include_archived, limit=limit, offset=offset,
        region=_svc(request).settings.default_region)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.post("/accounts", status_code=201)
async def create_account(body: schemas.AccountIn, request: Request,
                         session: AsyncSession = Depends(db_session),
                         user: User = Depends(admin)) -> dict[str, Any]:
    svc = _svc(request)
    account = await records.create_account(session, svc.clock, actor_of(user),
                                           **body.model_dump(mode="json"))
    await session.commit()
    return records.account_dict(account)


@router.get("/accounts/{account_id}")
async def get_account(account_id: int, request: Request,
                      session: AsyncSession = Depends(db_session),
                      _: User = Depends(agent)) -> dict[str, Any]:
    """The whole record, archived parts included (flagged), with its completeness score."""
    a = await records.load_account(session, account_id)
    notes = (await session.execute(select(Note).where(Note.account_id == account_id)
                                   .order_by(Note.id.desc()).limit(100))).scalars().all()
    return {
        **records.account_dict(a),
        "premises": [row(p) for p in a.premises],
        "panels": [row(p) | {"zones": [row(z) for z in p.zones]} for p in a.panels],
        "contacts": [row(c) | {"phones": [row(p) for p in c.phones]} for c in a.contacts],
        "premises_phones": [row(p) for p in a.phones if p.contact_id is None],
        "schedule_windows": [row(w) for w in a.windows],
        "holidays": [row(h) for h in a.holidays],
        "schedule_exceptions": [row(e) for e in a.exceptions],
        "contracts": [row(c) for c in a.contracts],
        "notes": [row(n) for n in notes],
        "completeness": assess(a, _today(_svc(request))).to_dict(),
    }


@router.patch("/accounts/{account_id}")
async def update_account(account_id: int, body: schemas.AccountPatch, request: Request,
                         session: AsyncSession = Depends(db_session),
                         user: User = Depends(admin)) -> dict[str, Any]:
    svc = _svc(request)
    account = await records.get(session, Account, account_id)
    await records.update(session, svc.clock, actor_of(user), account,
                         body.model_dump(mode="json", exclude_unset=True))
    await session.commit()
    return records.account_dict(account)


@router.post("/accounts/{account_id}/archive")
async def archive_account(account_id: int, request: Request,
                          body: schemas.ArchiveIn | None = None,
                          session: AsyncSession = Depends(db_session),
                          user: User = Depends(admin)) -> dict[str, Any]:
    svc = _svc(request)
    account = await records.get(session, Account, account_id)
    await records.archive(session, svc.clock, actor_of(user), account,
                          (body.reason if body else "") or None)
    await session.commit()
    return records.account_dict(account)


@router.get("/accounts/{account_id}/summary")
async def account_summary(account_id: int, request: Request,
                          session: AsyncSession = Depends(db_session),
                          _: User = Depends(agent)) -> dict[str, Any]:
    """The screen-pop view of an account."""
    return await services.account_summary(session, account_id, _today(_svc(request)))


@router.get("/accounts/{account_id}/completeness")
async def account_completeness(account_id: int, request: Request,
                               session: AsyncSession = Depends(db_session),
                               _: User = Depends(agent)) -> dict[str, Any]:
    result = await services.completeness(session, account_id, _today(_svc(request)))
    return result.to_dict()


@router.get("/accounts/{account_id}/call-list")
async def account_call_list(account_id: int, session: AsyncSession = Depends(db_session),
                            _: User = Depends(agent)) -> dict[str, Any]:
    return {"items": [e.to_dict() for e in await services.call_list(session, account_id)]}


@router.get("/accounts/{account_id}/schedule")
async def account_schedule(account_id: int, request: Request,
                           session: AsyncSession = Depends(db_session),
                           _: User = Depends(agent)) -> dict[str, Any]:
    sched = await services.get_schedule(session, account_id)
    return {"timezone": sched.timezone,
            "expected_now": services.expected_state(sched, _svc(request).clock.now()),
            "windows": [{"weekday": w.weekday, "opens": w.opens.isoformat(),
                         "closes": w.closes.isoformat()} for w in sched.windows],
            "holidays": sorted(d.isoformat() for d in sched.holidays),
            "exceptions": [{"starts_at": o.starts_at.isoformat(),
                            "ends_at": o.ends_at.isoformat(), "expected": o.expected,
                            "reason": o.reason} for o in sched.overrides]}


@router.get("/phones/lookup")
async def phone_lookup(request: Request, number: str = Query(min_length=1, max_length=64),
                       session: AsyncSession = Depends(db_session),
                       _: User = Depends(agent)) -> dict[str, Any]:
    """Who owns a number, in any written form (what the screen pop runs)."""
    region = _svc(request).settings.default_region
    owners = await lookup_by_phone(session, number, region)
    return {"number": number, "e164": services.try_normalize(number, region),
            "items": [o.to_dict() for o in owners]}


@router.post("/contacts/{contact_id}/verify-code")
async def verify_code(contact_id: int, body: schemas.CodeCheck, request: Request,
                      session: AsyncSession = Depends(db_session),
                      user: User = Depends(agent)) -> dict[str, Any]:
    """``valid``, ``duress`` or ``invalid``. The operator's console must treat duress as a
    silent alarm: never say so to the caller."""
    svc = _svc(request)
    try:
        result = await services.verify_contact_code(session, svc.clock, actor_of(user),
                                                    contact_id, body.code)
    except CodeLocked as exc:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, str(exc),
                            headers={"Retry-After": str(exc.retry_after)}) from exc
    await session.commit()
    await alerts.publish_queued(session, svc.bus)
    return {"result": result}


# --- parts of an account: one generic set of routes per kind -----------------------------


Make = Callable[[AsyncSession, Services, audit.Actor, Base, dict[str, Any]], Awaitable[Base]]


@dataclass(frozen=True)
class Part:
    """A kind of record that hangs off a parent (account, panel or contact)."""

    path: str
    model: type[Base]
    parent_path: str
    parent_model: type[Base]
    create: type[BaseModel]
    patch: type[BaseModel] | None
    write: Callable[..., Awaitable[User]] = admin
    archive_role: Callable[..., Awaitable[User]] = admin
    make: Make | None = None


def _account_of(parent: Base) -> int:
    return parent.id if isinstance(parent, Account) else parent.account_id  # type: ignore[attr-defined]


async def _make_default(part: Part, session: AsyncSession, svc: Services, actor: audit.Actor,
                        parent: Base, data: dict[str, Any]) -> Base:
    owner = {"panel_id": parent.id} if isinstance(parent, Panel) else {  # type: ignore[attr-defined]
        "account_id": _account_of(parent)}
    return await records.create(session, svc.clock, actor, part.model(**owner, **data))


async def _make_contact(session: AsyncSession, svc: Services, actor: audit.Actor, parent: Base,
                        data: dict[str, Any]) -> Base:
    return await records.create_contact(session, svc.clock, actor,
                                        account_id=_account_of(parent), **data,
                                        region=svc.settings.default_region)


async def _make_phone(session: AsyncSession, svc: Services, actor: audit.Actor, parent: Base,
                      data: dict[str, Any]) -> Base:
    contact_id = parent.id if isinstance(parent, Contact) else None
    return await records.add_phone(session, svc.clock, actor, account_id=_account_of(parent),
                                   contact_id=contact_id, region=svc.settings.default_region,
                                   **data)


async def _make_note(session: AsyncSession, svc: Services, actor: audit.Actor, parent: Base,
                     data: dict[str, Any]) -> Base:
    note = Note(account_id=_account_of(parent), body=data["body"], author=actor.name,
                created_at=svc.clock.now())
    return await records.create(session, svc.clock, actor, note)


PARTS = [
    Part("premises", Premises, "accounts", Account, schemas.PremisesIn, schemas.PremisesPatch),
    Part("panels", Panel, "accounts", Account, schemas.PanelIn, schemas.PanelPatch),
    Part("zones", Zone, "panels", Panel, schemas.ZoneIn, schemas.ZonePatch),
    Part("contacts", Contact, "accounts", Account, schemas.ContactIn, schemas.ContactPatch,
         make=_make_contact),
    Part("phones", Phone, "contacts", Contact, schemas.PhoneIn, schemas.PhonePatch,
         make=_make_phone),
    Part("phones", Phone, "accounts", Account, schemas.PhoneIn, None, make=_make_phone),
    Part("schedule-windows", ScheduleWindow, "accounts", Account, schemas.WindowIn,
         schemas.WindowPatch),
    Part("holidays", Holiday, "accounts", Account, schemas.HolidayIn, schemas.HolidayPatch),
    Part("schedule-exceptions", ScheduleException, "accounts", Account, schemas.ExceptionIn,
         schemas.ExceptionPatch),
    Part("contracts", Contract, "accounts", Account, schemas.ContractIn, schemas.ContractPatch),
    Part("notes", Note, "accounts", Account, schemas.NoteIn, None, write=agent,
         archive_role=supervisor, make=_make_note),
]


def _register(part: Part) -> None:
    parent_fk = {"accounts": "account_id", "panels": "panel_id", "contacts": "contact_id"}[
        part.parent_path]

    async def create(parent_id: int, request: Request, body: Any,
                     session: AsyncSession = Depends(db_session),
                     user: User = Depends(part.write)) -> dict[str, Any]:
        svc = _svc(request)
        parent = await records.get(session, part.parent_model, parent_id)
        if parent.archived_at is not None:  # type: ignore[attr-defined]
            raise FieldError(parent_fk, f"{records.entity_of(parent)} {parent_id} is archived")
        data = body.model_dump(mode="python")
        if part.make is not None:
            obj = await part.make(session, svc, actor_of(user), parent, data)
        else:
            obj = await _make_default(part, session, svc, actor_of(user), parent, data)
        await session.commit()
        return row(obj)

    create.__annotations__["body"] = part.create
    router.add_api_route(f"/{part.parent_path}/{{parent_id}}/{part.path}", create,
                         methods=["POST"], status_code=201,
                         name=f"create {part.path} of {part.parent_path}",
                         summary=f"Add {part.path} to one of {part.parent_path}")

    async def list_(parent_id: int, session: AsyncSession = Depends(db_session),
                    _: User = Depends(agent), include_archived: bool = False
                    ) -> dict[str, Any]:
        await records.get(session, part.parent_model, parent_id)
        column = getattr(part.model, parent_fk)
        stmt = select(part.model).where(column == parent_id)
        if part.model is Phone and part.parent_model is Account:
            stmt = stmt.where(Phone.contact_id.is_(None))
        if not include_archived:
            stmt = stmt.where(part.model.archived_at.is_(None))  # type: ignore[attr-defined]
        rows = (await session.execute(stmt.order_by(part.model.id))).scalars().all()  # type: ignore[attr-defined]
        return {"items": [row(r) for r in rows]}

    router.add_api_route(f"/{part.parent_path}/{{parent_id}}/{part.path}", list_,
                         methods=["GET"], name=f"list {part.path} of {part.parent_path}",
                         summary=f"List {part.path} of one of {part.parent_path}")

    if part.parent_path != "accounts" or part.path != "phones":
        _register_item_routes(part)


def _register_item_routes(part: Part) -> None:
    async def get_one(item_id: int, session: AsyncSession = Depends(db_session),
                      _: User = Depends(agent)) -> dict[str, Any]:
        return row(await records.get(session, part.model, item_id))

    router.add_api_route(f"/{part.path}/{{item_id}}", get_one, methods=["GET"],
                         name=f"get {part.path}", summary=f"Get one of {part.path}")

    if part.patch is not None:
        async def update(item_id: int, request: Request, body: Any,
                         session: AsyncSession = Depends(db_session),
                         user: User = Depends(part.write)) -> dict[str, Any]:
            svc = _svc(request)
            obj = await records.get(session, part.model, item_id)
            await records.update(session, svc.clock, actor_of(user), obj,
                                 body.model_dump(mode="python", exclude_unset=True),
                                 region=svc.settings.default_region)
            await session.commit()
            return row(obj)

        update.__annotations__["body"] = part.patch
        router.add_api_route(f"/{part.path}/{{item_id}}", update, methods=["PATCH"],
                             name=f"update {part.path}", summary=f"Change one of {part.path}")

    async def archive(item_id: int, request: Request, body: schemas.ArchiveIn | None = None,
                      session: AsyncSession = Depends(db_session),
                      user: User = Depends(part.archive_role)) -> dict[str, Any]:
        svc = _svc(request)
        obj = await records.get(session, part.model, item_id)
        await records.archive(session, svc.clock, actor_of(user), obj,
                              (body.reason if body else "") or None)
        await session.commit()
        return row(obj)

    router.add_api_route(f"/{part.path}/{{item_id}}/archive", archive, methods=["POST"],
                         name=f"archive {part.path}", summary=f"Archive one of {part.path}")


for _part in PARTS:
    _register(_part)


# --- tickets --------------------------------------------------------------------------------


def _policy() -> tickets.SlaPolicy:
    return tickets.SlaPolicy.from_settings()


@router.get("/tickets")
async def list_tickets(
    request: Request, session: AsyncSession = Depends(db_session), _: User = Depends(agent),
    status_: str | None = Query(None, alias="status",
                                pattern="^(recorded|assigned|in_progress|done|rework|closed)$"),
    kind: str | None = Query(None, pattern="^(consultation|complaint|repair|other)$"),
    account_id: int | None = None, assignee_id: int | None = None,
    sla: str | None = Query(None, pattern="^(green|yellow|red)$"),
    open_only: bool = False, include_archived: bool = False,
    limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    now = _svc(request).clock.now()
    policy = _policy()
    conds: list[ColumnElement[bool]] = []
    if not include_archived:
        conds.append(Ticket.archived_at.is_(None))
    if status_:
        conds.append(Ticket.status == status_)
    if open_only:
        conds.append(Ticket.status != TicketStatus.closed.value)
    if kind:
        conds.append(Ticket.kind == kind)
    if account_id is not None:
        conds.append(Ticket.account_id == account_id)
    if assignee_id is not None:
        conds.append(Ticket.assignee_id == assignee_id)
    if sla:
        finished = Ticket.status.in_([TicketStatus.done.value, TicketStatus.closed.value])
        red = or_(and_(~finished, Ticket.due_at < now),
                  and_(finished, Ticket.done_at > Ticket.due_at))
        yellow = and_(~finished, Ticket.due_at >= now,
                      Ticket.due_at <= now + timedelta(hours=policy.yellow_hours))
        conds.append({"red": red, "yellow": yellow, "green": ~or_(red, yellow)}[sla])
    total = await session.scalar(select(func.count()).select_from(Ticket).where(*conds)) or 0
    rows = (await session.execute(select(Ticket).where(*conds).order_by(Ticket.due_at, Ticket.id)
                                  .limit(limit).offset(offset))).scalars().all()
    return {"items": [tickets.ticket_dict(t, now, policy) for t in rows], "total": total,
            "limit": limit, "offset": offset}


@router.post("/tickets", status_code=201)
async def create_ticket(body: schemas.TicketIn, request: Request,
                        session: AsyncSession = Depends(db_session),
                        user: User = Depends(agent)) -> dict[str, Any]:
    svc = _svc(request)
    if body.assignee_id is not None and not user.has_role(Role.supervisor):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "assigning needs role supervisor")
    ticket = await tickets.create_ticket(session, svc.clock, actor_of(user), policy=_policy(),
                                         **body.model_dump())
    await session.commit()
    return tickets.ticket_dict(ticket, svc.clock.now())


@router.get("/tickets/{ticket_id}")
async def get_ticket(ticket_id: int, request: Request,
                     session: AsyncSession = Depends(db_session),
                     _: User = Depends(agent)) -> dict[str, Any]:
    ticket = await records.get(session, Ticket, ticket_id)
    return tickets.ticket_dict(ticket, _svc(request).clock.now()) | {
        "history": await tickets.ticket_history(session, ticket_id)}


@router.patch("/tickets/{ticket_id}")
async def update_ticket(ticket_id: int, body: schemas.TicketPatch, request: Request,
                        session: AsyncSession = Depends(db_session),
                        user: User = Depends(supervisor)) -> dict[str, Any]:
    svc = _svc(request)
    ticket = await records.get(session, Ticket, ticket_id)
    await records.update(session, svc.clock, actor_of(user), ticket,
                         body.model_dump(mode="python", exclude_unset=True))
    await session.commit()
    return tickets.ticket_dict(ticket, svc.clock.now())


@router.post("/tickets/{ticket_id}/transition")
async def move_ticket(ticket_id: int, body: schemas.TicketMove, request: Request,
                      session: AsyncSession = Depends(db_session),
                      user: User = Depends(agent)) -> dict[str, Any]:
    """Agents may start and finish tickets assigned to them; everything else needs a
    supervisor."""
    svc = _svc(request)
    ticket = await records.get(session, Ticket, ticket_id)
    own_work = body.action in ("start", "finish") and ticket.assignee_id == user.id
    if not own_work and not user.has_role(Role.supervisor):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"{body.action} needs role supervisor (or the ticket's assignee)")
    await tickets.transition(session, svc.clock, actor_of(user), ticket, body.action,
                             assignee_id=body.assignee_id, note=body.note)
    await session.commit()
    return tickets.ticket_dict(ticket, svc.clock.now())


@router.post("/tickets/{ticket_id}/archive")
async def archive_ticket(ticket_id: int, request: Request,
                         body: schemas.ArchiveIn | None = None,
                         session: AsyncSession = Depends(db_session),
                         user: User = Depends(supervisor)) -> dict[str, Any]:
    svc = _svc(request)
    ticket = await records.get(session, Ticket, ticket_id)
    await records.archive(session, svc.clock, actor_of(user), ticket,
                          (body.reason if body else "") or None)
    await session.commit()
    return tickets.ticket_dict(ticket, svc.clock.now())


# --- work orders ----------------------------------------------------------------------------


@router.get("/work-orders")
async def list_work_orders(
    session: AsyncSession = Depends(db_session), _: User = Depends(agent),
    account_id: int | None = None,
    status_: str | None = Query(None, alias="status", pattern="^(open|scheduled|done|cancelled)$"),
    include_archived: bool = False,
    limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    conds: list[ColumnElement[bool]] = []
    if not include_archived:
        conds.append(WorkOrder.archived_at.is_(None))
    if account_id is not None:
        conds.append(WorkOrder.account_id == account_id)
    if status_:
        conds.append(WorkOrder.status == status_)
    total = await session.scalar(select(func.count()).select_from(WorkOrder).where(*conds)) or 0
    rows = (await session.execute(select(WorkOrder).where(*conds).order_by(WorkOrder.id.desc())
                                  .limit(limit).offset(offset))).scalars().all()
    return {"items": [tickets.work_order_dict(w) for w in rows], "total": total,
            "limit": limit, "offset": offset}


@router.post("/work-orders", status_code=201)
async def create_work_order(body: schemas.WorkOrderIn, request: Request,
                            session: AsyncSession = Depends(db_session),
                            user: User = Depends(supervisor)) -> dict[str, Any]:
    svc = _svc(request)
    order = await tickets.create_work_order(session, svc.clock, actor_of(user),
                                            **body.model_dump())
    await session.commit()
    return tickets.work_order_dict(order)


@router.get("/work-orders/{order_id}")
async def get_work_order(order_id: int, session: AsyncSession = Depends(db_session),
                         _: User = Depends(agent)) -> dict[str, Any]:
    return tickets.work_order_dict(await records.get(session, WorkOrder, order_id))


@router.patch("/work-orders/{order_id}")
async def update_work_order(order_id: int, body: schemas.WorkOrderPatch, request: Request,
                            session: AsyncSession = Depends(db_session),
                            user: User = Depends(supervisor)) -> dict[str, Any]:
    svc = _svc(request)
    order = await records.get(session, WorkOrder, order_id)
    await records.update(session, svc.clock, actor_of(user), order,
                         body.model_dump(mode="python", exclude_unset=True))
    await session.commit()
    return tickets.work_order_dict(order)


@router.post("/work-orders/{order_id}/archive")
async def archive_work_order(order_id: int, request: Request,
                             body: schemas.ArchiveIn | None = None,
                             session: AsyncSession = Depends(db_session),
                             user: User = Depends(supervisor)) -> dict[str, Any]:
    svc = _svc(request)
    order = await records.get(session, WorkOrder, order_id)
    await records.archive(session, svc.clock, actor_of(user), order,
                          (body.reason if body else "") or None)
    await session.commit()
    return tickets.work_order_dict(order)


# --- knowledge base -------------------------------------------------------------------------


@router.get("/kb")
async def search_kb(
    session: AsyncSession = Depends(db_session), _: User = Depends(agent),
    q: str | None = Query(None, max_length=200), language: str | None = None,
    include_archived: bool = False,
    limit: int = Query(20, ge=1, le=200), offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    rows, total = await kb.search(session, q, language=language,
                                  include_archived=include_archived, limit=limit, offset=offset)
    return {"items": [kb.article_dict(a, with_body=False) for a in rows], "total": total,
            "limit": limit, "offset": offset}


@router.get("/kb/{article_id}")
async def read_article(article_id: int, session: AsyncSession = Depends(db_session),
                       _: User = Depends(agent)) -> dict[str, Any]:
    """Reading an article counts a view."""
    article = await kb.view_article(session, article_id)
    await session.commit()
    return kb.article_dict(article)


@router.post("/kb", status_code=201)
async def create_article(body: schemas.ArticleIn, request: Request,
                         session: AsyncSession = Depends(db_session),
                         user: User = Depends(supervisor)) -> dict[str, Any]:
    svc = _svc(request)
    article = await kb.create_article(session, svc.clock, actor_of(user), **body.model_dump())
    await session.commit()
    return kb.article_dict(article)


@router.patch("/kb/{article_id}")
async def update_article(article_id: int, body: schemas.ArticlePatch, request: Request,
                         session: AsyncSession = Depends(db_session),
                         user: User = Depends(supervisor)) -> dict[str, Any]:
    svc = _svc(request)
    article = await records.get(session, KbArticle, article_id)
    await records.update(session, svc.clock, actor_of(user), article,
                         body.model_dump(exclude_unset=True))
    await session.commit()
    return kb.article_dict(article)


@router.post("/kb/{article_id}/archive")
async def archive_article(article_id: int, request: Request,
                          body: schemas.ArchiveIn | None = None,
                          session: AsyncSession = Depends(db_session),
                          user: User = Depends(supervisor)) -> dict[str, Any]:
    svc = _svc(request)
    article = await records.get(session, KbArticle, article_id)
    await records.archive(session, svc.clock, actor_of(user), article,
                          (body.reason if body else "") or None)
    await session.commit()
    return kb.article_dict(article)

