"""Tickets with their life cycle and SLA colour, and maintenance work orders.

Life cycle::

    recorded --assign--> assigned --start--> in_progress --finish--> done (awaiting review)
    done --close--> closed          done --rework--> rework --start--> in_progress
    (assign is also allowed from assigned, in_progress and rework: re-assignment)

Every change of state is a :class:`~crm.models.TicketEvent` with its time and an audit entry,
both in the caller's transaction. The SLA colour compares the due date with now (or, once the
work is done, with the time it was done): red when overdue, yellow within
``ticket_yellow_hours`` of it, green otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit
from core.clock import Clock
from core.db import Base
from core.models import User
from crm import records
from crm.config import get_crm_settings
from crm.errors import FieldError, NotFound
from crm.models import Account, Panel, Ticket, TicketEvent, TicketKind, TicketStatus, WorkOrder

S = TicketStatus
Colour = Literal["green", "yellow", "red"]

# action -> (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "assign": (frozenset({S.recorded, S.assigned, S.in_progress, S.rework}), S.assigned),
    "start": (frozenset({S.assigned, S.rework}), S.in_progress),
    "finish": (frozenset({S.in_progress}), S.done),
    "close": (frozenset({S.done}), S.closed),
    "rework": (frozenset({S.done}), S.rework),
}


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    yellow_hours: float = 4.0
    due_hours: tuple[tuple[str, float], ...] = (
        ("consultation", 24.0), ("complaint", 48.0), ("repair", 72.0), ("other", 72.0))

    @classmethod
    def from_settings(cls) -> SlaPolicy:
        s = get_crm_settings()
        return cls(yellow_hours=s.ticket_yellow_hours,
                   due_hours=tuple(sorted(s.ticket_due_hours.items())))

    def due_after(self, kind: str) -> timedelta:
        return timedelta(hours=dict(self.due_hours).get(kind, 72.0))


def sla_colour(ticket: Ticket, now: datetime, policy: SlaPolicy | None = None) -> Colour:
    """Green in time, yellow due soon, red overdue; finished tickets keep the colour they
    finished with."""
    policy = policy or SlaPolicy.from_settings()
    finished = ticket.status in (S.done, S.closed)
    at = (ticket.done_at or now) if finished else now
    if at > ticket.due_at:
        return "red"
    if not finished and ticket.due_at - at <= timedelta(hours=policy.yellow_hours):
        return "yellow"
    return "green"


def ticket_dict(t: Ticket, now: datetime, policy: SlaPolicy | None = None) -> dict[str, Any]:
    return {
        "id": t.id, "account_id": t.account_id, "kind": t.kind, "subject": t.subject,
        "body": t.body, "status": t.status, "assignee_id": t.assignee_id,
        "created_by": t.created_by, "created_at": t.created_at.isoformat(),
        "updated_at": t.updated_at.isoformat(), "due_at": t.due_at.isoformat(),
        "done_at": t.done_at.isoformat() if t.done_at else None,
        "closed_at": t.closed_at.isoformat() if t.closed_at else None,
        "sla": sla_colour(t, now, policy), "archived": t.archived_at is not None,
    }


async def _must_exist(session: AsyncSession, model: type[Base], record_id: int,
                      field: str) -> None:
    """A reference in a request body that points nowhere is that field's error (422)."""
    try:
        await records.get(session, model, record_id)
    except NotFound as exc:
        raise FieldError(field, str(exc)) from exc


async def _check_assignee(session: AsyncSession, user_id: int) -> None:
    user = await session.get(User, user_id)
    if user is None or user.archived_at is not None:
        raise FieldError("assignee_id", f"no active user {user_id}")


def _event(session: AsyncSession, ticket: Ticket, at: datetime, actor: audit.Actor,
           before: str | None, after: str, note: str) -> None:
    session.add(TicketEvent(ticket_id=ticket.id, at=at, actor=actor.name, from_status=before,
                            to_status=after, note=note))


async def create_ticket(session: AsyncSession, clock: Clock, actor: audit.Actor, *,
                        kind: str, subject: str, body: str = "", account_id: int | None = None,
                        due_at: datetime | None = None, assignee_id: int | None = None,
                        policy: SlaPolicy | None = None) -> Ticket:
    """Record a ticket; due by ``due_at`` or by the policy's time for its kind."""
    if kind not in {k.value for k in TicketKind}:
        raise FieldError("kind", f"must be one of {', '.join(k.value for k in TicketKind)}")
    if account_id is not None:
        await _must_exist(session, Account, account_id, "account_id")
    now = clock.now()
    policy = policy or SlaPolicy.from_settings()
    if due_at is not None and due_at <= now:
        raise FieldError("due_at", "must be in the future")
    ticket = Ticket(account_id=account_id, kind=kind, subject=subject, body=body,
                    status=S.recorded.value, created_by=actor.name, created_at=now,
                    updated_at=now, due_at=due_at or now + policy.due_after(kind))
    await records.create(session, clock, actor, ticket)
    _event(session, ticket, now, actor, None, S.recorded.value, "")
    if assignee_id is not None:
        await transition(session, clock, actor, ticket, "assign", assignee_id=assignee_id)
    return ticket


async def transition(session: AsyncSession, clock: Clock, actor: audit.Actor, ticket: Ticket,
                     action: str, *, assignee_id: int | None = None, note: str = "") -> Ticket:
    """Move a ticket along its life cycle; a move the cycle does not allow names ``action``."""
    if action not in TRANSITIONS:
        raise FieldError("action", f"must be one of {', '.join(TRANSITIONS)}")
    allowed, target = TRANSITIONS[action]
    if ticket.archived_at is not None:
        raise FieldError("action", "the ticket is archived")
    if ticket.status not in allowed:
        raise FieldError("action", f"cannot {action} a ticket that is {ticket.status}")
    if action == "assign":
        if assignee_id is None:
            raise FieldError("assignee_id", "an assignment needs an assignee")
        await _check_assignee(session, assignee_id)
    before = records.snapshot(ticket)
    now = clock.now()
    old = ticket.status
    ticket.status = target
    ticket.updated_at = now
    if action == "assign":
        ticket.assignee_id = assignee_id
    elif action == "finish":
        ticket.done_at = now
    elif action == "close":
        ticket.closed_at = now
    elif action == "rework":
        ticket.done_at = None
    _event(session, ticket, now, actor, old, target, note)
    await session.flush()
    audit.record(session, actor, action, "ticket", ticket.id, before,
                 records.snapshot(ticket), note=note or None, clock=clock)
    return ticket


async def ticket_history(session: AsyncSession, ticket_id: int) -> list[dict[str, Any]]:
    rows = (await session.execute(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
                                  .order_by(TicketEvent.id))).scalars().all()
    return [{"at": e.at.isoformat(), "actor": e.actor, "from": e.from_status, "to": e.to_status,
             "note": e.note} for e in rows]


async def create_work_order(session: AsyncSession, clock: Clock, actor: audit.Actor, *,
                            account_id: int, summary: str, details: str = "",
                            panel_id: int | None = None, ticket_id: int | None = None,
                            technician: str = "",
                            scheduled_for: datetime | None = None) -> WorkOrder:
    """Open a maintenance job (the alarm engine opens them for false-alarm-prone panels)."""
    await _must_exist(session, Account, account_id, "account_id")
    if panel_id is not None:
        await _must_exist(session, Panel, panel_id, "panel_id")
    if ticket_id is not None:
        await _must_exist(session, Ticket, ticket_id, "ticket_id")
    order = WorkOrder(account_id=account_id, summary=summary, details=details,
                      panel_id=panel_id, ticket_id=ticket_id, technician=technician,
                      scheduled_for=scheduled_for,
                      status="scheduled" if scheduled_for else "open",
                      created_by=actor.name, created_at=clock.now())
    return await records.create(session, clock, actor, order)


def work_order_dict(w: WorkOrder) -> dict[str, Any]:
    return {"id": w.id, "account_id": w.account_id, "panel_id": w.panel_id,
            "ticket_id": w.ticket_id, "summary": w.summary, "details": w.details,
            "status": w.status, "technician": w.technician,
            "scheduled_for": w.scheduled_for.isoformat() if w.scheduled_for else None,
            "completed_at": w.completed_at.isoformat() if w.completed_at else None,
            "created_by": w.created_by, "created_at": w.created_at.isoformat(),
            "archived": w.archived_at is not None}
