"""campaign engine: campaigns, steps, enrollments, messages, sending rules

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 04:27:55.717621
"""
from collections.abc import Sequence

from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('console_sms',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('localid', sa.String(length=64), nullable=False),
    sa.Column('receptor', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_sms'))
    )
    with op.batch_alter_table('console_sms', schema=None) as batch_op:
        batch_op.create_index('ix_console_sms_localid', ['localid'], unique=False)

    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('promotional', sa.Boolean(), nullable=False),
    sa.Column('trigger_minutes', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_campaigns_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns'))
    )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.create_index('ix_campaigns_store_id_kind', ['store_id', 'kind'], unique=False)

    op.create_table('campaign_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('delay_minutes', sa.Integer(), nullable=False),
    sa.Column('template', sa.Text(), nullable=False),
    sa.Column('coupon', sa.JSON(), nullable=True),
    sa.Column('variants', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_steps_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_steps')),
    sa.UniqueConstraint('campaign_id', 'position', name=op.f('uq_campaign_steps_campaign_id_position'))
    )
    op.create_table('enrollments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('subject_type', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('anchor_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('exit_reason', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('exited_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_enrollments_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_enrollments_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_enrollments_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrollments')),
    sa.UniqueConstraint('campaign_id', 'subject_type', 'subject_id', name=op.f('uq_enrollments_campaign_id_subject_type_subject_id'))
    )
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.create_index('ix_enrollments_contact_id_status', ['contact_id', 'status'], unique=False)

    op.create_table('messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('enrollment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('step_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('promotional', sa.Boolean(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=True),
    sa.Column('variant', sa.String(length=40), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('gateway_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_messages_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_messages_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['enrollment_id'], ['enrollments.id'], name=op.f('fk_messages_enrollment_id_enrollments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['step_id'], ['campaign_steps.id'], name=op.f('fk_messages_step_id_campaign_steps'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_messages_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
    sa.UniqueConstraint('enrollment_id', 'step_id', name=op.f('uq_messages_enrollment_id_step_id'))
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_contact_id_sent_at', ['contact_id', 'sent_at'], unique=False)
        batch_op.create_index('ix_messages_due', ['due_at'], unique=False, postgresql_where=sa.text("status = 'scheduled'"), sqlite_where=sa.text("status = 'scheduled'"))
        batch_op.create_index('ix_messages_status_claimed_at', ['status', 'claimed_at'], unique=False)

    with op.batch_alter_table('carts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('converted_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('send_from_minute', sa.Integer(), nullable=False, server_default='540'))
        batch_op.add_column(sa.Column('send_until_minute', sa.Integer(), nullable=False, server_default='1260'))
        batch_op.add_column(sa.Column('send_weekdays', sa.JSON(), nullable=False, server_default='[0, 1, 2, 3, 4, 5, 6]'))
        batch_op.add_column(sa.Column('cap_per_day', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('cap_per_week', sa.Integer(), nullable=False, server_default='3'))

    _default_campaigns_for_existing_stores()




# The defaults as they were at this revision (later changes to app code do not rewrite history).
_CAMPAIGNS = [
    ("abandoned_cart", "سبد رهاشده", True, True, 60, [
        (60, None, '{{ first_name or "مشتری" }} عزیز، سبد خریدت در {{ store_name }} منتظرته! تکمیلش کن: {{ link }}'),
        (1440, {"mode": "fixed", "code": "off5"}, '{{ first_name or "مشتری" }} عزیز، با کد {{ coupon_code }} سبدت در {{ store_name }} رو با تخفیف بخر: {{ link }}'),
        (4320, None, 'آخرین فرصت! سبد خریدت در {{ store_name }} به‌زودی خالی می‌شه: {{ link }}')]),
    ("post_purchase_survey", "نظرسنجی پس از خرید", True, False, 0, [
        (4320, None, '{{ first_name or "مشتری" }} عزیز، از خریدت در {{ store_name }} راضی بودی؟ نظرت رو بگو: {{ link }}')]),
    ("cross_sell", "پیشنهاد محصول مکمل", True, True, 0, [
        (10080, None, '{{ first_name or "مشتری" }} عزیز، {{ product_name }} هم به خریدت می‌آد! در {{ store_name }}: {{ link }}')]),
    ("win_back", "بازگرداندن مشتری", False, True, 86400, [
        (0, None, '{{ first_name or "مشتری" }} عزیز، دلمون برات تنگ شده! سری به {{ store_name }} بزن: {{ link }}')]),
]


def _default_campaigns_for_existing_stores() -> None:
    conn = op.get_bind()
    meta = sa.MetaData()
    campaigns = sa.Table("campaigns", meta, autoload_with=conn)
    steps = sa.Table("campaign_steps", meta, autoload_with=conn)
    now = datetime.now(timezone.utc)
    for (store_id,) in conn.execute(sa.text("SELECT id FROM stores")).all():
        for kind, name, active, promotional, trigger, step_rows in _CAMPAIGNS:
            campaign_id = conn.execute(campaigns.insert().values(
                store_id=store_id, kind=kind, name=name, active=active, promotional=promotional,
                trigger_minutes=trigger, created_at=now).returning(campaigns.c.id)).scalar_one()
            conn.execute(steps.insert(), [
                dict(campaign_id=campaign_id, position=n, delay_minutes=delay, coupon=coupon,
                     template=template, variants=[])
                for n, (delay, coupon, template) in enumerate(step_rows, start=1)])


def downgrade() -> None:

    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.drop_column('cap_per_week')
        batch_op.drop_column('cap_per_day')
        batch_op.drop_column('send_weekdays')
        batch_op.drop_column('send_until_minute')
        batch_op.drop_column('send_from_minute')

    with op.batch_alter_table('carts', schema=None) as batch_op:
        batch_op.drop_column('converted_at')

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_status_claimed_at')
        batch_op.drop_index('ix_messages_due', postgresql_where=sa.text("status = 'scheduled'"), sqlite_where=sa.text("status = 'scheduled'"))
        batch_op.drop_index('ix_messages_contact_id_sent_at')

    op.drop_table('messages')
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.drop_index('ix_enrollments_contact_id_status')

    op.drop_table('enrollments')
    op.drop_table('campaign_steps')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_index('ix_campaigns_store_id_kind')

    op.drop_table('campaigns')
    with op.batch_alter_table('console_sms', schema=None) as batch_op:
        batch_op.drop_index('ix_console_sms_localid')

    op.drop_table('console_sms')

