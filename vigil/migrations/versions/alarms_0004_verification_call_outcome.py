"""alarms: a verification call's outcome from its events, and what the operator learnt

The result of a verification call now comes from the call (the far leg's dial status): its
cause when it failed, when the far party answered, the CTI's call id and record, the talk time.
The operator adds only who answered, the passcode check and a note.

Revision ID: alarms_0004
Revises: alarms_0003
Create Date: 2026-12-05 18:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

import core.db
from alembic import op

revision: str = 'alarms_0004'
down_revision: str | Sequence[str] | None = 'alarms_0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS: tuple[sa.Column[object], ...] = (
    sa.Column('cause', sa.String(length=64), nullable=True),
    sa.Column('answered_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cti_call_id', sa.String(length=128), nullable=True),
    sa.Column('call_record_id', sa.Integer(), nullable=True),
    sa.Column('talk_seconds', sa.Float(), nullable=True),
    sa.Column('answered_by', sa.String(length=200), nullable=True),
)


def upgrade() -> None:
    with op.batch_alter_table('alarm_verification_calls') as batch:
        for column in COLUMNS:
            batch.add_column(column)


def downgrade() -> None:
    with op.batch_alter_table('alarm_verification_calls') as batch:
        for column in reversed(COLUMNS):
            batch.drop_column(column.name)
