"""pay as you go: the store's prepaid SMS ledger

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 07:00:00
"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('balance', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('low_balance_threshold', sa.BigInteger(), server_default='200000', nullable=False))
        batch_op.add_column(sa.Column('low_balance_alerted_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'ledger_entries',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('balance_after', sa.BigInteger(), nullable=False),
        sa.Column('message_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
        sa.Column('parts', sa.Integer(), nullable=True),
        sa.Column('note', sa.String(length=300), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_ledger_entries_message_id_messages'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_ledger_entries_store_id_stores'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries')),
        sa.UniqueConstraint('kind', 'message_id', name=op.f('uq_ledger_entries_kind_message_id')),
    )
    op.create_index('ix_ledger_entries_store_id_id', 'ledger_entries', ['store_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_ledger_entries_store_id_id', table_name='ledger_entries')
    op.drop_table('ledger_entries')
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.drop_column('low_balance_alerted_at')
        batch_op.drop_column('low_balance_threshold')
        batch_op.drop_column('balance')
