"""The console's own table: the center's configured lists (pause reasons, call dispositions, fee
plans), each item with a stable code and a name in each language."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class Choice(Base):
    """One item of a configured list. ``code`` is what Asterisk's queue log, call records and
    reports keep (renaming a code means a new item); the names are what people read."""

    __tablename__ = "console_choices"
    __table_args__ = (UniqueConstraint("kind", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    code: Mapped[str] = mapped_column(String(64))
    name_zh: Mapped[str] = mapped_column(String(128))
    name_en: Mapped[str] = mapped_column(String(128))
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    archived_at: Mapped[datetime | None] = mapped_column(default=None)
