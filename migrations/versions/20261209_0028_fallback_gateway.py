"""stores.sms_fallback_*: a second SMS provider a store may name, which carries the messages
its first provider refuses for now before doing anything (never one it may have sent)

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-09 07:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0028'
down_revision: str | None = '0027'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sms_fallback_provider', sa.String(length=20),
                                      nullable=True))
        # Encrypted at rest like sms_api_key (app.types.EncryptedText: a Fernet token).
        batch_op.add_column(sa.Column('sms_fallback_api_key', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('sms_fallback_sender', sa.String(length=20),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.drop_column('sms_fallback_sender')
        batch_op.drop_column('sms_fallback_api_key')
        batch_op.drop_column('sms_fallback_provider')
