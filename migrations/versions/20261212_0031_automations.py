"""automations: a campaign is a trigger, its parameters, conditions and exit conditions; the
fixed campaigns every store has become presets of it (campaigns.trigger from their kind)

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-12 00:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0031'
down_revision: str | None = '0030'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What starts each kind of campaign a store has today.
TRIGGERS = {'abandoned_cart': 'cart_abandoned', 'lost_order': 'order_lost',
            'post_purchase_survey': 'order_completed', 'cross_sell': 'order_completed',
            'win_back': 'no_purchase'}


def upgrade() -> None:
    # Constant text defaults only: SQLite then adds the columns in place. An expression (or a
    # NOT NULL change later) makes batch mode rebuild the table, and dropping the old one with
    # foreign keys on would cascade to every step, enrollment and message.
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('trigger', sa.String(length=40), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('trigger_params', sa.JSON(), server_default='{}',
                                      nullable=False))
        batch_op.add_column(sa.Column('conditions', sa.JSON(), server_default='{}',
                                      nullable=False))
        batch_op.add_column(sa.Column('exits', sa.JSON(), server_default='{}', nullable=False))
    campaigns = sa.table('campaigns', sa.column('kind', sa.String), sa.column('trigger', sa.String))
    for kind, trigger in TRIGGERS.items():
        op.execute(campaigns.update().where(campaigns.c.kind == kind).values(trigger=trigger))


def downgrade() -> None:
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('exits')
        batch_op.drop_column('conditions')
        batch_op.drop_column('trigger_params')
        batch_op.drop_column('trigger')
