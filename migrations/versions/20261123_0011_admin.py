"""merchant admin API: deleted campaigns and steps are kept for their history; test sends

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 08:00:00
"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('campaign_steps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))

    op.create_table('test_sends',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.Integer(), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('gateway_id', sa.String(length=64), nullable=True),
    sa.Column('error', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['step_id'], ['campaign_steps.id'], name=op.f('fk_test_sends_step_id_campaign_steps'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_test_sends_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_test_sends'))
    )
    with op.batch_alter_table('test_sends', schema=None) as batch_op:
        batch_op.create_index('ix_test_sends_store_id_created_at', ['store_id', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('test_sends', schema=None) as batch_op:
        batch_op.drop_index('ix_test_sends_store_id_created_at')
    op.drop_table('test_sends')
    with op.batch_alter_table('campaign_steps', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')
