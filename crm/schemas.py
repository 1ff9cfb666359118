"""Request bodies of the crm API. Pydantic names the wrong field and says why (422)."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from crm.models import (
    AccountStatus,
    ContactRole,
    ExpectedState,
    PaymentStatus,
    PhoneKind,
    PremisesType,
    TicketKind,
    WorkOrderStatus,
)

Language = Literal["zh-CN", "en"]
Name = Field(min_length=1, max_length=200)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AccountIn(Strict):
    number: str = Field(min_length=1, max_length=32, pattern=r"^[0-9A-Fa-f]+$")
    name: str = Name
    receiver_prefix: str = Field("", max_length=16, pattern=r"^[0-9A-Za-z]*$")
    status: AccountStatus = AccountStatus.active
    language: Language = "zh-CN"
    timezone: str = Field("Asia/Shanghai", max_length=64)


class AccountPatch(Strict):
    number: str | None = Field(None, min_length=1, max_length=32, pattern=r"^[0-9A-Fa-f]+$")
    name: str | None = Field(None, min_length=1, max_length=200)
    receiver_prefix: str | None = Field(None, max_length=16, pattern=r"^[0-9A-Za-z]*$")
    status: AccountStatus | None = None
    language: Language | None = None
    timezone: str | None = Field(None, max_length=64)


class PremisesIn(Strict):
    name: str = Field("", max_length=200)
    address: str = Field("", max_length=400)
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    type: PremisesType = PremisesType.other
    access_notes: str = Field("", max_length=4000)
    hazard_notes: str = Field("", max_length=4000)


class PremisesPatch(Strict):
    name: str | None = Field(None, max_length=200)
    address: str | None = Field(None, max_length=400)
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    type: PremisesType | None = None
    access_notes: str | None = Field(None, max_length=4000)
    hazard_notes: str | None = Field(None, max_length=4000)


class PanelIn(Strict):
    premises_id: int | None = None
    make: str = Field("", max_length=64)
    model: str = Field("", max_length=64)
    protocol: Literal["contact_id", "sia_dc09", "sia", "4+2", "other"] = "contact_id"
    account_code: str = Field("", max_length=32, pattern=r"^[0-9A-Fa-f]*$")
    test_interval_minutes: int | None = Field(None, ge=1, le=60 * 24 * 31)


class PanelPatch(Strict):
    premises_id: int | None = None
    make: str | None = Field(None, max_length=64)
    model: str | None = Field(None, max_length=64)
    protocol: Literal["contact_id", "sia_dc09", "sia", "4+2", "other"] | None = None
    account_code: str | None = Field(None, max_length=32, pattern=r"^[0-9A-Fa-f]*$")
    test_interval_minutes: int | None = Field(None, ge=1, le=60 * 24 * 31)


class ZoneIn(Strict):
    number: int = Field(ge=0, le=9999)
    description: str = Field("", max_length=200)
    device_type: str = Field("", max_length=64)
    device_model: str = Field("", max_length=64)


class ZonePatch(Strict):
    number: int | None = Field(None, ge=0, le=9999)
    description: str | None = Field(None, max_length=200)
    device_type: str | None = Field(None, max_length=64)
    device_model: str | None = Field(None, max_length=64)


class PhoneIn(Strict):
    number: str = Field(min_length=3, max_length=64)
    kind: PhoneKind = PhoneKind.mobile


class PhonePatch(Strict):
    number: str | None = Field(None, min_length=3, max_length=64)
    kind: PhoneKind | None = None


Code = Field(None, min_length=3, max_length=32)


class ContactIn(Strict):
    name: str = Name
    role: ContactRole = ContactRole.keyholder
    call_order: int | None = Field(None, ge=0, le=999)
    passcode: str | None = Code
    duress_code: str | None = Code
    notes: str = Field("", max_length=4000)
    phones: list[PhoneIn] = Field(default_factory=list, max_length=10)


class ContactPatch(Strict):
    name: str | None = Field(None, min_length=1, max_length=200)
    role: ContactRole | None = None
    call_order: int | None = Field(None, ge=0, le=999)
    passcode: str | None = Field(None, max_length=32, description="empty string clears it")
    duress_code: str | None = Field(None, max_length=32, description="empty string clears it")
    notes: str | None = Field(None, max_length=4000)


class CodeCheck(Strict):
    code: str = Field(min_length=1, max_length=32)


class WindowIn(Strict):
    weekday: int = Field(ge=0, le=6, description="0 = Monday")
    opens: time
    closes: time


class WindowPatch(Strict):
    weekday: int | None = Field(None, ge=0, le=6)
    opens: time | None = None
    closes: time | None = None


class HolidayIn(Strict):
    day: date
    name: str = Field("", max_length=200)


class HolidayPatch(Strict):
    day: date | None = None
    name: str | None = Field(None, max_length=200)


class ExceptionIn(Strict):
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    expected: ExpectedState = ExpectedState.closed
    reason: str = Field("", max_length=400)


class ExceptionPatch(Strict):
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    expected: ExpectedState | None = None
    reason: str | None = Field(None, max_length=400)


class ContractIn(Strict):
    starts_on: date
    ends_on: date | None = None
    fee_plan: str = Field("", max_length=64)
    monthly_fee: Decimal = Field(Decimal("0"), ge=0, max_digits=10, decimal_places=2)
    payment_status: PaymentStatus = PaymentStatus.paid


class ContractPatch(Strict):
    starts_on: date | None = None
    ends_on: date | None = None
    fee_plan: str | None = Field(None, max_length=64)
    monthly_fee: Decimal | None = Field(None, ge=0, max_digits=10, decimal_places=2)
    payment_status: PaymentStatus | None = None


class NoteIn(Strict):
    body: str = Field(min_length=1, max_length=8000)


class TicketIn(Strict):
    kind: TicketKind
    subject: str = Name
    body: str = Field("", max_length=8000)
    account_id: int | None = None
    due_at: AwareDatetime | None = None
    assignee_id: int | None = None


class TicketPatch(Strict):
    kind: TicketKind | None = None
    subject: str | None = Field(None, min_length=1, max_length=200)
    body: str | None = Field(None, max_length=8000)
    due_at: AwareDatetime | None = None


class TicketMove(Strict):
    action: Literal["assign", "start", "finish", "close", "rework"]
    assignee_id: int | None = None
    note: str = Field("", max_length=4000)


class WorkOrderIn(Strict):
    account_id: int
    summary: str = Name
    details: str = Field("", max_length=8000)
    panel_id: int | None = None
    ticket_id: int | None = None
    technician: str = Field("", max_length=128)
    scheduled_for: AwareDatetime | None = None


class WorkOrderPatch(Strict):
    summary: str | None = Field(None, min_length=1, max_length=200)
    details: str | None = Field(None, max_length=8000)
    status: WorkOrderStatus | None = None
    technician: str | None = Field(None, max_length=128)
    scheduled_for: AwareDatetime | None = None


class ArticleIn(Strict):
    title: str = Name
    body: str = Field(min_length=1, max_length=100_000)
    tags: str = Field("", max_length=400)
    language: Language = "zh-CN"


class ArticlePatch(Strict):
    title: str | None = Field(None, min_length=1, max_length=200)
    body: str | None = Field(None, min_length=1, max_length=100_000)
    tags: str | None = Field(None, max_length=400)
    language: Language | None = None


class ArchiveIn(Strict):
    reason: str = Field("", max_length=400)

