"""short links, clicks and attribution

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 06:40:00
"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa



revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'links',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('code', sa.String(length=16), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('target', sa.Text(), nullable=False),
        sa.Column('product_wc_id', sa.BigInteger(), nullable=True),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('human_clicks', sa.Integer(), server_default='0', nullable=False),
        sa.Column('bot_hits', sa.Integer(), server_default='0', nullable=False),
        sa.Column('first_clicked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_clicked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_links_message_id_messages'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_links_store_id_stores'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_links')),
        sa.UniqueConstraint('code', name=op.f('uq_links_code')),
        sa.UniqueConstraint('message_id', name=op.f('uq_links_message_id')),
    )
    op.create_table(
        'clicks',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('link_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('clicked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('bot', sa.Boolean(), nullable=False),
        sa.Column('user_agent', sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(['link_id'], ['links.id'], name=op.f('fk_clicks_link_id_links'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_clicks_message_id_messages'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_clicks_store_id_stores'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_clicks')),
    )
    op.create_index('ix_clicks_link_id_clicked_at', 'clicks', ['link_id', 'clicked_at'], unique=False)
    op.create_table(
        'attributions',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('message_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('step_id', sa.Integer(), nullable=False),
        sa.Column('variant', sa.String(length=40), nullable=True),
        sa.Column('basis', sa.String(length=20), nullable=False),
        sa.Column('revenue', sa.BigInteger(), nullable=False),
        sa.Column('cross_sell_purchase', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('attributed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('removed_reason', sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_attributions_campaign_id_campaigns'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_attributions_message_id_messages'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_attributions_order_id_orders'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['step_id'], ['campaign_steps.id'], name=op.f('fk_attributions_step_id_campaign_steps'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_attributions_store_id_stores'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_attributions')),
        sa.UniqueConstraint('order_id', name=op.f('uq_attributions_order_id')),
    )
    op.create_index('ix_attributions_message_id', 'attributions', ['message_id'], unique=False)
    op.create_index('ix_attributions_store_id_attributed_at', 'attributions', ['store_id', 'attributed_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_attributions_store_id_attributed_at', table_name='attributions')
    op.drop_index('ix_attributions_message_id', table_name='attributions')
    op.drop_table('attributions')
    op.drop_index('ix_clicks_link_id_clicked_at', table_name='clicks')
    op.drop_table('clicks')
    op.drop_table('links')
