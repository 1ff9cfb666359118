"""The console's own table: the pause codes agents choose from (supervisors edit the list)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class PauseCode(Base):
    """A reason an agent may give for pausing; ``code`` is what Asterisk's queue log records."""

    __tablename__ = "console_pause_codes"
    __table_args__ = (UniqueConstraint("code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(128))
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
