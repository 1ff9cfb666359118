"""alarms: at most one open incident per account key and desk

Two nodes receiving signals for one account at the same moment could each open an incident;
the partial unique index makes the second INSERT fail, and the engine's batch retry then joins
the incident the other node opened. Duplicates already in the table are closed first (the
newest ones; the oldest open incident of each account and desk stays), each with an audit entry.

Revision ID: alarms_0002
Revises: alarms_0001
Create Date: 2026-11-22 00:00:00
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import core.db


revision: str = 'alarms_0002'
down_revision: str | Sequence[str] | None = 'alarms_0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = 'uq_alarm_incidents_open_account_desk'
OPEN = sa.text("status <> 'closed'")
NOTE = 'duplicate open incident closed by migration alarms_0002'

_incidents = sa.table(
    'alarm_incidents', sa.column('id', sa.Integer), sa.column('account_key', sa.String),
    sa.column('desk', sa.String), sa.column('status', sa.String),
    sa.column('disposition', sa.String), sa.column('close_note', sa.Text),
    sa.column('closed_at', core.db.UTCDateTime(timezone=True)),
    sa.column('hold_until', core.db.UTCDateTime(timezone=True)),
    sa.column('version', sa.Integer))
_audit = sa.table(
    'audit_log', sa.column('at', core.db.UTCDateTime(timezone=True)),
    sa.column('actor_id', sa.Integer), sa.column('actor', sa.String),
    sa.column('action', sa.String), sa.column('entity', sa.String),
    sa.column('entity_id', sa.String), sa.column('before', sa.JSON),
    sa.column('after', sa.JSON), sa.column('note', sa.Text))


def _close_duplicates() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(_incidents.c.id, _incidents.c.account_key, _incidents.c.desk,
                                  _incidents.c.status)
                        .where(_incidents.c.status != 'closed')
                        .order_by(_incidents.c.account_key, _incidents.c.desk,
                                  _incidents.c.id)).all()
    seen: set[tuple[str, str]] = set()
    now = datetime.now(UTC)
    for iid, key, desk, status in rows:
        if (key, desk) not in seen:
            seen.add((key, desk))
            continue
        bind.execute(sa.update(_incidents).where(_incidents.c.id == iid).values(
            status='closed', disposition='cleared_by_system', close_note=NOTE, closed_at=now,
            hold_until=None, version=_incidents.c.version + 1))
        bind.execute(sa.insert(_audit).values(
            at=now, actor_id=None, actor='system:migrations', action='close',
            entity='incident', entity_id=str(iid), before={'status': status},
            after={'status': 'closed', 'disposition': 'cleared_by_system'}, note=NOTE))


def upgrade() -> None:
    _close_duplicates()
    with op.batch_alter_table('alarm_incidents', schema=None) as batch_op:
        batch_op.create_index(INDEX, ['account_key', 'desk'], unique=True,
                              postgresql_where=OPEN, sqlite_where=OPEN)


def downgrade() -> None:
    with op.batch_alter_table('alarm_incidents', schema=None) as batch_op:
        batch_op.drop_index(INDEX)
