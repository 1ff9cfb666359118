"""The center's configured lists, edited in the console: pause reasons and call dispositions
(supervisors), fee plans (administrators). Every item has a code — what Asterisk's queue log,
call records and reports keep — and a name in each language, so a Chinese and an English
console each show their own words. Items are archived, never deleted (reports keep naming
old codes); every change is audited and announced (``console.choices_changed``).
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agent_web.models import Choice
from core import audit
from core.deps import actor_of, db_session, get_services, require_role
from core.errors import http_error
from core.models import Role, User
from core.services import Services

router = APIRouter(prefix="/api/console/choices", tags=["console"])
agent = require_role(Role.agent)

Kind = Literal["pause_code", "disposition", "fee_plan"]
#: who may change each list
EDITORS: dict[str, Role] = {"pause_code": Role.supervisor, "disposition": Role.supervisor,
                            "fee_plan": Role.admin}
#: what a new center starts with: code, 中文, English
DEFAULTS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "pause_code": (("break", "休息", "Break"), ("lunch", "用餐", "Lunch"),
                   ("training", "培训", "Training"), ("admin", "文书工作", "Paperwork"),
                   ("technical", "技术故障", "Technical problem"),
                   ("supervisor", "班长设置示忙", "Paused by a supervisor"),
                   ("away", "离开坐席", "Away from the console")),
    "disposition": (("resolved", "已解决", "Resolved"),
                    ("info_given", "已答复咨询", "Information given"),
                    ("callback", "需要回电", "Call back"),
                    ("ticket_opened", "已建工单", "Ticket opened"),
                    ("alarm_handled", "警情已处理", "Alarm handled"),
                    ("complaint", "投诉", "Complaint"),
                    ("wrong_number", "打错电话", "Wrong number"),
                    ("silent", "无声/挂断", "Silent or hung up")),
    "fee_plan": (("basic", "基础套餐", "Basic"), ("standard", "标准套餐", "Standard"),
                 ("premium", "高级套餐", "Premium"), ("business", "商户套餐", "Business")),
}


class Names(BaseModel):
    zh_CN: str = Field(alias="zh-CN", min_length=1, max_length=128)
    en: str = Field(min_length=1, max_length=128)

    model_config = {"populate_by_name": True}


class ChoiceOut(BaseModel):
    kind: str
    code: str
    names: Names
    position: int


class ChoiceList(BaseModel):
    items: list[ChoiceOut]


class ChoiceIn(BaseModel):
    names: Names
    position: int | None = Field(None, ge=0, le=1000)


def out(c: Choice) -> ChoiceOut:
    return ChoiceOut(kind=c.kind, code=c.code, position=c.position,
                     names=Names(**{"zh-CN": c.name_zh, "en": c.name_en}))


def _audit_view(c: Choice) -> dict[str, object]:
    return {"code": c.code, "name_zh": c.name_zh, "name_en": c.name_en,
            "position": c.position, "archived_at": c.archived_at}


async def live_choices(session: AsyncSession, services: Services, kind: str) -> list[Choice]:
    """The list in order; a list read for the first time is filled with its defaults."""
    rows = list((await session.execute(
        select(Choice).where(Choice.kind == kind).order_by(Choice.position, Choice.id)))
        .scalars())
    if not rows:
        now = services.clock.now()
        rows = [Choice(kind=kind, code=c, name_zh=zh, name_en=en, position=i, created_at=now)
                for i, (c, zh, en) in enumerate(DEFAULTS[kind])]
        session.add_all(rows)
        await session.commit()
    return [r for r in rows if r.archived_at is None]


async def choice_codes(session: AsyncSession, services: Services, kind: str) -> set[str]:
    return {c.code for c in await live_choices(session, services, kind)}


def _may_edit(user: User, kind: str) -> None:
    if not user.has_role(EDITORS[kind]):
        raise http_error(status.HTTP_403_FORBIDDEN, "forbidden",
                         f"only a {EDITORS[kind].value} may change this list")


@router.get("/{kind}", response_model=ChoiceList)
async def list_choices(kind: Kind, request: Request, session: AsyncSession = Depends(db_session),
                       _: User = Depends(agent)) -> ChoiceList:
    return ChoiceList(items=[out(c) for c in await live_choices(session, get_services(request),
                                                                  kind)])


@router.put("/{kind}/{code}", response_model=ChoiceOut)
async def put_choice(kind: Kind, code: str, body: ChoiceIn, request: Request,
                     session: AsyncSession = Depends(db_session),
                     user: User = Depends(agent)) -> ChoiceOut:
    """Add an item, or change its names and place (an archived code comes back)."""
    _may_edit(user, kind)
    if not code or len(code) > 64 or not all(ch.isalnum() or ch in "_-" for ch in code) \
            or not code.isascii():
        raise http_error(status.HTTP_422_UNPROCESSABLE_CONTENT, "bad_code",
                         "code: letters, digits, _ and - only (at most 64)")
    services = get_services(request)
    await live_choices(session, services, kind)  # the defaults exist before a first edit
    row = await session.scalar(select(Choice).where(Choice.kind == kind, Choice.code == code))
    before = _audit_view(row) if row is not None else None
    if row is None:
        last = await session.scalar(select(Choice.position).where(Choice.kind == kind)
                                    .order_by(Choice.position.desc()).limit(1))
        row = Choice(kind=kind, code=code, name_zh=body.names.zh_CN, name_en=body.names.en,
                     position=body.position if body.position is not None else (last or 0) + 1,
                     created_at=services.clock.now())
        session.add(row)
    else:
        row.name_zh, row.name_en, row.archived_at = body.names.zh_CN, body.names.en, None
        if body.position is not None:
            row.position = body.position
    audit.record(session, actor_of(user), "update" if before else "create", kind, code,
                 before, _audit_view(row), clock=services.clock)
    await session.commit()
    await services.bus.publish("console.choices_changed", {"kind": kind, "code": code})
    return out(row)


@router.delete("/{kind}/{code}", response_model=ChoiceOut)
async def archive_choice(kind: Kind, code: str, request: Request,
                         session: AsyncSession = Depends(db_session),
                         user: User = Depends(agent)) -> ChoiceOut:
    """Take an item off the list (archived: reports and old records still name it)."""
    _may_edit(user, kind)
    services = get_services(request)
    row = next((c for c in await live_choices(session, services, kind) if c.code == code), None)
    if row is None:
        raise http_error(status.HTTP_404_NOT_FOUND, "not_found", f"no {kind} {code}")
    before = _audit_view(row)
    row.archived_at = services.clock.now()
    audit.record(session, actor_of(user), "archive", kind, code, before, _audit_view(row),
                 clock=services.clock)
    await session.commit()
    await services.bus.publish("console.choices_changed", {"kind": kind, "code": code})
    return out(row)

