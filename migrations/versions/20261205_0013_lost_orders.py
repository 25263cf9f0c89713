"""lost orders: what an unpaid order needs (its payment page, how it was made, whether WooCommerce
cancelled it while it waited), the index the trigger reads, and the lost-order campaign for every
store that exists

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 01:00:00
"""
from collections.abc import Sequence
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = "سفارش پرداخت‌نشده"
_STEPS = [
    (30, None, '{{ first_name or "مشتری" }} عزیز، سفارش {{ order_number }} در {{ store_name }} '
               'هنوز پرداخت نشده؛ از اینجا پرداخت کن: {{ link }}'),
    (1440, {"mode": "personal", "discount_type": "percent", "amount": "5", "expires_days": 3,
            "on_failure": "hold"},
     '{{ first_name or "مشتری" }} عزیز، با کد {{ coupon_code }} سفارشت در {{ store_name }} رو '
     'با تخفیف تکمیل کن: {{ link }}'),
    (4320, None, 'آخرین فرصت {{ first_name or "مشتری" }} عزیز! سفارشت در {{ store_name }} هنوز '
                 'منتظر پرداخته: {{ link }}'),
]


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payment_url', sa.String(length=2000), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('created_via', sa.String(length=40), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('unpaid_cancelled', sa.Boolean(),
                                      server_default=sa.false(), nullable=False))
        batch_op.create_index('ix_orders_store_id_created_gmt', ['store_id', 'created_gmt'],
                              unique=False)
    _lost_order_campaign_for_existing_stores()


def _lost_order_campaign_for_existing_stores() -> None:
    """Active from now on: orders placed before this revision are never enrolled (the trigger
    reads only orders placed after the campaign was created)."""
    conn = op.get_bind()
    meta = sa.MetaData()
    campaigns = sa.Table("campaigns", meta, autoload_with=conn)
    steps = sa.Table("campaign_steps", meta, autoload_with=conn)
    now = datetime.now(timezone.utc)
    for (store_id,) in conn.execute(sa.text("SELECT id FROM stores")).all():
        campaign_id = conn.execute(campaigns.insert().values(
            store_id=store_id, kind="lost_order", name=_NAME, active=True, promotional=True,
            trigger_minutes=30, created_at=now).returning(campaigns.c.id)).scalar_one()
        conn.execute(steps.insert(), [
            dict(campaign_id=campaign_id, position=n, delay_minutes=delay, coupon=coupon,
                 template=template, variants=[])
            for n, (delay, coupon, template) in enumerate(_STEPS, start=1)])


def downgrade() -> None:
    conn = op.get_bind()
    conn.execute(sa.text("DELETE FROM campaigns WHERE kind = 'lost_order'"))
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_store_id_created_gmt')
        batch_op.drop_column('unpaid_cancelled')
        batch_op.drop_column('created_via')
        batch_op.drop_column('payment_url')
