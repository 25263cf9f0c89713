"""What the connection to a store's WooCommerce is: each webhook topic bazgasht registered (or
found, re-activated, re-created) and how the last check of it went."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.types import BigId, UTCDateTime

# What the last check (or the connect) did to a topic's webhook.
REGISTERED = "registered"      # made now
REUSED = "reused"              # one of the store's pointed here already: kept, secret set
OK = "ok"                      # active, pointing here, nothing to do
REACTIVATED = "reactivated"    # was disabled or paused: set active (and the secret again)
RECREATED = "recreated"        # had been deleted: made again
UPDATED = "updated"            # its secret or delivery URL had drifted: set again
FAILED = "failed"              # the store refused, or did not answer: `error` says why
HEALTHY = frozenset({REGISTERED, REUSED, OK, REACTIVATED, RECREATED, UPDATED})
REPAIRS = frozenset({REACTIVATED, RECREATED, UPDATED})


class StoreWebhook(Base):
    """One row per store and topic of WEBHOOK_TOPICS, written by the connect and by every
    check of the connections job."""

    __tablename__ = "store_webhooks"
    __table_args__ = (UniqueConstraint("store_id", "topic"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    topic: Mapped[str] = mapped_column(String(100))
    wc_webhook_id: Mapped[int | None] = mapped_column(BigId)
    status: Mapped[str] = mapped_column(String(20))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(String(300))
