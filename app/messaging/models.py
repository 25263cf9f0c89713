from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import utcnow
from app.db import Base
from app.types import BigId, UTCDateTime


class ConsoleSms(Base):
    """What the console gateway "sent": every call is kept, so a double send shows as two rows."""

    __tablename__ = "console_sms"
    __table_args__ = (Index("ix_console_sms_localid", "localid"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    localid: Mapped[str] = mapped_column(String(64))
    receptor: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboundSms(Base):
    """A reply to a store's line, kept before it is acted on (reading it at the gateway marks it read)."""

    __tablename__ = "inbound_sms"
    __table_args__ = (UniqueConstraint("store_id", "gateway_id"),
                      Index("ix_inbound_sms_processed_at", "processed_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    gateway_id: Mapped[str] = mapped_column(String(64))
    sender: Mapped[str] = mapped_column(String(32))
    line: Mapped[str] = mapped_column(String(32), default="")
    text: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str | None] = mapped_column(String(20))  # opt_out, opt_in, none
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
