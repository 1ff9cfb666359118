"""core.db: the reader session (no transaction on PostgreSQL) and one_of (batch lookups)."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select, text

from core.db import one_of
from core.models import User
from core.services import Services
from tests.conftest import ensure_user


async def test_reader_runs_each_statement_on_its_own(services: Services) -> None:
    db = services.db
    if db.dialect != "postgresql":
        async with db.reader() as s:  # a plain session elsewhere
            assert await s.scalar(text("SELECT 1")) == 1
        return
    async with db.reader() as s:
        first = await s.scalar(text("SELECT now()"))
        await asyncio.sleep(0.01)
        second = await s.scalar(text("SELECT now()"))
        no_txn = await s.scalar(text("SELECT txid_current_if_assigned() IS NULL"))
    assert second > first and no_txn  # now() moves: no transaction holds it still
    async with db.session() as s:  # a transaction's now() stands still
        first = await s.scalar(text("SELECT now()"))
        await asyncio.sleep(0.01)
        assert await s.scalar(text("SELECT now()")) == first


async def test_one_of_finds_the_same_rows_whatever_the_batch_size(services: Services) -> None:
    ids = [await ensure_user(services, f"u{n}", "agent") for n in range(5)]
    async with services.db.reader() as s:
        for size in (1, 3, 5):
            found = await s.scalar(select(func.count()).select_from(User).where(
                one_of(s, User.id, ids[:size])))
            assert found == size
        assert await s.scalar(select(func.count()).select_from(User).where(
            one_of(s, User.username, ["u0", "nobody"]))) == 1
