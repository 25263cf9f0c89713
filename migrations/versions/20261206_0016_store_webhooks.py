"""store_webhooks: each webhook topic one-click connect registered and the connections job
checks; stores: the pending connect nonce, the last check, the back-fill watermarks

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 03:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'store_webhooks',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('topic', sa.String(length=100), nullable=False),
        sa.Column('wc_webhook_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('error', sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'],
                                name=op.f('fk_store_webhooks_store_id_stores'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_store_webhooks')),
        sa.UniqueConstraint('store_id', 'topic', name=op.f('uq_store_webhooks_store_id_topic')),
    )
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wc_connect_nonce_hash', sa.String(length=64),
                                      nullable=True))
        batch_op.add_column(sa.Column('connection_checked_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('orders_synced_to', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('products_synced_to', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('connection_broken_at', sa.DateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.drop_column('connection_broken_at')
        batch_op.drop_column('products_synced_to')
        batch_op.drop_column('orders_synced_to')
        batch_op.drop_column('connection_checked_at')
        batch_op.drop_column('wc_connect_nonce_hash')
    op.drop_table('store_webhooks')
