"""messages.sent_via: the provider a message went to, so its delivery report and a stalled
send are asked of that provider, not of whichever one the store uses now

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-09 06:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0027'
down_revision: str | None = '0026'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sent_via', sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('sent_via')
