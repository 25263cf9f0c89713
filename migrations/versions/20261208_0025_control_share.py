"""control share: campaigns.control_percent, enrollments.control (drawn into the control group),
messages.withheld_at (a control message counted in the frequency cap as if sent), and the
indexes the cap and the lift report read

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 14:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0025'
down_revision: str | None = '0024'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WITHHELD = "withheld_at IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('control_percent', sa.Integer(), server_default='0',
                                      nullable=False))
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        # A constant text default, not sa.false(): SQLite then adds the column in place. An
        # expression makes batch mode rebuild the table, and dropping the old one (foreign keys
        # on) would cascade to every message.
        batch_op.add_column(sa.Column('control', sa.Boolean(), server_default='0',
                                      nullable=False))
        batch_op.create_index('ix_enrollments_campaign_id_anchor_at',
                              ['campaign_id', 'anchor_at'], unique=False)
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withheld_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_messages_contact_id_withheld_at', ['contact_id', 'withheld_at'],
                              unique=False, postgresql_where=sa.text(WITHHELD),
                              sqlite_where=sa.text(WITHHELD))


def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_contact_id_withheld_at',
                            postgresql_where=sa.text(WITHHELD), sqlite_where=sa.text(WITHHELD))
        batch_op.drop_column('withheld_at')
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.drop_index('ix_enrollments_campaign_id_anchor_at')
        batch_op.drop_column('control')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('control_percent')
