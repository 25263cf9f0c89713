"""store settings for lookup mode, WooCommerce keys, alerts and attribution; step lookup templates

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 06:40:00
"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sms_template_mode', sa.String(length=10), server_default='sms', nullable=False))
        batch_op.add_column(sa.Column('wc_consumer_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('wc_consumer_secret', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('alert_phone', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('alert_webhook_url', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('attribution_window_days', sa.Integer(), server_default='5', nullable=False))
    with op.batch_alter_table('campaign_steps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lookup', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('campaign_steps', schema=None) as batch_op:
        batch_op.drop_column('lookup')
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.drop_column('attribution_window_days')
        batch_op.drop_column('alert_webhook_url')
        batch_op.drop_column('alert_phone')
        batch_op.drop_column('wc_consumer_secret')
        batch_op.drop_column('wc_consumer_key')
        batch_op.drop_column('sms_template_mode')
