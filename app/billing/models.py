"""Pay as you go: a store sending through the platform's SMS account pays per SMS part from a
prepaid balance. The ledger is append-only; stores.balance is its running sum."""

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import utcnow
from app.db import Base
from app.types import BigId, UTCDateTime

TOPUP = "topup"
CHARGE = "charge"
REFUND = "refund"


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        # One charge and at most one refund per message (and per merchant alert SMS),
        # whatever retries or replays do.
        UniqueConstraint("kind", "message_id"),
        UniqueConstraint("kind", "alert_id"),
        Index("ix_ledger_entries_store_id_id", "store_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    amount: Mapped[int] = mapped_column(BigInteger)  # Rial: + top-up or refund, − charge
    balance_after: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"))
    alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("merchant_alerts.id", ondelete="SET NULL"))
    parts: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
