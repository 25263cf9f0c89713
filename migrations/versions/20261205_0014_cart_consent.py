"""carts: when the shopper declined SMS at checkout (the companion plugin's consent box)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 04:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('carts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('declined_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('carts', schema=None) as batch_op:
        batch_op.drop_column('declined_at')
