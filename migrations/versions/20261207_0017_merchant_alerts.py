"""merchant_alerts: every alert for a merchant (low survey ratings, a store connection that
broke, was repaired or healed) in one table, with its kind and facts; survey_alerts moved in

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 00:00:00
"""
from collections.abc import Sequence
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
CHANNEL_COLUMNS = ('attempts', 'next_attempt_at', 'sms_status', 'sms_to', 'sms_gateway_id',
                   'sms_sent_at', 'sms_error', 'webhook_status', 'webhook_url',
                   'webhook_response', 'webhook_sent_at', 'webhook_error')


def _iso(value) -> str:
    """A stored timestamp as ISO 8601 in UTC, as `datetime.isoformat` writes it (SQLite hands
    back naive UTC text, PostgreSQL aware datetimes)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat()


def upgrade() -> None:
    op.create_table(
        'merchant_alerts',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('answer_id', BIG_ID, nullable=True),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('sms_status', sa.String(length=20), nullable=False),
        sa.Column('sms_to', sa.String(length=20), nullable=True),
        sa.Column('sms_gateway_id', sa.String(length=64), nullable=True),
        sa.Column('sms_sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('sms_error', sa.String(length=300), nullable=True),
        sa.Column('webhook_status', sa.String(length=20), nullable=False),
        sa.Column('webhook_url', sa.String(length=500), nullable=True),
        sa.Column('webhook_response', sa.Integer(), nullable=True),
        sa.Column('webhook_sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('webhook_error', sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(['answer_id'], ['survey_answers.id'],
                                name=op.f('fk_merchant_alerts_answer_id_survey_answers'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'],
                                name=op.f('fk_merchant_alerts_store_id_stores'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_merchant_alerts')),
        sa.UniqueConstraint('answer_id', name=op.f('uq_merchant_alerts_answer_id')),
    )
    op.create_index('ix_merchant_alerts_next_attempt_at', 'merchant_alerts',
                    ['next_attempt_at'], unique=False)
    op.create_index('ix_merchant_alerts_store_id_kind_created_at', 'merchant_alerts',
                    ['store_id', 'kind', 'created_at'], unique=False)

    # Each survey alert moves with its id (its SMS's localid is 10**12 + id: a later round must
    # find the same send) and its facts, as the deliverer used to read them at send time.
    bind = op.get_bind()
    columns = ', '.join(f'a.{c}' for c in CHANNEL_COLUMNS)
    rows = bind.execute(sa.text(
        f'SELECT a.id, a.store_id, a.answer_id, a.created_at, {columns}, s.rating, s.comment, '
        's.answered_at, o.wc_id, o.number, o.first_name, o.last_name, o.phone_raw, c.phone '
        'FROM survey_alerts a JOIN survey_answers s ON s.id = a.answer_id '
        'JOIN orders o ON o.id = s.order_id LEFT JOIN contacts c ON c.id = o.contact_id '
        'ORDER BY a.id')).mappings().all()
    alerts = sa.table('merchant_alerts', *(sa.column(c) for c in (
        'id', 'store_id', 'kind', 'answer_id', 'created_at', *CHANNEL_COLUMNS)),
        sa.column('details', sa.JSON))
    for row in rows:
        details = {'order': {'id': row['wc_id'], 'number': row['number']},
                   'rating': row['rating'], 'comment': row['comment'],
                   'answered_at': _iso(row['answered_at']),
                   'customer': {'first_name': row['first_name'], 'last_name': row['last_name'],
                                'phone': row['phone'] or row['phone_raw'] or None}}
        bind.execute(alerts.insert().values(
            id=row['id'], store_id=row['store_id'], kind='survey.low_rating',
            answer_id=row['answer_id'], details=details,
            created_at=row['created_at'], **{c: row[c] for c in CHANNEL_COLUMNS}))
    if rows and bind.dialect.name == 'postgresql':
        bind.execute(sa.text("SELECT setval(pg_get_serial_sequence('merchant_alerts', 'id'), "
                             "(SELECT max(id) FROM merchant_alerts))"))
    op.drop_index('ix_survey_alerts_next_attempt_at', table_name='survey_alerts')
    op.drop_table('survey_alerts')


def downgrade() -> None:
    op.create_table(
        'survey_alerts',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('answer_id', BIG_ID, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('sms_status', sa.String(length=20), nullable=False),
        sa.Column('sms_to', sa.String(length=20), nullable=True),
        sa.Column('sms_gateway_id', sa.String(length=64), nullable=True),
        sa.Column('sms_sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('sms_error', sa.String(length=300), nullable=True),
        sa.Column('webhook_status', sa.String(length=20), nullable=False),
        sa.Column('webhook_url', sa.String(length=500), nullable=True),
        sa.Column('webhook_response', sa.Integer(), nullable=True),
        sa.Column('webhook_sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('webhook_error', sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(['answer_id'], ['survey_answers.id'],
                                name=op.f('fk_survey_alerts_answer_id_survey_answers'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'],
                                name=op.f('fk_survey_alerts_store_id_stores'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_alerts')),
        sa.UniqueConstraint('answer_id', name=op.f('uq_survey_alerts_answer_id')),
    )
    op.create_index('ix_survey_alerts_next_attempt_at', 'survey_alerts', ['next_attempt_at'],
                    unique=False)
    columns = ', '.join(CHANNEL_COLUMNS)
    op.execute(f"INSERT INTO survey_alerts (id, store_id, answer_id, created_at, {columns}) "
               f"SELECT id, store_id, answer_id, created_at, {columns} FROM merchant_alerts "
               "WHERE kind = 'survey.low_rating'")
    op.drop_index('ix_merchant_alerts_store_id_kind_created_at', table_name='merchant_alerts')
    op.drop_index('ix_merchant_alerts_next_attempt_at', table_name='merchant_alerts')
    op.drop_table('merchant_alerts')
