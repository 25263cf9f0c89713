"""campaigns.trigger_looked_at: when the reorder_due trigger last read the store's purchases and
took every reminder due then, so it reads them again only an hour later or on a new store-local
day (not every 15 s tick)

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-13 12:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0035'
down_revision: str | None = '0034'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Null for every campaign: each replenishment looks at its next tick, as before.
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('trigger_looked_at', sa.DateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('trigger_looked_at')
