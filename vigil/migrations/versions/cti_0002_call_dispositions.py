"""cti: call dispositions on call records, and those picked before the record was stored

Revision ID: cti_0002
Revises: cti_0001
Create Date: 2026-11-24 10:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = 'cti_0002'
down_revision: str | Sequence[str] | None = 'cti_0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('cti_call_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disposition', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('disposition_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('disposition_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('disposition_at', core.db.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index(batch_op.f('ix_cti_call_records_disposition'), ['disposition'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_cti_call_records_disposition_by_users'),
                                    'users', ['disposition_by'], ['id'])

    op.create_table('cti_pending_dispositions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.String(length=96), nullable=False),
    sa.Column('disposition', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('set_by', sa.Integer(), nullable=True),
    sa.Column('set_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['set_by'], ['users.id'],
                            name=op.f('fk_cti_pending_dispositions_set_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cti_pending_dispositions')),
    sa.UniqueConstraint('call_id', name=op.f('uq_cti_pending_dispositions_call_id'))
    )


def downgrade() -> None:
    op.drop_table('cti_pending_dispositions')
    with op.batch_alter_table('cti_call_records', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_cti_call_records_disposition_by_users'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_cti_call_records_disposition'))
        batch_op.drop_column('disposition_at')
        batch_op.drop_column('disposition_by')
        batch_op.drop_column('disposition_note')
        batch_op.drop_column('disposition')
