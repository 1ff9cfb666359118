"""The call record of each IVR session: route, path, outcome and where the caller left."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ivr.models import IvrSession


async def by_uniqueid(session: AsyncSession, uniqueid: str) -> list[IvrSession]:
    return list((await session.execute(select(IvrSession).where(
        IvrSession.uniqueid == uniqueid).order_by(IvrSession.id))).scalars())


async def recent(session: AsyncSession, limit: int = 100) -> list[IvrSession]:
    return list((await session.execute(select(IvrSession).order_by(
        IvrSession.id.desc()).limit(limit))).scalars())
