"""segments: a store's named contact segments, each a definition kept as JSON (segments)

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-11 00:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0030'
down_revision: str | None = '0029'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'segments',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('definition', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'],
                                name=op.f('fk_segments_store_id_stores'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_segments')),
    )
    op.create_index('ix_segments_store_id', 'segments', ['store_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_segments_store_id', table_name='segments')
    op.drop_table('segments')
