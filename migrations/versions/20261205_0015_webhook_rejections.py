"""webhook_rejections: deliveries refused for a wrong or missing signature, counted per store,
cause and topic; an index for each topic's last delivery of a store

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 05:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'webhook_rejections',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('cause', sa.String(length=40), nullable=False),
        sa.Column('topic', sa.String(length=100), nullable=False),
        sa.Column('webhook_id', sa.String(length=40), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('first_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'],
                                name=op.f('fk_webhook_rejections_store_id_stores'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_rejections')),
        sa.UniqueConstraint('store_id', 'cause', 'topic',
                            name=op.f('uq_webhook_rejections_store_id_cause_topic')),
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_deliveries_store_id_topic_received_at',
                              ['store_id', 'topic', 'received_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_deliveries_store_id_topic_received_at')
    op.drop_table('webhook_rejections')
