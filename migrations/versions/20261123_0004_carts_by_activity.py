"""carts by store and last activity

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 06:03:53.972634
"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table('carts', schema=None) as batch_op:
        batch_op.create_index('ix_carts_store_id_modified_gmt', ['store_id', 'modified_gmt'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('carts', schema=None) as batch_op:
        batch_op.drop_index('ix_carts_store_id_modified_gmt')


