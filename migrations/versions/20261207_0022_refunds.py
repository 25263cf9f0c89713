"""orders.refunded: what an order's refunds gave back; attributions.refunded: that part, taken
off the credited revenue (a partial refund keeps the order a purchase)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 13:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ('orders', 'attributions'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('refunded', sa.BigInteger(), server_default='0',
                                          nullable=False))


def downgrade() -> None:
    for table in ('attributions', 'orders'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('refunded')
