"""broadcasts: one SMS to a segment at a chosen time, sent through a hidden campaign (broadcasts)

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-12 00:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0032'
down_revision: str | None = '0031'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'broadcasts',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('segment_id', BIG_ID, nullable=True),
        sa.Column('definition', sa.JSON(), nullable=True),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('max_cost', sa.BigInteger(), nullable=True),
        sa.Column('estimated_recipients', sa.Integer(), nullable=True),
        sa.Column('estimated_parts', sa.Integer(), nullable=True),
        sa.Column('estimated_cost', sa.BigInteger(), nullable=True),
        sa.Column('estimated_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('refused_reason', sa.String(length=40), nullable=True),
        sa.Column('refused_detail', sa.String(length=300), nullable=True),
        sa.Column('recipients', sa.Integer(), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('enrolled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'],
                                name=op.f('fk_broadcasts_store_id_stores'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['segment_id'], ['segments.id'],
                                name=op.f('fk_broadcasts_segment_id_segments'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'],
                                name=op.f('fk_broadcasts_campaign_id_campaigns'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcasts')),
    )
    op.create_index('ix_broadcasts_store_id', 'broadcasts', ['store_id'], unique=False)
    op.create_index('ix_broadcasts_status_scheduled_at', 'broadcasts',
                    ['status', 'scheduled_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_broadcasts_status_scheduled_at', table_name='broadcasts')
    op.drop_index('ix_broadcasts_store_id', table_name='broadcasts')
    op.drop_table('broadcasts')
