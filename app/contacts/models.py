from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import utcnow
from app.db import Base
from app.types import BigId, UTCDateTime


class Contact(Base):
    """A phone number of a store, in E.164, with its consent state."""

    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("store_id", "phone"),
        # Reports: a store's opt-outs in a period.
        Index("ix_contacts_store_id_opted_out_at", "store_id", "opted_out_at",
              postgresql_where=text("opted_out_at IS NOT NULL"),
              sqlite_where=text("opted_out_at IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    phone: Mapped[str] = mapped_column(String(20))
    # The phone library does not know this prefix yet; the gateway has the final word.
    unverified_prefix: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    first_name: Mapped[str] = mapped_column(String(200), default="")
    last_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opt_out_source: Mapped[str | None] = mapped_column(String(40))
    # The operator reported the receiver blocks advertising lines (*800#): no promotional SMS.
    promo_blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def opted_out(self) -> bool:
        return self.opted_out_at is not None
