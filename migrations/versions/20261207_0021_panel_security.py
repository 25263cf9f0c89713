"""panel security: the installation's generated secret key (server_secrets), signed-out panel
sessions (panel_sign_outs), and the previous webhook secret a rotation keeps for a while

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 00:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'server_secrets',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('value', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_server_secrets')),
    )
    op.create_table(
        'panel_sign_outs',
        sa.Column('session_id', sa.String(length=32), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('session_id', name=op.f('pk_panel_sign_outs')),
    )
    op.create_index('ix_panel_sign_outs_expires_at', 'panel_sign_outs', ['expires_at'],
                    unique=False)
    with op.batch_alter_table('stores') as batch:
        batch.add_column(sa.Column('previous_webhook_secret', sa.String(length=64),
                                   nullable=True))
        batch.add_column(sa.Column('previous_webhook_secret_until', sa.DateTime(timezone=True),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('stores') as batch:
        batch.drop_column('previous_webhook_secret_until')
        batch.drop_column('previous_webhook_secret')
    op.drop_index('ix_panel_sign_outs_expires_at', table_name='panel_sign_outs')
    op.drop_table('panel_sign_outs')
    op.drop_table('server_secrets')
