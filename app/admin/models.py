"""What the merchant admin API keeps of its own: the test SMS a merchant sent themselves."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import utcnow
from app.db import Base
from app.types import BigId, UTCDateTime

# Test-send states
TEST_SENDING = "sending"  # recorded, the gateway is being called
TEST_SENT = "sent"
TEST_FAILED = "failed"


class TestSend(Base):
    """One preview sent to a phone the merchant named, through the store's own gateway.

    Kept so the hourly limit holds across API processes and restarts, and so the gateway's
    localid (TEST_SEND_LOCALID_BASE + id) is unique: see app.admin.preview.
    """

    __tablename__ = "test_sends"
    __table_args__ = (Index("ix_test_sends_store_id_created_at", "store_id", "created_at"),)
    __test__ = False  # not a pytest test class, whatever its name

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    step_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaign_steps.id", ondelete="SET NULL"))
    phone: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=TEST_SENDING)
    gateway_id: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
