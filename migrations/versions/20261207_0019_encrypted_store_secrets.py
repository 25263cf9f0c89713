"""stores: the Kavenegar key and the WooCommerce REST keys encrypted at rest (Fernet tokens,
app/crypto.py), in TEXT columns: a token is longer than the key it holds

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 00:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.crypto import keyring_of

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SECRETS = ('sms_api_key', 'wc_consumer_key', 'wc_consumer_secret')


def _retype(type_: sa.types.TypeEngine, convert) -> None:
    """Each secret column gets `type_` and its values go through `convert`. On SQLite the
    column is added anew, filled, and the old one dropped: a batch copy of stores would drop
    the table its children cascade from."""
    bind = op.get_bind()
    stores = sa.table('stores', sa.column('id'), *(sa.column(n, sa.Text) for n in SECRETS))
    rows = bind.execute(sa.select(stores)).mappings().all()
    if bind.dialect.name == 'sqlite':
        for name in SECRETS:
            op.execute(f'ALTER TABLE stores DROP COLUMN {name}')
            op.add_column('stores', sa.Column(name, type_, nullable=True))
    else:
        for name in SECRETS:
            op.alter_column('stores', name, type_=type_, existing_nullable=True)
    for row in rows:
        values = {n: convert(row[n]) for n in SECRETS if row[n] is not None}
        if values:
            bind.execute(sa.update(stores).where(stores.c.id == row['id']).values(values))


def upgrade() -> None:
    # The keys of the engine the migration runs on: app.db.make_engine attached the
    # configured ones (migrations/env.py).
    bind = op.get_bind()
    _retype(sa.Text(), lambda value: keyring_of(bind.dialect).encrypt(value))


def downgrade() -> None:
    bind = op.get_bind()
    _retype(sa.String(length=200), lambda token: keyring_of(bind.dialect).decrypt(token))
