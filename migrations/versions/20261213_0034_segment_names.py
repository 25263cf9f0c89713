"""segment speed: one name per store's segment (segments); membership's speed needed no index
(bench/segments.py: the planner reads a store's paid orders by a sequential scan either way)

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-12 00:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0034'
down_revision: str | None = '0033'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Names saved twice before the rule: the later ones get their id after the name, so the
    # unique constraint can be made and no segment is lost.
    segments = sa.table('segments', sa.column('id', sa.BigInteger()),
                        sa.column('store_id', sa.Integer()), sa.column('name', sa.String()))
    bind = op.get_bind()
    seen: set[tuple[int, str]] = set()
    for id_, store_id, name in bind.execute(sa.select(segments.c.id, segments.c.store_id,
                                                      segments.c.name).order_by(segments.c.id)):
        if (store_id, name) in seen:
            bind.execute(segments.update().where(segments.c.id == id_)
                         .values(name=f"{name[:180]} ({id_})"))
        seen.add((store_id, name))
    with op.batch_alter_table('segments') as batch:
        batch.drop_index('ix_segments_store_id')
        batch.create_unique_constraint(op.f('uq_segments_store_id_name'), ['store_id', 'name'])


def downgrade() -> None:
    with op.batch_alter_table('segments') as batch:
        batch.drop_constraint(op.f('uq_segments_store_id_name'), type_='unique')
        batch.create_index('ix_segments_store_id', ['store_id'], unique=False)
