"""What bazgasht tells a merchant on its own: a low survey rating, a connection to the store that
broke or healed. One row per event, with how each channel (SMS, webhook) went."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import utcnow
from app.db import Base
from app.types import BigId, UTCDateTime

# Delivery state of one alert channel (SMS, webhook).
PENDING = "pending"
SENT = "sent"
FAILED = "failed"
NOT_CONFIGURED = "not_configured"

# What happened (the webhook's X-Bazgasht-Event and the payload's "event").
SURVEY_LOW_RATING = "survey.low_rating"
CONNECTION_BROKEN = "connection.broken"
CONNECTION_REPAIRED = "connection.repaired"
CONNECTION_HEALED = "connection.healed"
SENDING_PAUSED = "sending.paused"    # the store's gateway refused it (key, credit, line)
SENDING_RESUMED = "sending.resumed"
KINDS = (SURVEY_LOW_RATING, CONNECTION_BROKEN, CONNECTION_REPAIRED, CONNECTION_HEALED,
         SENDING_PAUSED, SENDING_RESUMED)
# Told by webhook only: an SMS would go through the very gateway that refuses the store.
WEBHOOK_ONLY = frozenset({SENDING_PAUSED, SENDING_RESUMED})


class MerchantAlert(Base):
    """One event the merchant must hear about, and how telling them went.

    `details` holds the event's facts as they were when it was raised (the webhook payload's
    body; the SMS is written from them). Delivered by the scheduler's alerts job, never inside
    the request that raised it. `next_attempt_at` is when the job should try again (NULL: nothing
    left to do); a claim pushes it a lease ahead, so an alert whose deliverer died is picked up
    again once the lease runs out.
    """

    __tablename__ = "merchant_alerts"
    __table_args__ = (
        UniqueConstraint("answer_id"),
        Index("ix_merchant_alerts_next_attempt_at", "next_attempt_at"),
        Index("ix_merchant_alerts_store_id_kind_created_at", "store_id", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    # A low rating's answer: one alert per answer, whatever double taps do.
    answer_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("survey_answers.id", ondelete="CASCADE"))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Delivery rounds claimed so far (both channels together).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sms_status: Mapped[str] = mapped_column(String(20), default=NOT_CONFIGURED)
    sms_to: Mapped[str | None] = mapped_column(String(20))
    sms_gateway_id: Mapped[str | None] = mapped_column(String(64))
    sms_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sms_error: Mapped[str | None] = mapped_column(String(300))
    webhook_status: Mapped[str] = mapped_column(String(20), default=NOT_CONFIGURED)
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    webhook_response: Mapped[int | None] = mapped_column(Integer)  # the last HTTP status
    webhook_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    webhook_error: Mapped[str | None] = mapped_column(String(300))
