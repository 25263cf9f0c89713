"""Post-purchase survey answers (one per order) and the merchant alerts low ratings raise."""

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import utcnow
from app.db import Base
from app.types import BigId, UTCDateTime

# Delivery state of one alert channel (SMS, webhook).
PENDING = "pending"
SENT = "sent"
FAILED = "failed"
NOT_CONFIGURED = "not_configured"


class SurveyAnswer(Base):
    """What the customer said about one order: once, whatever double taps or replays do."""

    __tablename__ = "survey_answers"
    __table_args__ = (
        UniqueConstraint("order_id"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
        Index("ix_survey_answers_store_id_answered_at", "store_id", "answered_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="CASCADE"))
    # The survey SMS whose link was followed: reports credit the answer to its step and variant.
    message_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("messages.id", ondelete="SET NULL"), index=True)
    rating: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SurveyAlert(Base):
    """A low rating the merchant must hear about, and how telling them went.

    Delivered by the scheduler tick, never inside the customer's request. `next_attempt_at` is
    when the tick should try again (NULL: nothing left to do); a claim pushes it a lease ahead, so
    an alert whose deliverer died is picked up again once the lease runs out.
    """

    __tablename__ = "survey_alerts"
    __table_args__ = (
        UniqueConstraint("answer_id"),
        Index("ix_survey_alerts_next_attempt_at", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    answer_id: Mapped[int] = mapped_column(BigId,
                                           ForeignKey("survey_answers.id", ondelete="CASCADE"))
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
