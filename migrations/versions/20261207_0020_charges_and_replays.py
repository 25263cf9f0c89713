"""ledger_entries.alert_id: a merchant alert SMS sent through the platform's account is charged
like a campaign message, once per alert; webhook_deliveries: a delivery is stored once per
(store, topic, body), so a replay is no new row (earlier replays removed, the first kept)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 12:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('alert_id', sa.BigInteger().with_variant(sa.Integer(),
                                                                               'sqlite'),
                                      nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_ledger_entries_alert_id_merchant_alerts'),
                                    'merchant_alerts', ['alert_id'], ['id'],
                                    ondelete='SET NULL')
        batch_op.create_unique_constraint(batch_op.f('uq_ledger_entries_kind_alert_id'),
                                          ['kind', 'alert_id'])
    op.execute('DELETE FROM webhook_deliveries WHERE id NOT IN (SELECT min(id) FROM '
               'webhook_deliveries GROUP BY store_id, topic, body_sha256)')
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_unique_constraint(
            batch_op.f('uq_webhook_deliveries_store_id_topic_body_sha256'),
            ['store_id', 'topic', 'body_sha256'])


def downgrade() -> None:
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_webhook_deliveries_store_id_topic_body_sha256'),
                                 type_='unique')
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_ledger_entries_kind_alert_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_ledger_entries_alert_id_merchant_alerts'),
                                 type_='foreignkey')
        batch_op.drop_column('alert_id')
