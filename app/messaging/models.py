from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
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
