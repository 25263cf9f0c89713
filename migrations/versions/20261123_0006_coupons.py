"""personal WooCommerce coupons and the store's REST keys

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 06:40:00
"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'coupons',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('discount_type', sa.String(length=20), nullable=False),
        sa.Column('amount', sa.String(length=20), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('wc_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('first_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('retry_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('maybe_created', sa.Boolean(), nullable=False),
        sa.Column('last_error', sa.String(length=300), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_coupons_message_id_messages'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_coupons_store_id_stores'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_coupons')),
        sa.UniqueConstraint('message_id', name=op.f('uq_coupons_message_id')),
        sa.UniqueConstraint('store_id', 'code', name=op.f('uq_coupons_store_id_code')),
    )
    op.create_index('ix_coupons_status_retry_at', 'coupons', ['status', 'retry_at'], unique=False)
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('coupon_codes', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('coupon_codes')
    op.drop_index('ix_coupons_status_retry_at', table_name='coupons')
    op.drop_table('coupons')
