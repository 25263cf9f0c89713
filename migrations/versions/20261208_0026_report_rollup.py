"""the reports' daily rollup: report_days (per store-local day, campaign, step and variant, the
figures of the messages that went out), report_dirty_days (days whose rows a writer changed since)
and report_watermarks (through which day, in which timezone, a store is rolled up). Nothing is
back-filled here: without a watermark a store's reports read the raw tables, and the
report_rollup job builds its rollup.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 14:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0026'
down_revision: str | None = '0025'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIGURES = ('messages', 'scheduled', 'sending', 'held', 'skipped', 'sent', 'delivered', 'failed',
           'blocked', 'parts', 'cost_known', 'cost_estimated_parts', 'cost_estimated',
           'cost_reported', 'cost_ledger', 'clicks', 'orders', 'revenue', 'revenue_taken_back',
           'recovered_carts', 'cross_sell_purchases')


def upgrade() -> None:
    op.create_table(
        'report_days',
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('step_id', sa.Integer(), nullable=False),
        sa.Column('variant', sa.String(length=40), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in FIGURES),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'],
                                name=op.f('fk_report_days_store_id_stores'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('store_id', 'day', 'campaign_id', 'step_id', 'variant',
                                name=op.f('pk_report_days')),
    )
    op.create_table(
        'report_dirty_days',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('marked_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'],
                                name=op.f('fk_report_dirty_days_store_id_stores'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_dirty_days')),
    )
    op.create_index('ix_report_dirty_days_store_id_day', 'report_dirty_days', ['store_id', 'day'],
                    unique=False)
    op.create_table(
        'report_watermarks',
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('through', sa.Date(), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'],
                                name=op.f('fk_report_watermarks_store_id_stores'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('store_id', name=op.f('pk_report_watermarks')),
    )


def downgrade() -> None:
    op.drop_table('report_watermarks')
    op.drop_index('ix_report_dirty_days_store_id_day', table_name='report_dirty_days')
    op.drop_table('report_dirty_days')
    op.drop_table('report_days')
