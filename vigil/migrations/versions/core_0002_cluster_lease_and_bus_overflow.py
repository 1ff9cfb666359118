"""core: cluster leases and the cross-node bus's overflow table

Revision ID: core_0002
Revises: core_0001
Create Date: 2026-11-22 10:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db


revision: str = 'core_0002'
down_revision: str | Sequence[str] | None = 'core_0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # core/lease.py: one row per lease (the CTI connection per Asterisk, cluster-wide timers)
    op.create_table('cluster_lease',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=False),
    sa.Column('token', sa.Integer(), nullable=False),
    sa.Column('acquired_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('renewed_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_cluster_lease'))
    )
    # core/bus_pg.py: events too large for a NOTIFY payload, kept for a few minutes
    op.create_table('bus_overflow',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bus_overflow'))
    )
    with op.batch_alter_table('bus_overflow', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bus_overflow_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('bus_overflow', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bus_overflow_created_at'))
    op.drop_table('bus_overflow')
    op.drop_table('cluster_lease')
