"""indexes (or rollups) for merchant reports

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 07:00:00
"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Reports read one store's rows of a period: messages by when they went out (or, not sent, were
# due), links by first click, contacts by opt-out. The included columns (PostgreSQL) let the
# counts come from the index alone.
MESSAGE_FIGURES = ["id", "campaign_id", "step_id", "variant", "status", "parts", "cost",
                   "delivery_status"]


def upgrade() -> None:
    op.create_index("ix_messages_store_id_sent_at", "messages", ["store_id", "sent_at"],
                    postgresql_include=MESSAGE_FIGURES)
    op.create_index("ix_messages_store_id_due_at_unsent", "messages", ["store_id", "due_at"],
                    postgresql_where=sa.text("sent_at IS NULL"),
                    sqlite_where=sa.text("sent_at IS NULL"),
                    postgresql_include=["campaign_id", "step_id", "variant", "status"])
    op.create_index("ix_links_store_id_first_clicked_at", "links", ["store_id", "first_clicked_at"],
                    postgresql_where=sa.text("first_clicked_at IS NOT NULL"),
                    sqlite_where=sa.text("first_clicked_at IS NOT NULL"),
                    postgresql_include=["message_id"])
    op.create_index("ix_contacts_store_id_opted_out_at", "contacts", ["store_id", "opted_out_at"],
                    postgresql_where=sa.text("opted_out_at IS NOT NULL"),
                    sqlite_where=sa.text("opted_out_at IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_contacts_store_id_opted_out_at", table_name="contacts")
    op.drop_index("ix_links_store_id_first_clicked_at", table_name="links")
    op.drop_index("ix_messages_store_id_due_at_unsent", table_name="messages")
    op.drop_index("ix_messages_store_id_sent_at", table_name="messages")
