"""A broadcast: one SMS to a segment's members, at a time the merchant chose.

Its text lives in a hidden campaign of kind "broadcast" (one step) that the broadcast owns: at
start every member becomes an enrollment of that campaign with its message, and the campaign
engine sends them like any other (hours, cap, opt-out, balance, links, attribution, reports).
"""

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import utcnow
from app.db import Base
from app.types import BigId, UTCDateTime

# Statuses (app/broadcasts/service.py alone moves them, by conditional updates)
DRAFT = "draft"
SCHEDULED = "scheduled"  # waits for its time; checked against the balance again at start
SENDING = "sending"  # started: its members are (being) enrolled, the engine sends
SENT = "sent"  # every message is final (sent, delivered, failed or skipped)
CANCELLED = "cancelled"
REFUSED = "refused"  # at start: over the balance or the budget (refused_reason says which)

# Why a scheduled broadcast was refused at start (refused_reason)
OVER_BALANCE = "over_balance"
OVER_BUDGET = "over_budget"
SEGMENT_DELETED = "segment_deleted"
GATEWAY_REFUSED = "gateway_refused"
GATEWAY_UNAVAILABLE = "gateway_unavailable"


class Broadcast(Base):
    __tablename__ = "broadcasts"
    __table_args__ = (Index("ix_broadcasts_store_id", "store_id"),
                      # The start job reads scheduled broadcasts whose time has come.
                      Index("ix_broadcasts_status_scheduled_at", "status", "scheduled_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id", ondelete="SET NULL"))
    # The segment's definition as it was at start: who was sent to stays explainable after the
    # segment changes or is deleted.
    definition: Mapped[dict | None] = mapped_column(JSON)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default=DRAFT)
    max_cost: Mapped[int | None] = mapped_column(BigInteger)  # Rial; None: no budget
    # The last estimate: recipients × parts × price per part (Rial), and when it was made.
    estimated_recipients: Mapped[int | None] = mapped_column(Integer)
    estimated_parts: Mapped[int | None] = mapped_column(Integer)
    estimated_cost: Mapped[int | None] = mapped_column(BigInteger)
    estimated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refused_reason: Mapped[str | None] = mapped_column(String(40))
    refused_detail: Mapped[str | None] = mapped_column(String(300))
    recipients: Mapped[int | None] = mapped_column(Integer)  # enrolled at start
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # every member enrolled
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
