from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import utcnow
from app.db import Base
from app.types import BigId, UTCDateTime

PENDING = "pending"
APPLIED = "applied"
DUPLICATE = "duplicate"
STALE = "stale"
IGNORED = "ignored"
DEAD_LETTER = "dead_letter"


class WebhookDelivery(Base):
    """Every signed delivery, written before it is answered, then applied by the processor.

    WooCommerce never retries: once we answered 2xx this row is the only copy there is.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_status_id", "status", "id"),
        Index("ix_webhook_deliveries_store_id_status", "store_id", "status"),
        # A store's last delivery of each topic (the connection's health): one probe per topic.
        Index("ix_webhook_deliveries_store_id_topic_received_at", "store_id", "topic",
              "received_at"),
        # Stored once: a replay of the same body (same topic, same store) is no new delivery.
        UniqueConstraint("store_id", "topic", "body_sha256"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    topic: Mapped[str] = mapped_column(String(200), default="")
    webhook_id: Mapped[str] = mapped_column(String(40), default="")
    delivery_id: Mapped[str] = mapped_column(String(80), default="")
    body: Mapped[bytes] = mapped_column(LargeBinary)
    body_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookRejection(Base):
    """Deliveries refused with 401 for a known store (a missing or wrong signature: the secret in
    WooCommerce differs), counted per cause and topic. WooCommerce disables a webhook after a few
    such answers and never retries: this is how the merchant and the connection check learn of
    it. Written in batches, off the request's path (app/ingest/rejections.py)."""

    __tablename__ = "webhook_rejections"
    __table_args__ = (UniqueConstraint("store_id", "cause", "topic"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    cause: Mapped[str] = mapped_column(String(40))
    topic: Mapped[str] = mapped_column(String(100), default="")
    webhook_id: Mapped[str] = mapped_column(String(40), default="")
    count: Mapped[int] = mapped_column(Integer, default=0)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
