"""Short links in the SMS and the clicks on them."""

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import utcnow
from app.db import Base
from app.types import BigId, UTCDateTime


class Link(Base):
    """One short code per message: the message's only link, pointing at one target."""

    __tablename__ = "links"
    __table_args__ = (
        # Reports: a store's clicked links by first click (most links are never clicked).
        Index("ix_links_store_id_first_clicked_at", "store_id", "first_clicked_at",
              postgresql_where=text("first_clicked_at IS NOT NULL"),
              sqlite_where=text("first_clicked_at IS NOT NULL"),
              postgresql_include=["message_id"]),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"),
                                            unique=True)
    # cart (restore), product (cross-sell pick), survey (our page), store (home page)
    kind: Mapped[str] = mapped_column(String(20))
    target: Mapped[str] = mapped_column(Text)
    # The recommended product (cross-sell): bought within the window = a cross-sell purchase.
    product_wc_id: Mapped[int | None] = mapped_column(BigInteger)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    human_clicks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    bot_hits: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    first_clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Click(Base):
    """Every hit on a short link; link-preview bots and HEAD requests are kept apart."""

    __tablename__ = "clicks"
    __table_args__ = (Index("ix_clicks_link_id_clicked_at", "link_id", "clicked_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("links.id", ondelete="CASCADE"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    clicked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    bot: Mapped[bool] = mapped_column(Boolean)
    user_agent: Mapped[str] = mapped_column(String(300), default="")
