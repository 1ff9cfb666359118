"""agent_web: configured lists with names in both languages

Pause reasons, call dispositions and fee plans become one table of coded items with a Chinese
and an English name; the pause codes move into it (their one label serves both languages until
someone edits them).

Revision ID: agent_web_0002
Revises: agent_web_0001
Create Date: 2026-12-05 19:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = 'agent_web_0002'
down_revision: str | Sequence[str] | None = 'agent_web_0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('console_choices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name_zh', sa.String(length=128), nullable=False),
    sa.Column('name_en', sa.String(length=128), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('archived_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_choices')),
    sa.UniqueConstraint('kind', 'code', name=op.f('uq_console_choices_kind'))
    )
    op.execute("INSERT INTO console_choices (kind, code, name_zh, name_en, position, created_at) "
               "SELECT 'pause_code', code, label, label, position, created_at "
               "FROM console_pause_codes")
    op.drop_table('console_pause_codes')


def downgrade() -> None:
    op.create_table('console_pause_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=128), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_pause_codes')),
    sa.UniqueConstraint('code', name=op.f('uq_console_pause_codes_code'))
    )
    op.execute("INSERT INTO console_pause_codes (code, label, position, created_at) "
               "SELECT code, name_en, position, created_at FROM console_choices "
               "WHERE kind = 'pause_code' AND archived_at IS NULL")
    op.drop_table('console_choices')
