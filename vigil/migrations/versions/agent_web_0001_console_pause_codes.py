"""agent_web: console pause codes

Revision ID: agent_web_0001
Revises:
Create Date: 2026-11-23 10:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = 'agent_web_0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ('agent_web',)
depends_on: str | Sequence[str] | None = 'core_0001'


def upgrade() -> None:
    op.create_table('console_pause_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=128), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_pause_codes')),
    sa.UniqueConstraint('code', name=op.f('uq_console_pause_codes_code'))
    )


def downgrade() -> None:
    op.drop_table('console_pause_codes')
