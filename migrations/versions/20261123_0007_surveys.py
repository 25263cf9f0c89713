"""survey answers and merchant alerts

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 06:40:00
"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('survey_answers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('message_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('rating', sa.SmallInteger(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('rating BETWEEN 1 AND 5', name=op.f('ck_survey_answers_rating_range')),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_survey_answers_message_id_messages'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_survey_answers_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_survey_answers_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_answers')),
    sa.UniqueConstraint('order_id', name=op.f('uq_survey_answers_order_id'))
    )
    with op.batch_alter_table('survey_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_answers_message_id'), ['message_id'], unique=False)
        batch_op.create_index('ix_survey_answers_store_id_answered_at', ['store_id', 'answered_at'], unique=False)

    op.create_table('survey_alerts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('answer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
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
    sa.ForeignKeyConstraint(['answer_id'], ['survey_answers.id'], name=op.f('fk_survey_alerts_answer_id_survey_answers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_survey_alerts_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_alerts')),
    sa.UniqueConstraint('answer_id', name=op.f('uq_survey_alerts_answer_id'))
    )
    with op.batch_alter_table('survey_alerts', schema=None) as batch_op:
        batch_op.create_index('ix_survey_alerts_next_attempt_at', ['next_attempt_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('survey_alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_survey_alerts_next_attempt_at')
    op.drop_table('survey_alerts')
    with op.batch_alter_table('survey_answers', schema=None) as batch_op:
        batch_op.drop_index('ix_survey_answers_store_id_answered_at')
        batch_op.drop_index(batch_op.f('ix_survey_answers_message_id'))
    op.drop_table('survey_answers')
