"""campaign_steps.send_within_minutes: how late a step's message may still go out;
messages.latest_at: the moment after which it is skipped (too_late) instead of sent late

Existing steps get their kind's default for their delay; messages not sent yet get their due
time plus their step's window.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-08 00:30:00
"""
from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

revision: str = '0023'
down_revision: str | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HOUR, DAY = 60, 24 * 60
CHUNK = 5000


def _default(kind: str, delay: int) -> int:
    # As app.campaigns.defaults.default_send_within was when this revision was written.
    if kind in ('abandoned_cart', 'lost_order'):
        return min(max(delay, 12 * HOUR), 2 * DAY)
    if kind == 'post_purchase_survey':
        return 3 * DAY
    return 7 * DAY


def upgrade() -> None:
    with op.batch_alter_table('campaign_steps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('send_within_minutes', sa.Integer(), nullable=True))
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('latest_at', sa.DateTime(timezone=True), nullable=True))
    conn = op.get_bind()
    windows = {}
    for step_id, kind, delay in conn.execute(sa.text(
            "SELECT s.id, c.kind, s.delay_minutes FROM campaign_steps s "
            "JOIN campaigns c ON c.id = s.campaign_id")).all():
        windows[step_id] = _default(kind, delay)
        conn.execute(sa.text("UPDATE campaign_steps SET send_within_minutes = :w WHERE id = :id"),
                     {"w": windows[step_id], "id": step_id})
    with op.batch_alter_table('campaign_steps', schema=None) as batch_op:
        batch_op.alter_column('send_within_minutes', existing_type=sa.Integer(), nullable=False)
    messages = sa.table('messages', sa.column('id', sa.BigInteger()),
                        sa.column('latest_at', sa.DateTime(timezone=True)))
    pending = conn.execute(sa.text(
        "SELECT id, step_id, due_at FROM messages "
        "WHERE status IN ('scheduled', 'sending', 'held')")
        .columns(id=sa.BigInteger(), step_id=sa.Integer(), due_at=sa.DateTime(timezone=True))
    ).all()
    for start in range(0, len(pending), CHUNK):
        conn.execute(messages.update().where(messages.c.id == sa.bindparam('mid'))
                     .values(latest_at=sa.bindparam('latest')),
                     [{"mid": mid, "latest": due + timedelta(minutes=windows[step_id])}
                      for mid, step_id, due in pending[start:start + CHUNK]])


def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('latest_at')
    with op.batch_alter_table('campaign_steps', schema=None) as batch_op:
        batch_op.drop_column('send_within_minutes')
