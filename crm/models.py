"""Subscriber records: the tables behind every screen pop, verification call and alarm.

Other packages never read these tables; they call :mod:`crm.services`. Every row is archived,
never deleted. Enumerated values are stored as short strings (portable between SQLite and
PostgreSQL) and checked by the service layer and the API schemas. Relationships are
``lazy="raise"`` so an async caller that forgot to load one gets an error, not a hidden query.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    Date,
    Float,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import ArchivableMixin, Base


class AccountStatus(StrEnum):
    active = "active"
    on_hold = "on_hold"
    cancelled = "cancelled"


class ContactRole(StrEnum):
    owner = "owner"
    keyholder = "keyholder"
    guard = "guard"
    police = "police"
    other = "other"


class PhoneKind(StrEnum):
    mobile = "mobile"
    home = "home"
    work = "work"
    premises = "premises"
    other = "other"


class PremisesType(StrEnum):
    home = "home"
    shop = "shop"
    office = "office"
    factory = "factory"
    warehouse = "warehouse"
    bank = "bank"
    school = "school"
    other = "other"


class PaymentStatus(StrEnum):
    paid = "paid"
    overdue = "overdue"


class ExpectedState(StrEnum):
    open = "open"
    closed = "closed"


class TicketKind(StrEnum):
    consultation = "consultation"
    complaint = "complaint"
    repair = "repair"
    other = "other"


class TicketStatus(StrEnum):
    recorded = "recorded"
    assigned = "assigned"
    in_progress = "in_progress"
    done = "done"  # done, awaiting review
    rework = "rework"  # sent back by the reviewer
    closed = "closed"


class WorkOrderStatus(StrEnum):
    open = "open"
    scheduled = "scheduled"
    done = "done"
    cancelled = "cancelled"


class Account(ArchivableMixin, Base):
    """A monitored subscriber. ``number`` is what the panels report, unique per receiver prefix."""

    __tablename__ = "crm_accounts"
    __table_args__ = (UniqueConstraint("receiver_prefix", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    receiver_prefix: Mapped[str] = mapped_column(String(16), default="")
    number: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=AccountStatus.active.value)
    language: Mapped[str] = mapped_column(String(8), default="zh-CN")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    premises: Mapped[list[Premises]] = relationship(lazy="raise", order_by="Premises.id")
    panels: Mapped[list[Panel]] = relationship(lazy="raise", order_by="Panel.id")
    contacts: Mapped[list[Contact]] = relationship(
        lazy="raise", order_by="(Contact.call_order, Contact.id)")
    phones: Mapped[list[Phone]] = relationship(lazy="raise", order_by="Phone.id",
                                               viewonly=True)
    windows: Mapped[list[ScheduleWindow]] = relationship(
        lazy="raise", order_by="(ScheduleWindow.weekday, ScheduleWindow.opens)")
    holidays: Mapped[list[Holiday]] = relationship(lazy="raise", order_by="Holiday.day")
    exceptions: Mapped[list[ScheduleException]] = relationship(
        lazy="raise", order_by="ScheduleException.starts_at")
    contracts: Mapped[list[Contract]] = relationship(lazy="raise", order_by="Contract.starts_on")


class Premises(ArchivableMixin, Base):
    """The protected site."""

    __tablename__ = "crm_premises"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("crm_accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(400), default="")
    latitude: Mapped[float | None] = mapped_column(Float, default=None)
    longitude: Mapped[float | None] = mapped_column(Float, default=None)
    type: Mapped[str] = mapped_column(String(16), default=PremisesType.other.value)
    access_notes: Mapped[str] = mapped_column(Text, default="")
    hazard_notes: Mapped[str] = mapped_column(Text, default="")


class Panel(ArchivableMixin, Base):
    """An alarm panel; ``account_code`` is the code it sends, ``test_interval_minutes`` how often
    it must send a periodic test report (None: no test timer)."""

    __tablename__ = "crm_panels"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("crm_accounts.id"), index=True)
    premises_id: Mapped[int | None] = mapped_column(ForeignKey("crm_premises.id"), default=None)
    make: Mapped[str] = mapped_column(String(64), default="")
    model: Mapped[str] = mapped_column(String(64), default="")
    protocol: Mapped[str] = mapped_column(String(32), default="contact_id")
    account_code: Mapped[str] = mapped_column(String(32), default="", index=True)
    test_interval_minutes: Mapped[int | None] = mapped_column(default=None)

    zones: Mapped[list[Zone]] = relationship(lazy="raise", order_by="Zone.number")


class Zone(ArchivableMixin, Base):
    __tablename__ = "crm_zones"
    __table_args__ = (UniqueConstraint("panel_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("crm_panels.id"))
    number: Mapped[int]
    description: Mapped[str] = mapped_column(String(200), default="")
    device_type: Mapped[str] = mapped_column(String(64), default="")
    device_model: Mapped[str] = mapped_column(String(64), default="")


class Contact(ArchivableMixin, Base):
    """A person on the call list. Codes are stored as argon2 hashes only."""

    __tablename__ = "crm_contacts"
    __table_args__ = (Index("ix_crm_contacts_account_order", "account_id", "call_order"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("crm_accounts.id"))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default=ContactRole.keyholder.value)
    call_order: Mapped[int] = mapped_column(default=1)
    passcode_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    duress_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    notes: Mapped[str] = mapped_column(Text, default="")

    phones: Mapped[list[Phone]] = relationship(lazy="raise", order_by="Phone.id")


class Phone(ArchivableMixin, Base):
    """The phone index: one row per number, owned by an account and optionally by one of its
    contacts (no contact: the premises line). ``e164`` is the normalized key of caller-ID
    lookups; ``raw`` keeps what was typed."""

    __tablename__ = "crm_phones"
    __table_args__ = (Index("ix_crm_phones_e164", "e164"),
                      Index("ix_crm_phones_contact_id", "contact_id"),
                      Index("ix_crm_phones_account_id", "account_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("crm_accounts.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("crm_contacts.id"), default=None)
    kind: Mapped[str] = mapped_column(String(16), default=PhoneKind.mobile.value)
    raw: Mapped[str] = mapped_column(String(64))
    e164: Mapped[str] = mapped_column(String(20))


class ScheduleWindow(ArchivableMixin, Base):
    """A weekly open period in the account's local time; ``weekday`` 0 is Monday. A window whose
    ``closes`` is not after ``opens`` runs past midnight."""

    __tablename__ = "crm_schedule_windows"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("crm_accounts.id"), index=True)
    weekday: Mapped[int]
    opens: Mapped[time] = mapped_column(Time)
    closes: Mapped[time] = mapped_column(Time)


class Holiday(ArchivableMixin, Base):
    """A local date on which the premises stay closed all day."""

    __tablename__ = "crm_holidays"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("crm_accounts.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(200), default="")


class ScheduleException(ArchivableMixin, Base):
    """A temporary override: between the two instants the premises are expected open/closed."""

    __tablename__ = "crm_schedule_exceptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("crm_accounts.id"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    expected: Mapped[str] = mapped_column(String(8), default=ExpectedState.closed.value)
    reason: Mapped[str] = mapped_column(String(400), default="")


class Contract(ArchivableMixin, Base):
    __tablename__ = "crm_contracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("crm_accounts.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date, default=None)
    fee_plan: Mapped[str] = mapped_column(String(64), default="")
    monthly_fee: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0"))
    payment_status: Mapped[str] = mapped_column(String(16), default=PaymentStatus.paid.value)


class Note(ArchivableMixin, Base):
    __tablename__ = "crm_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("crm_accounts.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]


class Ticket(ArchivableMixin, Base):
    """A consultation, complaint or request with a life cycle and a due date."""

    __tablename__ = "crm_tickets"
    __table_args__ = (Index("ix_crm_tickets_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("crm_accounts.id"), default=None,
                                                   index=True)
    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=TicketStatus.recorded.value)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None,
                                                    index=True)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    due_at: Mapped[datetime]
    done_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)

    events: Mapped[list[TicketEvent]] = relationship(lazy="raise", order_by="TicketEvent.id")


class TicketEvent(Base):
    """One state change of a ticket, timed (append-only history, also in the audit log)."""

    __tablename__ = "crm_ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("crm_tickets.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(128))
    from_status: Mapped[str | None] = mapped_column(String(16), default=None)
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")


class WorkOrder(ArchivableMixin, Base):
    """A maintenance job at the premises (a technician visit)."""

    __tablename__ = "crm_work_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("crm_accounts.id"), index=True)
    panel_id: Mapped[int | None] = mapped_column(ForeignKey("crm_panels.id"), default=None)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("crm_tickets.id"), default=None)
    summary: Mapped[str] = mapped_column(String(200))
    details: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=WorkOrderStatus.open.value)
    technician: Mapped[str] = mapped_column(String(128), default="")
    scheduled_for: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]


class KbArticle(ArchivableMixin, Base):
    """A knowledge-base article. ``search_text`` is the lower-cased title, tags and body that
    substring search runs over (see :mod:`crm.kb`)."""

    __tablename__ = "crm_kb_articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    tags: Mapped[str] = mapped_column(String(400), default="")
    language: Mapped[str] = mapped_column(String(8), default="zh-CN")
    search_text: Mapped[str] = mapped_column(Text, default="")
    views: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
