"""messages: a typed reason code with its detail beside it, and the send mode

The free-text reason becomes a code (app/campaigns/reasons.py) plus `reason_detail`; rows written
before keep their text as the detail where it says more than the code. `send_mode` replaces
recognising a lookup send by its text.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 00:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The beginnings the engine wrote before this revision → their code; first match wins.
_CODES = (
    ("opted out%", None, "opted_out"),
    ("enrollment %", None, "enrollment_ended"),
    ("campaign deleted%", None, "campaign_deleted"),
    ("step deleted%", None, "step_deleted"),
    ("campaign paused%", None, "campaign_paused"),
    ("store sending paused%", None, "store_paused"),
    ("store sending resumed%", None, "store_resumed"),
    ("the receiver blocks%", None, "receiver_blocks_ads"),
    ("purchased again%", None, "purchased_again"),
    ("purchased%", None, "purchased"),
    ("cart emptied%", None, "cart_emptied"),
    ("order deleted%", None, "order_deleted"),
    ("order is %", None, "order_changed"),
    ("nothing to %", None, "nothing_to_recommend"),
    ("quiet hours%", None, "quiet_hours"),
    ("frequency cap%", None, "frequency_cap"),
    ("cart changed%", None, "postponed"),
    ("coupon not ready%", None, "coupon_not_ready"),
    ("coupon: the earlier one expired%", None, "coupon_renewed"),
    ("coupon: trying the store again%", None, "coupon_retry"),
    ("coupon%", None, "coupon_failed"),
    ("prepaid balance%", None, "no_balance"),
    ("balance topped up%", None, "balance_topped_up"),
    ("campaign resumed%", None, "campaign_resumed"),
    ("lookup outcome unknown%", None, "lookup_unknown"),
    ("lookup template refused%", None, "lookup_refused"),
    ("lookup %", "held", "lookup_config"),
    ("lookup %", None, "lookup_data"),
    ("retrying after gateway error%", None, "gateway_retry"),
    ("gateway:%", None, "gateway_refused"),
    ("not delivered%", None, "not_delivered"),
    ("confirmed after a lost answer%", None, "confirmed_after_loss"),
    ("confirmed by the gateway%", None, "confirmed_after_stall"),
    ("returned after a stalled send%", None, "stall_returned"),
)
# Codes whose old text said nothing more than the code does: no detail kept.
_PLAIN = ("opted_out", "campaign_deleted", "step_deleted", "campaign_paused", "store_resumed",
          "receiver_blocks_ads", "purchased_again", "purchased", "cart_emptied", "order_deleted",
          "nothing_to_recommend", "quiet_hours", "frequency_cap", "postponed", "coupon_renewed",
          "coupon_retry", "no_balance", "balance_topped_up", "campaign_resumed",
          "confirmed_after_loss", "confirmed_after_stall", "stall_returned")


def upgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason_detail', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('send_mode', sa.String(length=10), nullable=True))

    messages = sa.table('messages', sa.column('reason', sa.String), sa.column('status', sa.String),
                        sa.column('reason_detail', sa.String), sa.column('text', sa.Text),
                        sa.column('send_mode', sa.String), sa.column('sent_at', sa.DateTime))
    whens = [((messages.c.reason.like(pattern) & (messages.c.status == status))
              if status else messages.c.reason.like(pattern), code)
             for pattern, status, code in _CODES]
    op.execute(messages.update().where(messages.c.reason.is_not(None))
               .values(reason_detail=messages.c.reason, reason=sa.case(*whens, else_=None)))
    op.execute(messages.update().where(messages.c.reason.in_(_PLAIN)).values(reason_detail=None))
    op.execute(messages.update().where(messages.c.sent_at.is_not(None)).values(
        send_mode=sa.case((messages.c.text.like('[lookup %'), 'lookup'), else_='text')))

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.alter_column('reason', existing_type=sa.String(length=300),
                              type_=sa.String(length=40), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.alter_column('reason', existing_type=sa.String(length=40),
                              type_=sa.String(length=300), existing_nullable=True)
    messages = sa.table('messages', sa.column('reason', sa.String),
                        sa.column('reason_detail', sa.String))
    op.execute(messages.update().where(messages.c.reason_detail.is_not(None))
               .values(reason=messages.c.reason_detail))
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('send_mode')
        batch_op.drop_column('reason_detail')
