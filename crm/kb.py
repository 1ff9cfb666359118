"""The knowledge base: articles agents search during a call, with view counts.

Search choice: every article keeps ``search_text`` (title, tags and body, lower-cased) and a
query matches articles containing every one of its words as a substring (``LIKE`` on SQLite,
``ILIKE``-equivalent on PostgreSQL). This is portable and, unlike PostgreSQL's word-based
full-text search or SQLite FTS5's default tokenizer, finds Chinese text, which has no spaces
between words. A knowledge base has hundreds to a few thousand articles, so a scan is cheap;
should it grow, a ``pg_trgm`` GIN index on ``search_text`` speeds up the same query on
PostgreSQL without changing it. Title hits rank first, then the most viewed.

Views are counted with an atomic ``UPDATE ... SET views = views + 1``; they are statistics, not a
change of the article, so they are not audited.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from core import audit
from core.clock import Clock
from crm import records
from crm.models import KbArticle


async def create_article(session: AsyncSession, clock: Clock, actor: audit.Actor, *,
                         title: str, body: str, tags: str = "",
                         language: str = "zh-CN") -> KbArticle:
    now = clock.now()
    article = KbArticle(title=title, body=body, tags=tags, language=language,
                        search_text=records.kb_search_text(title, tags, body), views=0,
                        created_at=now, updated_at=now)
    return await records.create(session, clock, actor, article)


async def search(session: AsyncSession, q: str | None, *, language: str | None = None,
                 include_archived: bool = False, limit: int = 20,
                 offset: int = 0) -> tuple[list[KbArticle], int]:
    """Articles containing every word of ``q`` (all articles when ``q`` is empty)."""
    conds: list[ColumnElement[bool]] = []
    if not include_archived:
        conds.append(KbArticle.archived_at.is_(None))
    if language:
        conds.append(KbArticle.language == language)
    words = (q or "").lower().split()
    for word in words:
        conds.append(KbArticle.search_text.contains(word, autoescape=True))
    total = await session.scalar(select(func.count()).select_from(KbArticle).where(*conds)) or 0
    order: list[Any] = []
    if words:
        order.append(case((func.lower(KbArticle.title).contains(words[0], autoescape=True), 0),
                          else_=1))
    order += [KbArticle.views.desc(), KbArticle.id]
    rows = (await session.execute(select(KbArticle).where(*conds).order_by(*order)
                                  .limit(limit).offset(offset))).scalars().all()
    return list(rows), total


async def view_article(session: AsyncSession, article_id: int) -> KbArticle:
    """Read an article and count the view."""
    article = await records.get(session, KbArticle, article_id)
    await session.execute(update(KbArticle).where(KbArticle.id == article_id)
                          .values(views=KbArticle.views + 1))
    await session.refresh(article)
    return article


def article_dict(a: KbArticle, with_body: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"id": a.id, "title": a.title, "tags": a.tags, "language": a.language,
                           "views": a.views, "created_at": a.created_at.isoformat(),
                           "updated_at": a.updated_at.isoformat(),
                           "archived": a.archived_at is not None}
    if with_body:
        out["body"] = a.body
    return out
