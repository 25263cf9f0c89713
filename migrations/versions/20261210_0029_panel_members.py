"""panel members: people who sign in to a store's panel with their phone and a one-time SMS code
(panel_members, panel_login_codes), their sessions as rows (panel_sessions, replacing
panel_sign_outs) and one-time links that make the first owner (panel_join_links)

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-10 00:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0029'
down_revision: str | None = '0028'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'panel_members',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('role', sa.String(length=10), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_signed_in_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'],
                                name=op.f('fk_panel_members_store_id_stores'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_panel_members')),
        sa.UniqueConstraint('store_id', 'phone', name=op.f('uq_panel_members_store_id_phone')),
    )
    op.create_index('ix_panel_members_phone', 'panel_members', ['phone'], unique=False)
    op.create_table(
        'panel_sessions',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('member_id', BIG_ID, nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('user_agent', sa.String(length=200), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['member_id'], ['panel_members.id'],
                                name=op.f('fk_panel_sessions_member_id_panel_members'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'],
                                name=op.f('fk_panel_sessions_store_id_stores'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_panel_sessions')),
    )
    op.create_index('ix_panel_sessions_store_id', 'panel_sessions', ['store_id'], unique=False)
    op.create_index('ix_panel_sessions_member_id', 'panel_sessions', ['member_id'],
                    unique=False)
    op.create_table(
        'panel_join_links',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'],
                                name=op.f('fk_panel_join_links_store_id_stores'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_panel_join_links')),
    )
    op.create_table(
        'panel_login_codes',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.SmallInteger(), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('join_id', sa.String(length=64), nullable=True),
        sa.Column('name', sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(['join_id'], ['panel_join_links.id'],
                                name=op.f('fk_panel_login_codes_join_id_panel_join_links'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_panel_login_codes')),
    )
    op.create_index('ix_panel_login_codes_phone', 'panel_login_codes', ['phone'], unique=False)
    op.create_index('ix_panel_login_codes_expires_at', 'panel_login_codes', ['expires_at'],
                    unique=False)
    # Signed cookies are gone: every session is a row now, and the old cookies open nothing.
    op.drop_index('ix_panel_sign_outs_expires_at', table_name='panel_sign_outs')
    op.drop_table('panel_sign_outs')


def downgrade() -> None:
    op.create_table(
        'panel_sign_outs',
        sa.Column('session_id', sa.String(length=32), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('session_id', name=op.f('pk_panel_sign_outs')),
    )
    op.create_index('ix_panel_sign_outs_expires_at', 'panel_sign_outs', ['expires_at'],
                    unique=False)
    op.drop_index('ix_panel_login_codes_expires_at', table_name='panel_login_codes')
    op.drop_index('ix_panel_login_codes_phone', table_name='panel_login_codes')
    op.drop_table('panel_login_codes')
    op.drop_table('panel_join_links')
    op.drop_index('ix_panel_sessions_member_id', table_name='panel_sessions')
    op.drop_index('ix_panel_sessions_store_id', table_name='panel_sessions')
    op.drop_table('panel_sessions')
    op.drop_index('ix_panel_members_phone', table_name='panel_members')
    op.drop_table('panel_members')
