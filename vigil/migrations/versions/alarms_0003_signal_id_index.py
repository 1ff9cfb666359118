"""alarms: an index on the signal rows' journal ids

At start-up the engine looks for journaled signals that have no row here (those a crash or a
restart caught between the journal's commit and the engine's), by their journal ids.

Revision ID: alarms_0003
Revises: alarms_0002
Create Date: 2026-11-22 01:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = 'alarms_0003'
down_revision: str | Sequence[str] | None = 'alarms_0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_alarm_incident_signals_signal_id', 'alarm_incident_signals',
                    ['signal_id'])


def downgrade() -> None:
    op.drop_index('ix_alarm_incident_signals_signal_id', table_name='alarm_incident_signals')
