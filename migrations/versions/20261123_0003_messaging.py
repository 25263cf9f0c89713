"""messaging: gateway settings, delivery status, cost, inbound sms

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 04:45:22.462141
"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('inbound_sms',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('gateway_id', sa.String(length=64), nullable=False),
    sa.Column('sender', sa.String(length=32), nullable=False),
    sa.Column('line', sa.String(length=32), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=True),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_inbound_sms_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_sms')),
    sa.UniqueConstraint('store_id', 'gateway_id', name=op.f('uq_inbound_sms_store_id_gateway_id'))
    )
    with op.batch_alter_table('inbound_sms', schema=None) as batch_op:
        batch_op.create_index('ix_inbound_sms_processed_at', ['processed_at'], unique=False)

    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('promo_blocked_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parts', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('cost', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('delivery_status', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('status_checked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_messages_status_sent_at', ['status', 'sent_at'], unique=False)

    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opt_out_text', sa.String(length=40), server_default='لغو۱۱', nullable=False))
        batch_op.add_column(sa.Column('sms_provider', sa.String(length=20), server_default='console', nullable=False))
        batch_op.add_column(sa.Column('sms_api_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('sms_sender', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('sms_price_per_part', sa.Integer(), server_default='1200', nullable=False))
        batch_op.add_column(sa.Column('sending_paused_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sending_paused_reason', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('sending_checked_at', sa.DateTime(timezone=True), nullable=True))




def downgrade() -> None:

    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.drop_column('sending_checked_at')
        batch_op.drop_column('sending_paused_reason')
        batch_op.drop_column('sending_paused_at')
        batch_op.drop_column('sms_price_per_part')
        batch_op.drop_column('sms_sender')
        batch_op.drop_column('sms_api_key')
        batch_op.drop_column('sms_provider')
        batch_op.drop_column('opt_out_text')

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_status_sent_at')
        batch_op.drop_column('status_checked_at')
        batch_op.drop_column('delivered_at')
        batch_op.drop_column('delivery_status')
        batch_op.drop_column('cost')
        batch_op.drop_column('parts')

    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_column('promo_blocked_at')

    with op.batch_alter_table('inbound_sms', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_sms_processed_at')

    op.drop_table('inbound_sms')

