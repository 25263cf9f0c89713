"""enrollment product: the product a sequence is about, when its trigger picked one
(reorder_due's due product, product_bought's first match)

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-13 00:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0033'
down_revision: str | None = '0032'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: SQLite adds the column in place (no table rebuild).
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('product_wc_id', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.drop_column('product_wc_id')
